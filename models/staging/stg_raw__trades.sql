with

source as (

    select * from {{ source('raw', 'trades') }}

),

renamed as (

    select
        symbol,
        cast(sip_time as timestamp) as trade_time,
        date_trunc('minute', cast(sip_time as timestamp)) as trade_minute,
        price,
        size,
        data_source

    from source
    where price > 0 and size > 0

)

select * from renamed
