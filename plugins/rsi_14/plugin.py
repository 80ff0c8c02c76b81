"""rsi_14: RSI(14) of 1-minute closes with Wilder's smoothing, read as overbought/oversold."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from plugins.base import BacktestPlugin, Overlay, bar_offsets, metadata_columns
from plugins.rsi_14.adapter import (
    OVERBOUGHT,
    OVERSOLD,
    PERIOD,
    WARM_UP_BARS,
    Rsi14Adapter,
    rsi_reading,
)


class Rsi14Plugin(BacktestPlugin):
    name = "rsi_14"
    version = "1.0.0"
    adapter_class = Rsi14Adapter
    description = (
        "Mean reversion on RSI(14) of 1-minute closes (Wilder, SMA-seeded): BEARISH above 70, "
        "BULLISH below 30."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return metadata_columns("rsi", "average_gain", "average_loss", "last_close", "bars_used")

    @classmethod
    def chart_overlays(
        cls, bars: pd.DataFrame, entry_time: datetime, *, lookback_minutes: int | None = None
    ) -> list[Overlay]:
        """RSI(14) at every lookback bar after the warm-up, in a 0-100 panel with 30/70 lines.

        Each point is the adapter's reading of the closes up to that bar, so the last one is
        the RSI the signal called on.
        """
        closes = bars.close.astype(float).reset_index(drop=True)
        ends = range(WARM_UP_BARS, len(closes) + 1)
        if not ends:
            return []
        x = bar_offsets(bars.bar_time, entry_time)
        return [
            Overlay(
                f"RSI {PERIOD}",
                "sub",
                "line",
                x=[x[end - 1] for end in ends],
                y=[rsi_reading(closes.iloc[:end]).rsi for end in ends],
                color="#8e24aa",
                y_range=(0.0, 100.0),
                levels=(OVERSOLD, OVERBOUGHT),
                sub_panel=f"RSI {PERIOD}",
            )
        ]
