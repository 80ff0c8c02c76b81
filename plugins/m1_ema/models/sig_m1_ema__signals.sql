{{ config(materialized='table', enabled=plugin_enabled('m1_ema')) }}
with

readings as (

    select * from {{ ref('int_m1_ema__at_entry') }}

),

signals as (

    select
        uid,
        'm1_ema' as calculation,
        entry_time as signal_time,
        signal_direction as direction,
        cast(strength as double) as strength,
        cast(confidence as double) as confidence,
        cast({{ plugin_points('m1_ema') }} as double) as points,
        {{ json_object_of({
            'ema_9': 'ema_9',
            'ema_21': 'ema_21',
            'ema_spread': 'ema_spread',
            'ema_spread_pct': 'ema_spread_pct',
            'minutes_since_crossover': 'minutes_since_crossover',
            'bars_used': 'bars_used',
        }) }} as metadata,
        status,
        error

    from readings

)

select * from signals
