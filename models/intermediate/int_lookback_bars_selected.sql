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

lookback_spans as (

    select
        uid,
        symbol,
        data_source,
        entry_time,
        lookback_minutes,
        {{ add_minutes('entry_time', '-lookback_minutes') }} as start_time

    from requests

),

{# The real bars of a symbol and source in a span are consecutive in that symbol's sequence of
    bars: each bar is numbered once (only where some pending request looks) and each request
    finds the numbers of its first and last bar, so a bar's index in a request's lookback is
    its number less the first one: no sort per request. #}
source_spans as (

    select
        symbol,
        data_source,
        min(start_time) as first_time,
        max(entry_time) as last_time

    from lookback_spans
    group by symbol, data_source

),

numbered_bars as (

    select
        bars.symbol,
        bars.data_source,
        bars.bar_time,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume,
        row_number() over (
            partition by bars.symbol, bars.data_source order by bars.bar_time
        ) as bar_number

    from bars
    inner join source_spans
        on bars.symbol = source_spans.symbol
        and bars.data_source = source_spans.data_source
        and bars.bar_time >= source_spans.first_time
        and bars.bar_time < source_spans.last_time

),

first_bars as (

    select
        lookback_spans.*,
        numbered_bars.bar_number as first_number

    from lookback_spans
    asof left join numbered_bars
        on lookback_spans.symbol = numbered_bars.symbol
        and lookback_spans.data_source = numbered_bars.data_source
        and lookback_spans.start_time <= numbered_bars.bar_time

),

bar_spans as (

    select
        first_bars.*,
        numbered_bars.bar_number as last_number

    from first_bars
    asof left join numbered_bars
        on first_bars.symbol = numbered_bars.symbol
        and first_bars.data_source = numbered_bars.data_source
        and first_bars.entry_time > numbered_bars.bar_time

),

seen_spans as (

    select *
    from bar_spans
    where first_number <= last_number

),

lookback_grid as (

    select
        seen_spans.uid,
        seen_spans.symbol,
        seen_spans.data_source,
        seen_spans.entry_time,
        seen_spans.lookback_minutes,
        seen_spans.first_number,
        seen_spans.last_number,
        {{ add_minutes('seen_spans.entry_time', '-minutes_before.minutes_before') }} as bar_time

    from seen_spans
    cross join lateral (
        select cast(range as integer) as minutes_before
        from range(1, seen_spans.lookback_minutes + 1)
    ) as minutes_before

),

lookback_bars as (

    select
        lookback_grid.uid,
        lookback_grid.entry_time,
        lookback_grid.lookback_minutes,
        numbered_bars.bar_time,
        numbered_bars.open,
        numbered_bars.high,
        numbered_bars.low,
        numbered_bars.close,
        numbered_bars.volume,
        cast(numbered_bars.bar_number - lookback_grid.first_number as integer) as bar_index,
        cast(lookback_grid.last_number - lookback_grid.first_number + 1 as integer) as bar_count

    from lookback_grid
    inner join numbered_bars
        on lookback_grid.symbol = numbered_bars.symbol
        and lookback_grid.data_source = numbered_bars.data_source
        and lookback_grid.bar_time = numbered_bars.bar_time

)

select * from lookback_bars
