{{ plugin_results('vwap_position', 'int_vwap_position__at_entry', [
    'vwap', 'vwap_std', 'last_close', 'distance_pct', 'distance_sigma', 'session_anchor_time',
    'session_bars', 'cast(session_volume as double) as session_volume',
]) }}
