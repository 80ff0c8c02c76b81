{{ config(materialized='table', enabled=plugin_enabled('quote_imbalance')) }}
{#- The quote_imbalance reading at each pending entry, from the NBBO quotes with
    entry - 5 min <= quote_time < entry (README.md). Quotes are found through a five-minute
    grid per request, an equi-join on (symbol, minute), then trimmed to the exact window. -#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

quotes as (

    select * from {{ ref('stg_raw__quotes') }}

),

offsets as (

    {{ minute_offsets(-5, -1) }}

),

quote_minutes as (

    select
        requests.uid,
        requests.symbol,
        requests.tick_data_source,
        requests.entry_time,
        {{ add_minutes('requests.entry_time', 'offsets.bar_offset') }} as quote_minute

    from requests
    cross join offsets

),

window_quotes as (

    select
        quote_minutes.uid,
        quotes.bid_price,
        quotes.bid_size,
        quotes.ask_price,
        quotes.ask_size

    from quote_minutes
    inner join quotes
        on quote_minutes.symbol = quotes.symbol
        and quote_minutes.tick_data_source = quotes.data_source
        and quote_minutes.quote_minute = quotes.quote_minute
    where quotes.quote_time < quote_minutes.entry_time

),

summed as (

    select
        uid,
        count(*) as quotes_used,
        sum(bid_size) as bid_size_total,
        sum(ask_size) as ask_size_total,
        avg(1e4 * (ask_price - bid_price) / ((ask_price + bid_price) / 2)) as mean_spread_bps

    from window_quotes
    group by uid

),

measured as (

    select
        requests.uid,
        requests.entry_time,
        cast(coalesce(summed.quotes_used, 0) as integer) as quotes_used,
        (summed.bid_size_total - summed.ask_size_total)
        / (summed.bid_size_total + summed.ask_size_total) as size_imbalance,
        summed.mean_spread_bps

    from requests
    left join summed on requests.uid = summed.uid

),

called as (

    select
        *,
        case
            when quotes_used = 0 then null
            when quotes_used < 5 or abs(size_imbalance) <= 0.15 then 'NEUTRAL'
            when size_imbalance > 0 then 'BULLISH'
            else 'BEARISH'
        end as signal_direction,
        case
            when quotes_used = 0 then null
            when quotes_used < 5 or abs(size_imbalance) <= 0.15 then 0
            else round(least(100, 100 * abs(size_imbalance) / 0.60), 2)
        end as strength,
        case
            when quotes_used = 0 then null
            else round(
                100 * least(1, quotes_used / 20.0)
                * greatest(0, 1 - mean_spread_bps / 25.0),
                2
            )
        end as confidence,
        case when quotes_used = 0 then 'no_data' else 'ok' end as status,
        case when quotes_used = 0 then 'no quotes in the 5 minutes before the entry' end as error

    from measured

)

select * from called
