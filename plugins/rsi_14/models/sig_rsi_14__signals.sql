{{ config(materialized='table', enabled=plugin_enabled('rsi_14')) }}
{{ plugin_signals('rsi_14', 'int_rsi_14__at_entry', [
    'rsi', 'average_gain', 'average_loss', 'last_close', 'bars_used',
]) }}
