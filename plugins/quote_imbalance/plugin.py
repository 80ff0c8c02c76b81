"""quote_imbalance: bid/ask size imbalance of the NBBO in the minutes before the entry."""

from __future__ import annotations

from plugins.base import BacktestPlugin, metadata_columns
from plugins.quote_imbalance.adapter import QuoteImbalanceAdapter


class QuoteImbalancePlugin(BacktestPlugin):
    name = "quote_imbalance"
    version = "1.0.0"
    adapter_class = QuoteImbalanceAdapter
    description = "BULLISH when bids outsize asks in the 5 minutes' quotes, BEARISH if asks do."

    def get_storage_mapping(self) -> dict[str, str]:
        return metadata_columns("size_imbalance", "mean_spread_bps", "quotes_used")
