{{ plugin_results('rsi_14', 'int_rsi_14__at_entry', [
    'cast(rsi as double) as rsi', 'average_gain', 'average_loss', 'last_close', 'bars_used',
]) }}
