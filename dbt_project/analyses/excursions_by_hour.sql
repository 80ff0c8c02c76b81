-- Typical favourable and adverse excursion by hour of entry (UTC) and side.
select
    extract(hour from request.entry_time) as entry_hour_utc,
    request.direction,
    count(*) as requests,
    avg(aggregated.max_favorable_excursion_pct) as mean_mfe_pct,
    avg(aggregated.max_adverse_excursion_pct) as mean_mae_pct,
    avg(aggregated.bars_to_mfe) as mean_bars_to_mfe
from {{ ref('bt_aggregated') }} as aggregated
inner join {{ ref('bt_index') }} as request on request.uid = aggregated.uid
where request.status = 'complete'
group by all
order by entry_hour_utc, request.direction
