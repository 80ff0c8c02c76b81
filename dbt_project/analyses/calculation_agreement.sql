-- How often does each pair of calculations call the same direction on the same request?
select
    first_signal.calculation as calculation,
    second_signal.calculation as other_calculation,
    count(*) as both_called,
    avg(case when first_signal.direction = second_signal.direction then 1.0 else 0.0 end) * 100
        as same_call_pct
from {{ ref('bt_signals') }} as first_signal
inner join {{ ref('bt_signals') }} as second_signal
    on first_signal.uid = second_signal.uid
    and first_signal.calculation < second_signal.calculation
where first_signal.status = 'ok' and second_signal.status = 'ok'
group by all
order by same_call_pct desc
