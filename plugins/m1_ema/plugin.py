"""m1_ema: EMA 9 / EMA 21 trend of 1-minute closes."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from plugins.base import BacktestPlugin, Overlay, bar_offsets, metadata_columns
from plugins.m1_ema.adapter import FAST_SPAN, SLOW_SPAN, M1EmaAdapter, ema_readings


class M1EmaPlugin(BacktestPlugin):
    name = "m1_ema"
    version = "1.0.0"
    adapter_class = M1EmaAdapter
    description = "BULLISH when EMA 9 of 1-minute closes is above EMA 21, BEARISH when below."

    def get_storage_mapping(self) -> dict[str, str]:
        return metadata_columns(
            "ema_9",
            "ema_21",
            "ema_spread",
            "ema_spread_pct",
            "minutes_since_crossover",
            "bars_used",
        )

    @classmethod
    def chart_overlays(
        cls, bars: pd.DataFrame, entry_time: datetime, *, lookback_minutes: int | None = None
    ) -> list[Overlay]:
        """EMA 9 and EMA 21 of the lookback closes, as the signal computed them."""
        if bars.empty:
            return []
        readings = ema_readings(bars.close.astype(float), bars.bar_time)
        x = bar_offsets(bars.bar_time, entry_time)
        return [
            Overlay(f"EMA {FAST_SPAN}", "price", "line", x=x, y=readings.ema_9, color="#1e88e5"),
            Overlay(f"EMA {SLOW_SPAN}", "price", "line", x=x, y=readings.ema_21, color="#fb8c00"),
        ]
