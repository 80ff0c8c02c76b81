{#-
    The stored window (vars.backtest_window: offsets -15..59) around each pending entry, exactly
    75 rows per uid.
    A minute without a real bar takes the last real close at or before it (open = high = low =
    close, volume 0, is_filled). Only bars of the request's own data_source are read, and only
    bars inside the request's data horizon
    (entry - lookback onwards) can be carried forward, so a result never depends on what else
    happens to be cached.
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

bars as (

    select * from {{ ref('stg_raw__bars_1m') }}

),

offsets as (

    {{ minute_offsets(window_offsets().first_offset, window_offsets().last_offset) }}

),

minute_grid as (

    select
        requests.uid,
        requests.symbol,
        requests.data_source,
        offsets.bar_offset,
        {{ add_minutes('requests.entry_time', 'offsets.bar_offset') }} as bar_time,
        least(
            {{ add_minutes('requests.entry_time', 'offsets.bar_offset') }},
            {{ add_minutes('requests.known_until', -1) }}
        ) as lookup_time,
        {{ add_minutes(
            'requests.entry_time',
            '-greatest(requests.lookback_minutes, ' ~ -window_offsets().first_offset ~ ')'
        ) }}
            as horizon_start_time

    from requests
    cross join offsets

),

{# Many requests share a minute of a symbol: the last real bar at or before each distinct
    minute (before the present, for a live request) is looked up once, then handed to every
    request's grid row. #}
needed_minutes as (

    select distinct
        symbol,
        data_source,
        lookup_time

    from minute_grid

),

last_real_bars as (

    select
        needed_minutes.symbol,
        needed_minutes.data_source,
        needed_minutes.lookup_time,
        bars.bar_time as source_bar_time,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume

    from needed_minutes
    asof left join bars
        on needed_minutes.symbol = bars.symbol
        and needed_minutes.data_source = bars.data_source
        and needed_minutes.lookup_time >= bars.bar_time

),

filled as (

    select
        minute_grid.uid,
        minute_grid.bar_offset,
        minute_grid.bar_time,
        coalesce(last_real_bars.source_bar_time = minute_grid.bar_time, false) as is_real,
        last_real_bars.source_bar_time >= minute_grid.horizon_start_time as has_price,
        last_real_bars.open,
        last_real_bars.high,
        last_real_bars.low,
        last_real_bars.close,
        last_real_bars.volume

    from minute_grid
    inner join last_real_bars
        on minute_grid.symbol = last_real_bars.symbol
        and minute_grid.data_source = last_real_bars.data_source
        and minute_grid.lookup_time = last_real_bars.lookup_time

),

windows as (

    select
        uid,
        bar_offset,
        bar_time,
        case when is_real then open when has_price then close end as open,
        case when is_real then high when has_price then close end as high,
        case when is_real then low when has_price then close end as low,
        case when is_real or has_price then close end as close,
        case when is_real then volume else 0 end as volume,
        not is_real as is_filled

    from filled

)

select * from windows
