{{ plugin_results('quote_imbalance', 'int_quote_imbalance__at_entry', [
    'size_imbalance', 'mean_spread_bps', 'quotes_used',
]) }}
