"""m1_ema: EMA 9 / EMA 21 trend of 1-minute closes."""

from __future__ import annotations

from plugins.base import BacktestPlugin
from plugins.m1_ema.adapter import M1EmaAdapter


class M1EmaPlugin(BacktestPlugin):
    name = "m1_ema"
    version = "1.0.0"
    adapter_name = "M1EmaAdapter"
    adapter_class = M1EmaAdapter
    storage_table = "bt_m1_ema"
    points = 1.0
    description = "BULLISH when EMA 9 of 1-minute closes is above EMA 21, BEARISH when below."

    def get_storage_mapping(self) -> dict[str, str]:
        return {
            "signal_direction": "direction",
            "strength": "strength",
            "confidence": "confidence",
            "ema_9": "metadata.ema_9",
            "ema_21": "metadata.ema_21",
            "ema_spread": "metadata.ema_spread",
            "ema_spread_pct": "metadata.ema_spread_pct",
            "minutes_since_crossover": "metadata.minutes_since_crossover",
            "bars_used": "metadata.bars_used",
        }
