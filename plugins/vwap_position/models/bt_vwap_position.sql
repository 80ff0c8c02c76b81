{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    on_schema_change='fail',
    enabled=plugin_enabled('vwap_position'),
    tags=['full_scan'],
) }}
{{ plugin_results('int_vwap_position__at_entry', [
    'vwap', 'vwap_std', 'last_close', 'distance_pct', 'distance_sigma', 'session_anchor_time',
    'session_bars', 'cast(session_volume as double) as session_volume',
]) }}
