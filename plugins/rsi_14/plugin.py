"""rsi_14: RSI(14) of 1-minute closes with Wilder's smoothing, read as overbought/oversold."""

from __future__ import annotations

from plugins.base import BacktestPlugin
from plugins.rsi_14.adapter import Rsi14Adapter


class Rsi14Plugin(BacktestPlugin):
    name = "rsi_14"
    version = "1.0.0"
    adapter_name = "Rsi14Adapter"
    adapter_class = Rsi14Adapter
    storage_table = "bt_rsi_14"
    points = 1.0
    description = (
        "Mean reversion on RSI(14) of 1-minute closes (Wilder, SMA-seeded): BEARISH above 70, "
        "BULLISH below 30."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return {
            "signal_direction": "direction",
            "strength": "strength",
            "confidence": "confidence",
            "rsi": "metadata.rsi",
            "average_gain": "metadata.average_gain",
            "average_loss": "metadata.average_loss",
            "last_close": "metadata.last_close",
            "bars_used": "metadata.bars_used",
        }
