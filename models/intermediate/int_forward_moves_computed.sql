{#-
    Forward price movement of each pending request over offsets 0..forward_bars-1 of its
    filled window, signed by the trade's direction. Also the data status of the window.
-#}
{%- set returns = [] %}
{%- for minutes in forward_horizons() %}
    {%- do returns.append('return_' ~ minutes ~ 'm') %}
{%- endfor %}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

windows as (

    select * from {{ ref('int_request_windows_filled') }}

),

forward_bars as (

    select
        windows.*,
        requests.direction,
        case requests.direction when 'LONG' then 1 else -1 end as direction_sign

    from windows
    inner join requests
        on windows.uid = requests.uid
        and windows.bar_offset < requests.forward_bars
    where windows.bar_offset >= 0

),

window_coverage as (

    select
        windows.uid,
        count(*) filter (where not windows.is_filled) as real_bars_in_window,
        count(*) filter (
            where not windows.is_filled
            and windows.bar_offset between 0 and requests.forward_bars - 1
        ) as real_bars_forward

    from windows
    inner join requests on windows.uid = requests.uid
    group by windows.uid

),

extremes as (

    select
        uid,
        any_value(direction) as direction,
        any_value(direction_sign) as direction_sign,
        max(open) filter (where bar_offset = 0) as entry_price,
        arg_max(close, bar_offset) as exit_price,
        max(high) as highest_high,
        min(low) as lowest_low,
        {% for minutes in forward_horizons() %}
            max(close) filter (where bar_offset = {{ minutes - 1 }})
                as close_{{ minutes }}m{% if not loop.last %},{% endif %}
        {% endfor %}

    from forward_bars
    group by uid

),

extreme_offsets as (

    select
        forward_bars.uid,
        min(forward_bars.bar_offset) filter (where forward_bars.high = extremes.highest_high)
            as first_offset_at_high,
        min(forward_bars.bar_offset) filter (where forward_bars.low = extremes.lowest_low)
            as first_offset_at_low

    from forward_bars
    inner join extremes on forward_bars.uid = extremes.uid
    group by forward_bars.uid

),

measured as (

    select
        extremes.uid,
        window_coverage.real_bars_in_window,
        window_coverage.real_bars_forward,
        extremes.entry_price,
        extremes.exit_price,
        extremes.direction_sign * (extremes.exit_price - extremes.entry_price) as pnl,
        case extremes.direction
            when 'LONG' then extremes.highest_high - extremes.entry_price
            else extremes.entry_price - extremes.lowest_low
        end as max_favorable_excursion,
        case extremes.direction
            when 'LONG' then extremes.entry_price - extremes.lowest_low
            else extremes.highest_high - extremes.entry_price
        end as max_adverse_excursion,
        case extremes.direction
            when 'LONG' then extreme_offsets.first_offset_at_high
            else extreme_offsets.first_offset_at_low
        end as bars_to_mfe,
        case extremes.direction
            when 'LONG' then extreme_offsets.first_offset_at_low
            else extreme_offsets.first_offset_at_high
        end as bars_to_mae,
        {% for minutes in forward_horizons() %}
            extremes.direction_sign * 100 * (extremes.close_{{ minutes }}m - extremes.entry_price)
            / extremes.entry_price as return_{{ minutes }}m{% if not loop.last %},{% endif %}
        {% endfor %}

    from extremes
    inner join extreme_offsets on extremes.uid = extreme_offsets.uid
    inner join window_coverage on extremes.uid = window_coverage.uid

),

with_status as (

    select
        uid,
        case
            when real_bars_forward = 0 then 'no_data'
            when real_bars_in_window = {{ window_offsets().bars }} then 'complete'
            else 'partial'
        end as status,
        real_bars_in_window,
        real_bars_forward,
        entry_price,
        exit_price,
        pnl,
        100 * pnl / entry_price as pnl_pct,
        max_favorable_excursion,
        100 * max_favorable_excursion / entry_price as max_favorable_excursion_pct,
        max_adverse_excursion,
        100 * max_adverse_excursion / entry_price as max_adverse_excursion_pct,
        bars_to_mfe,
        bars_to_mae,
        {% for minutes in forward_horizons() %}
            return_{{ minutes }}m{% if not loop.last %},{% endif %}
        {% endfor %}

    from measured

),

{# With no real bar in the forward window there is nothing to measure: a carried-forward
    price would report a flat, fictitious trade. #}
reported as (

    select
        uid,
        status,
        real_bars_in_window,
        real_bars_forward,
        {% for column in [
            'entry_price', 'exit_price', 'pnl', 'pnl_pct',
            'max_favorable_excursion', 'max_favorable_excursion_pct',
            'max_adverse_excursion', 'max_adverse_excursion_pct',
            'bars_to_mfe', 'bars_to_mae'] + returns %}
            case when status <> 'no_data' then {{ column }} end
                as {{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from with_status

)

select * from reported
