with

signals as (

    select * from {{ ref('int_signals_unioned') }}

),

final as (

    select
        uid,
        calculation,
        signal_time,
        direction,
        strength,
        confidence,
        points,
        metadata,
        status,
        error

    from signals

)

select * from final
