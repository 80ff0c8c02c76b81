-- How often did the consensus call the 60-minute move, by consensus direction?
-- Compile with `dbt compile --select consensus_hit_rate`, or paste into DuckDB.
select
    aggregated.consensus_direction,
    count(*) as requests,
    avg(case when aggregated.return_60m > 0 then 1.0 else 0.0 end) * 100 as win_rate_pct,
    avg(aggregated.pnl_pct) as mean_pnl_pct,
    median(aggregated.pnl_pct) as median_pnl_pct
from {{ ref('bt_aggregated') }} as aggregated
inner join {{ ref('bt_index') }} as request on request.uid = aggregated.uid
where request.status <> 'no_data'
group by aggregated.consensus_direction
order by requests desc
