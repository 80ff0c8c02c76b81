{#-
    The only bars a signal may see: real bars with entry - lookback <= bar_time < entry,
    numbered from the oldest (bar_index 0). Never the entry bar, never a filled minute, never
    another source's bars.
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

bars as (

    select * from {{ ref('stg_raw__bars_1m') }}

),

lookback_grid as (

    select
        requests.uid,
        requests.symbol,
        requests.data_source,
        requests.entry_time,
        requests.lookback_minutes,
        {{ add_minutes('requests.entry_time', '-minutes_before.minutes_before') }} as bar_time

    from requests
    cross join lateral (
        select cast(range as integer) as minutes_before
        from range(1, requests.lookback_minutes + 1)
    ) as minutes_before

),

lookback_bars as (

    select
        lookback_grid.uid,
        lookback_grid.entry_time,
        lookback_grid.lookback_minutes,
        bars.bar_time,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume

    from lookback_grid
    inner join bars
        on lookback_grid.symbol = bars.symbol
        and lookback_grid.data_source = bars.data_source
        and lookback_grid.bar_time = bars.bar_time

),

numbered as (

    select
        *,
        cast(row_number() over (partition by uid order by bar_time) - 1 as integer) as bar_index,
        cast(count(*) over (partition by uid) as integer) as bar_count

    from lookback_bars

)

select * from numbered
