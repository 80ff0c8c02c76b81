{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    on_schema_change='fail',
    enabled=plugin_enabled('m1_ema'),
    tags=['full_scan'],
) }}
{{ plugin_results('int_m1_ema__at_entry', [
    'ema_9', 'ema_21', 'ema_spread', 'ema_spread_pct', 'minutes_since_crossover', 'bars_used',
]) }}
