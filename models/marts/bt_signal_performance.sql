{{ config(materialized='view') }}
{#- How well each calculation, and the consensus, called the price over each forward horizon
    (var backtest_horizons), over every stored request with a return at that horizon. A call is
    a hit when BULLISH meets a rising price or BEARISH a falling one (the raw price move,
    whatever the trade's side). Beside each hit rate: its Wilson 95% interval, the hit rate of
    calling the same direction on every measured request (the baseline) and the difference
    (the edge); the Spearman rank correlation of the signed strength with the move (rank IC);
    and a note when there are too few calls to trust. -#}
{%- set z = 1.959963984540054 %}
{%- set min_calls = var('backtest_min_calls') %}
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

    {% for minutes in var('backtest_horizons') %}
        select
            aggregated.uid,
            {{ minutes }} as horizon_minutes,
            case requests.direction when 'LONG' then 1 else -1 end
            * aggregated.return_{{ minutes }}m as price_move_pct

        from aggregated
        inner join requests on aggregated.uid = requests.uid
        where aggregated.return_{{ minutes }}m is not null
        {% if not loop.last %}

            union all

        {% endif %}
    {% endfor %}

),

baselines as (

    select
        horizon_minutes,
        count(*) as baseline_entries,
        100.0 * count(*) filter (where price_move_pct > 0) / count(*) as share_rising_pct,
        100.0 * count(*) filter (where price_move_pct < 0) / count(*) as share_falling_pct

    from price_moves
    group by horizon_minutes

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
        price_moves.horizon_minutes,
        calls.strength,
        price_moves.price_move_pct,
        case calls.call_direction
            when 'BULLISH' then price_moves.price_move_pct > 0
            when 'BEARISH' then price_moves.price_move_pct < 0
        end as is_hit,
        case calls.call_direction
            when 'BULLISH' then calls.strength
            when 'BEARISH' then -calls.strength
            else 0
        end as signed_strength

    from calls
    inner join price_moves on calls.uid = price_moves.uid

),

{# Average ranks (ties share the mean of their positions), as scipy's spearmanr ranks. #}
ranked as (

    select
        calculation,
        horizon_minutes,
        signed_strength,
        price_move_pct,
        rank() over (
            partition by calculation, horizon_minutes order by signed_strength
        ) + (
            count(*) over (partition by calculation, horizon_minutes, signed_strength) - 1
        ) / 2.0 as strength_rank,
        rank() over (
            partition by calculation, horizon_minutes order by price_move_pct
        ) + (
            count(*) over (partition by calculation, horizon_minutes, price_move_pct) - 1
        ) / 2.0 as move_rank

    from scored

),

rank_correlations as (

    select
        calculation,
        horizon_minutes,
        case
            when
                min(signed_strength) < max(signed_strength)
                and min(price_move_pct) < max(price_move_pct)
                then corr(strength_rank, move_rank)
        end as rank_ic,
        count(*) as ic_entries

    from ranked
    group by calculation, horizon_minutes

),

by_call as (

    select
        calculation,
        call_direction,
        horizon_minutes,
        count(*) as calls,
        count(*) filter (where is_hit) as hits,
        {#- the calls that can hit: null for NEUTRAL, which calls no move #}
        cast(nullif(count(is_hit), 0) as double) as directional_calls,
        avg(price_move_pct) as mean_price_move_pct,
        median(price_move_pct) as median_price_move_pct,
        avg(strength) as mean_strength

    from scored
    group by calculation, call_direction, horizon_minutes

),

{# Wilson score interval of the hit rate p over n directional calls:
    (p + z^2/2n -+ z * sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). #}
hit_shares as (

    select
        *,
        hits / directional_calls as hit_share,
        {{ z }} * {{ z }} / directional_calls as z_squared_per_call

    from by_call

),

wilson_parts as (

    select
        *,
        (hit_share + z_squared_per_call / 2) / (1 + z_squared_per_call) as wilson_centre,
        {{ z }} * sqrt(
            hit_share * (1 - hit_share) / directional_calls
            + z_squared_per_call / (4 * directional_calls)
        ) / (1 + z_squared_per_call) as wilson_half_width

    from hit_shares

),

{# Mathematically inside [0, 1]; rounding could leave the bounds a hair outside. #}
wilson_intervals as (

    select
        *,
        case
            when wilson_centre - wilson_half_width < 0 then 0
            else wilson_centre - wilson_half_width
        end as wilson_low,
        case
            when wilson_centre + wilson_half_width > 1 then 1
            else wilson_centre + wilson_half_width
        end as wilson_high

    from wilson_parts

),

compared as (

    select
        wilson_intervals.*,
        baselines.baseline_entries,
        baselines.share_rising_pct,
        case wilson_intervals.call_direction
            when 'BULLISH' then baselines.share_rising_pct
            when 'BEARISH' then baselines.share_falling_pct
        end as baseline_hit_rate_pct,
        rank_correlations.rank_ic,
        rank_correlations.ic_entries

    from wilson_intervals
    inner join baselines on wilson_intervals.horizon_minutes = baselines.horizon_minutes
    inner join rank_correlations
        on wilson_intervals.calculation = rank_correlations.calculation
        and wilson_intervals.horizon_minutes = rank_correlations.horizon_minutes

),

final as (

    select
        calculation,
        call_direction,
        cast(horizon_minutes as integer) as horizon_minutes,
        cast(calls as integer) as calls,
        cast(hits as integer) as hits,
        100.0 * hits / directional_calls as hit_rate_pct,
        100 * wilson_low as hit_rate_ci_low_pct,
        100 * wilson_high as hit_rate_ci_high_pct,
        cast(baseline_entries as integer) as baseline_entries,
        share_rising_pct,
        baseline_hit_rate_pct,
        100.0 * hits / directional_calls - baseline_hit_rate_pct as edge_pct,
        mean_price_move_pct,
        median_price_move_pct,
        mean_strength,
        rank_ic,
        cast(ic_entries as integer) as ic_entries,
        case
            when calls < {{ min_calls }}
                then
                    'only ' || calls || case when calls = 1 then ' call' else ' calls' end
                    || ': fewer than {{ min_calls }}, too few to trust'
        end as sample_note

    from compared

)

select * from final
