{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    on_schema_change='fail',
    enabled=plugin_enabled('m1_ema'),
) }}
with

readings as (

    select * from {{ ref('int_m1_ema__at_entry') }}

),

final as (

    select
        uid,
        signal_direction,
        cast(strength as double) as strength,
        cast(confidence as double) as confidence,
        ema_9,
        ema_21,
        ema_spread,
        ema_spread_pct,
        minutes_since_crossover,
        bars_used,
        status

    from readings

)

select * from final
