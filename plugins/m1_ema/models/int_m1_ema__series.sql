{{ config(materialized='ephemeral', enabled=plugin_enabled('m1_ema')) }}
{#- EMA 9 and EMA 21 of close at every lookback bar (pandas ewm(span, adjust=False), seeded
    with the first close of the lookback window), and where their order flips. -#}
with

lookback_bars as (

    select * from {{ ref('int_lookback_bars_selected') }}

),

averaged as (

    select
        uid,
        entry_time,
        lookback_minutes,
        bar_time,
        bar_index,
        bar_count,
        close,
        {{ exponential_moving_average('close', 'bar_index', 2.0 / 10, 'uid') }} as ema_9,
        {{ exponential_moving_average('close', 'bar_index', 2.0 / 22, 'uid') }} as ema_21

    from lookback_bars

),

{# Averages within 1e-9 of each other are equal: float noise must not call a trend. #}
signed as (

    select
        *,
        case
            when abs(ema_9 - ema_21) <= 1e-9 * abs(ema_21) then 0
            when ema_9 > ema_21 then 1
            else -1
        end as spread_sign

    from averaged

),

crossings as (

    select
        *,
        spread_sign * lag(spread_sign) over (partition by uid order by bar_index) < 0
            as is_crossover

    from signed

)

select * from crossings
