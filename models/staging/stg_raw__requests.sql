with

source as (

    select * from {{ source('raw', 'requests') }}

),

renamed as (

    select
        uid,
        symbol,
        entry_time,
        direction,
        historical_lookback_hours,
        cast(floor(historical_lookback_hours * 60) as integer) as lookback_minutes,
        forward_bars,
        data_source,
        coalesce(tick_data_source, data_source) as tick_data_source,
        calculations,
        known_until,
        created_at,
        requested_at

    from source

)

select * from renamed
