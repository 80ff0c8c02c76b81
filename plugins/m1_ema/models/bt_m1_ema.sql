{{ plugin_results('m1_ema', 'int_m1_ema__at_entry', [
    'ema_9', 'ema_21', 'ema_spread', 'ema_spread_pct', 'minutes_since_crossover', 'bars_used',
]) }}
