"""quote_imbalance's per-entry adapter run through the generic wrapper (runs = "adapter")."""

from __future__ import annotations

from plugins.base import BacktestPlugin
from plugins.quote_imbalance.adapter import QuoteImbalanceAdapter


class QuotesPerEntryPlugin(BacktestPlugin):
    name = "quotes_per_entry"
    version = "0.0.1"
    adapter_name = "QuoteImbalanceAdapter"
    adapter_class = QuoteImbalanceAdapter
    storage_table = "bt_quotes_per_entry"
    runs = "adapter"
