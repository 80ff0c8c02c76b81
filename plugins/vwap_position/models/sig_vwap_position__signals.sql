{{ config(materialized='table', enabled=plugin_enabled('vwap_position')) }}
{{ plugin_signals('vwap_position', 'int_vwap_position__at_entry', [
    'vwap', 'vwap_std', 'last_close', 'distance_pct', 'distance_sigma', 'session_anchor_time',
    'session_bars', 'session_volume',
]) }}
