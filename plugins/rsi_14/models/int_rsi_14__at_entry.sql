{{ config(materialized='table', enabled=plugin_enabled('rsi_14')) }}
{#-
    The rsi_14 reading at each pending entry (rules in the plugin README). Changes are taken
    between consecutive real lookback bars (missing minutes are skipped, never filled).
      average_gain/loss  Wilder's smoothing, period 14, seeded with the simple mean of the first
                         14 changes (macro wilder_average), at the last lookback bar
      rsi                100 * average_gain / (average_gain + average_loss); 50 when both are 0
      direction          BEARISH if rsi > 70 (overbought), BULLISH if rsi < 30 (oversold),
                         else NEUTRAL; NEUTRAL under 15 bars (warm-up)
      strength           min(100, 100 * (rsi - 70) / 20) or min(100, 100 * (30 - rsi) / 20)
                         for a call, 0 when NEUTRAL
      confidence         100 * min(1, bars / lookback minutes) * (1 - (13/14)^(bars - 15)),
                         i.e. coverage times the weight no longer carried by the seed
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

lookback_bars as (

    select * from {{ ref('int_lookback_bars_selected') }}

),

price_changes as (

    select
        uid,
        bar_index,
        bar_count,
        close,
        close - lag(close) over (partition by uid order by bar_index) as close_change

    from lookback_bars

),

gains_and_losses as (

    select
        uid,
        bar_index,
        bar_count,
        close,
        case when close_change > 0 then close_change else 0 end as gain,
        case when close_change < 0 then -close_change else 0 end as loss

    from price_changes

),

smoothed as (

    select
        uid,
        bar_count,
        max(case when bar_index = bar_count - 1 then close end) as last_close,
        {{ wilder_average('gain', 'bar_index', 'bar_count - 1', 14) }} as average_gain,
        {{ wilder_average('loss', 'bar_index', 'bar_count - 1', 14) }} as average_loss

    from gains_and_losses
    group by uid, bar_count

),

measured as (

    select
        requests.uid,
        requests.entry_time,
        requests.lookback_minutes,
        cast(coalesce(smoothed.bar_count, 0) as integer) as bars_used,
        smoothed.last_close,
        case when smoothed.bar_count >= 15 then smoothed.average_gain end as average_gain,
        case when smoothed.bar_count >= 15 then smoothed.average_loss end as average_loss

    from requests
    left join smoothed on requests.uid = smoothed.uid

),

indexed as (

    select
        *,
        case
            when average_gain + average_loss = 0 then 50
            else 100 * average_gain / (average_gain + average_loss)
        end as rsi

    from measured

),

called as (

    select
        *,
        case
            when bars_used = 0 then null
            when bars_used < 15 then 'NEUTRAL'
            when rsi > 70 then 'BEARISH'
            when rsi < 30 then 'BULLISH'
            else 'NEUTRAL'
        end as signal_direction,
        case
            when bars_used = 0 then null
            when bars_used < 15 then 0
            when rsi > 70 then round(least(100, 100 * (rsi - 70) / 20), 2)
            when rsi < 30 then round(least(100, 100 * (30 - rsi) / 20), 2)
            else 0
        end as strength,
        case
            when bars_used = 0 then null
            when bars_used < 15 then 0
            else round(
                100 * least(1, cast(bars_used as double) / lookback_minutes)
                * (1 - power(1 - 1.0 / 14, bars_used - 15)),
                2
            )
        end as confidence,
        case when bars_used = 0 then 'no_data' else 'ok' end as status,
        case when bars_used = 0 then 'no bars in the lookback window' end as error

    from indexed

)

select * from called
