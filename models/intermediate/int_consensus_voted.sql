{#-
    Point & call consensus per pending request. Each participating signal (status ok) calls its
    direction with its plugin's points; the direction with the most points wins, a tie for the
    most is NEUTRAL. agreement_score = 100 * points of the consensus direction / all points.
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

signals as (

    select * from {{ ref('int_signals_unioned') }}

),

signal_counts as (

    select
        uid,
        count(*) as total_calculations,
        count(*) filter (where status = 'ok') as participating_calculations,
        coalesce(sum(points) filter (where status = 'ok'), 0) as participating_points,
        count(*) filter (where status = 'ok' and direction = 'BULLISH') as bullish_votes,
        count(*) filter (where status = 'ok' and direction = 'BEARISH') as bearish_votes,
        count(*) filter (where status = 'ok' and direction = 'NEUTRAL') as neutral_votes,
        avg(strength) filter (where status = 'ok') as average_strength,
        avg(confidence) filter (where status = 'ok') as average_confidence

    from signals
    group by uid

),

direction_points as (

    select
        uid,
        direction,
        sum(points) as points

    from signals
    where status = 'ok'
    group by uid, direction

),

ranked_directions as (

    select
        uid,
        direction,
        points,
        rank() over (partition by uid order by points desc) as points_rank

    from direction_points

),

leaders as (

    select
        uid,
        case when count(*) = 1 then any_value(direction) else 'NEUTRAL' end as consensus_direction

    from ranked_directions
    where points_rank = 1
    group by uid

),

voted as (

    select
        requests.uid,
        coalesce(leaders.consensus_direction, 'NEUTRAL') as consensus_direction,
        case
            when coalesce(signal_counts.participating_points, 0) = 0 then 0
            else 100.0 * coalesce(consensus_points.points, 0) / signal_counts.participating_points
        end as agreement_score,
        {{ json_object_of({
            'BULLISH': 'coalesce(signal_counts.bullish_votes, 0)',
            'BEARISH': 'coalesce(signal_counts.bearish_votes, 0)',
            'NEUTRAL': 'coalesce(signal_counts.neutral_votes, 0)',
        }) }} as vote_breakdown,
        signal_counts.average_strength,
        signal_counts.average_confidence,
        cast(coalesce(signal_counts.participating_calculations, 0) as integer)
            as participating_calculations,
        cast(coalesce(signal_counts.total_calculations, 0) as integer) as total_calculations,
        (
            coalesce(leaders.consensus_direction, 'NEUTRAL') = 'BULLISH'
            and requests.direction = 'LONG'
        )
        or (
            coalesce(leaders.consensus_direction, 'NEUTRAL') = 'BEARISH'
            and requests.direction = 'SHORT'
        )
            as aligned_with_trade

    from requests
    left join signal_counts on requests.uid = signal_counts.uid
    left join leaders on requests.uid = leaders.uid
    left join direction_points as consensus_points
        on leaders.uid = consensus_points.uid
        and leaders.consensus_direction = consensus_points.direction

)

select * from voted
