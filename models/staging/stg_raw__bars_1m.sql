with

source as (

    select * from {{ source('raw', 'bars_1m') }}

),

renamed as (

    select
        symbol,
        bar_time,
        open,
        high,
        low,
        close,
        volume,
        data_source

    from source

)

select * from renamed
