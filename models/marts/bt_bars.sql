with

windows as (

    select * from {{ ref('int_request_windows_filled') }}

),

final as (

    select
        uid,
        bar_offset,
        bar_time,
        open,
        high,
        low,
        close,
        volume,
        is_filled

    from windows

)

select * from final
