{{ config(materialized='table', enabled=plugin_enabled('m1_ema')) }}
{#-
    The m1_ema reading at each pending entry, from the last lookback bar:
      direction   BULLISH if ema_9 > ema_21, BEARISH if below, NEUTRAL if equal or < 21 bars
      strength    100 * |spread %| / 0.20, capped at 100 (a 0.20 % spread is full strength)
      confidence  100 * coverage * persistence, where coverage = lookback minutes with a real
                  bar / lookback minutes and persistence = min(1, minutes since the last
                  crossover / 30) (1 when no crossover in the lookback); 0 in warm-up
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

series as (

    select * from {{ ref('int_m1_ema__series') }}

),

last_crossovers as (

    select
        uid,
        max(bar_time) as crossover_bar_time

    from series
    where is_crossover
    group by uid

),

latest as (

    select *
    from series
    where bar_index = bar_count - 1

),

measured as (

    select
        requests.uid,
        requests.entry_time,
        requests.lookback_minutes,
        coalesce(latest.bar_count, 0) as bars_used,
        latest.ema_9,
        latest.ema_21,
        latest.ema_9 - latest.ema_21 as ema_spread,
        100 * (latest.ema_9 - latest.ema_21) / latest.ema_21 as ema_spread_pct,
        latest.spread_sign,
        cast(
            date_diff('minute', last_crossovers.crossover_bar_time, requests.entry_time) as integer
        ) as minutes_since_crossover

    from requests
    left join latest on requests.uid = latest.uid
    left join last_crossovers on requests.uid = last_crossovers.uid

),

called as (

    select
        *,
        case
            when bars_used = 0 then null
            when bars_used < 21 or spread_sign = 0 then 'NEUTRAL'
            when spread_sign > 0 then 'BULLISH'
            else 'BEARISH'
        end as signal_direction,
        case
            when bars_used = 0 then null
            when bars_used < 21 then 0
            else round(least(100, 100 * abs(ema_spread_pct) / 0.20), 2)
        end as strength,
        case
            when bars_used = 0 then null
            when bars_used < 21 then 0
            else round(
                100 * least(1, bars_used / lookback_minutes)
                * least(1, coalesce(minutes_since_crossover, 30) / 30.0),
                2
            )
        end as confidence,
        case when bars_used = 0 then 'no_data' else 'ok' end as status,
        case
            when bars_used = 0 then 'no bars in the lookback window'
        end as error

    from measured

)

select * from called
