{{ config(materialized='table', enabled=plugin_enabled('relative_volume')) }}
{{ plugin_signals('relative_volume', 'int_relative_volume__at_entry', [
    'volume_ratio', 'recent_volume', 'baseline_volume_5m', 'recent_change_pct', 'recent_bars',
    'baseline_bars', 'bars_used',
]) }}
