{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    on_schema_change='fail',
    enabled=plugin_enabled('rsi_14'),
    tags=['full_scan'],
) }}
{{ plugin_results('int_rsi_14__at_entry', [
    'cast(rsi as double) as rsi', 'average_gain', 'average_loss', 'last_close', 'bars_used',
]) }}
