{{ config(materialized='table', unique_key=none, incremental_strategy=none) }}
{#- How well each calculation, and the consensus, called the next 60 minutes, over every
    stored request with forward data. A call is a hit when BULLISH meets a rising price or
    BEARISH a falling one (the raw price move, whatever the trade's side). -#}
with

requests as (

    select * from {{ ref('bt_index') }}

),

aggregated as (

    select * from {{ ref('bt_aggregated') }}

),

signals as (

    select * from {{ ref('bt_signals') }}

),

price_moves as (

    select
        aggregated.uid,
        case requests.direction when 'LONG' then 1 else -1 end * aggregated.return_15m
            as price_move_15m_pct,
        case requests.direction when 'LONG' then 1 else -1 end * aggregated.return_60m
            as price_move_60m_pct

    from aggregated
    inner join requests on aggregated.uid = requests.uid
    where aggregated.return_60m is not null

),

calls as (

    select
        uid,
        calculation,
        direction as call_direction,
        strength
    from signals
    where status = 'ok'

    union all

    select
        uid,
        'consensus' as calculation,
        consensus_direction as call_direction,
        average_strength as strength
    from aggregated
    where participating_calculations > 0

),

scored as (

    select
        calls.calculation,
        calls.call_direction,
        calls.strength,
        price_moves.price_move_15m_pct,
        price_moves.price_move_60m_pct,
        case calls.call_direction
            when 'BULLISH' then price_moves.price_move_60m_pct > 0
            when 'BEARISH' then price_moves.price_move_60m_pct < 0
        end as is_hit,
        case calls.call_direction
            when 'BULLISH' then calls.strength
            when 'BEARISH' then -calls.strength
            else 0
        end as signed_strength

    from calls
    inner join price_moves on calls.uid = price_moves.uid

),

correlations as (

    select
        calculation,
        case
            when var_pop(signed_strength) > 0 and var_pop(price_move_60m_pct) > 0
                then corr(signed_strength, price_move_60m_pct)
        end as strength_return_correlation

    from scored
    group by calculation

),

by_call as (

    select
        calculation,
        call_direction,
        cast(count(*) as integer) as calls,
        cast(count(*) filter (where is_hit) as integer) as hits,
        100.0 * count(*) filter (where is_hit) / nullif(count(is_hit), 0) as hit_rate_pct,
        avg(price_move_15m_pct) as mean_price_move_15m_pct,
        avg(price_move_60m_pct) as mean_price_move_60m_pct,
        median(price_move_60m_pct) as median_price_move_60m_pct,
        avg(strength) as mean_strength

    from scored
    group by calculation, call_direction

),

final as (

    select
        by_call.calculation,
        by_call.call_direction,
        by_call.calls,
        by_call.hits,
        by_call.hit_rate_pct,
        by_call.mean_price_move_15m_pct,
        by_call.mean_price_move_60m_pct,
        by_call.median_price_move_60m_pct,
        by_call.mean_strength,
        correlations.strength_return_correlation

    from by_call
    inner join correlations on by_call.calculation = correlations.calculation

)

select * from final
