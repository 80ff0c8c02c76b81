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
        {{ add_minutes(
            'requests.entry_time',
            '-greatest(requests.lookback_minutes, ' ~ -window_offsets().first_offset ~ ')'
        ) }}
            as horizon_start_time

    from requests
    cross join offsets

),

last_real_bars as (

    select
        minute_grid.uid,
        minute_grid.bar_offset,
        minute_grid.bar_time,
        minute_grid.horizon_start_time,
        bars.bar_time as source_bar_time,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume

    from minute_grid
    asof left join bars
        on minute_grid.symbol = bars.symbol
        and minute_grid.data_source = bars.data_source
        and minute_grid.bar_time >= bars.bar_time

),

filled as (

    select
        uid,
        bar_offset,
        bar_time,
        coalesce(source_bar_time = bar_time, false) as is_real,
        source_bar_time >= horizon_start_time as has_price,
        open,
        high,
        low,
        close,
        volume

    from last_real_bars

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
