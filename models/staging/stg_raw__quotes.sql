with

source as (

    select * from {{ source('raw', 'quotes') }}

),

renamed as (

    select
        symbol,
        cast(sip_time as timestamp) as quote_time,
        date_trunc('minute', cast(sip_time as timestamp)) as quote_minute,
        bid_price,
        bid_size,
        ask_price,
        ask_size,
        data_source

    from source
    where bid_price > 0 and ask_price > 0 and ask_price >= bid_price

)

select * from renamed
