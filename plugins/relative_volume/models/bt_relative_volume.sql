{{ plugin_results('relative_volume', 'int_relative_volume__at_entry', [
    'cast(volume_ratio as double) as volume_ratio',
    'cast(recent_volume as double) as recent_volume',
    'cast(baseline_volume_5m as double) as baseline_volume_5m', 'recent_change_pct',
    'recent_bars', 'baseline_bars', 'bars_used',
]) }}
