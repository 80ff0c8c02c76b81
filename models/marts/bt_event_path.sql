{{ config(materialized='view') }}
{#- The event study: the mean path of the direction-signed return from the entry price to the
    close of each bar of the window (offsets -15..59), per group of requests with forward data.
    A request belongs to several groups (all, its direction, its consensus, whether the
    consensus was aligned with the trade, and each calculation's call); every bar is read once
    and fanned out to its request's groups. -#}
with

requests as (

    select * from {{ ref('bt_index') }}

),

aggregated as (

    select * from {{ ref('bt_aggregated') }}

),

bars as (

    select * from {{ ref('bt_bars') }}

),

signals as (

    select * from {{ ref('bt_signals') }}

),

measured_requests as (

    select
        aggregated.uid,
        aggregated.entry_price,
        requests.direction,
        case requests.direction when 'LONG' then 1 else -1 end as direction_sign,
        aggregated.consensus_direction,
        aggregated.aligned_with_trade

    from aggregated
    inner join requests on aggregated.uid = requests.uid
    where requests.status <> 'no_data' and aggregated.entry_price is not null

),

memberships as (

    select
        uid,
        'all' as group_kind,
        'all' as group_value
    from measured_requests

    union all

    select
        uid,
        'direction' as group_kind,
        direction as group_value
    from measured_requests

    union all

    select
        uid,
        'consensus_direction' as group_kind,
        consensus_direction as group_value
    from measured_requests

    union all

    select
        uid,
        'aligned_with_trade' as group_kind,
        case when aligned_with_trade then 'true' else 'false' end as group_value
    from measured_requests
    where aligned_with_trade is not null

    union all

    select
        signals.uid,
        'calculation' as group_kind,
        signals.calculation || ':' || signals.direction as group_value
    from signals
    inner join measured_requests on signals.uid = measured_requests.uid
    where signals.status = 'ok'

),

bar_returns as (

    select
        bars.uid,
        bars.bar_offset,
        measured_requests.direction_sign * 100 * (bars.close - measured_requests.entry_price)
        / measured_requests.entry_price as return_pct

    from bars
    inner join measured_requests on bars.uid = measured_requests.uid

),

path_points as (

    select
        memberships.group_kind,
        memberships.group_value,
        bar_returns.bar_offset,
        count(bar_returns.return_pct) as entries,
        avg(bar_returns.return_pct) as mean_return_pct,
        median(bar_returns.return_pct) as median_return_pct,
        stddev_samp(bar_returns.return_pct) as stddev_return_pct,
        count(*) filter (where bar_returns.return_pct > 0) as positive_entries

    from bar_returns
    inner join memberships on bar_returns.uid = memberships.uid
    group by memberships.group_kind, memberships.group_value, bar_returns.bar_offset

),

final as (

    select
        group_kind,
        group_value,
        cast(bar_offset as integer) as bar_offset,
        cast(entries as integer) as entries,
        mean_return_pct,
        median_return_pct,
        stddev_return_pct,
        {#- normal approximation of the 95% interval of the mean (z = 1.96) #}
        mean_return_pct - 1.959963984540054 * stddev_return_pct / sqrt(entries) as ci_low_pct,
        mean_return_pct + 1.959963984540054 * stddev_return_pct / sqrt(entries) as ci_high_pct,
        100.0 * positive_entries / nullif(entries, 0) as share_positive_pct

    from path_points

)

select * from final
