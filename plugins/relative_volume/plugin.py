"""relative_volume: a volume surge in the last 5 minutes, called by the direction of the move."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from plugins.base import BacktestPlugin, Overlay, metadata_columns
from plugins.relative_volume.adapter import (
    RECENT_MINUTES,
    SURGE_RATIO,
    RelativeVolumeAdapter,
    volume_reading,
)


class RelativeVolumePlugin(BacktestPlugin):
    name = "relative_volume"
    version = "1.0.0"
    adapter_class = RelativeVolumeAdapter
    description = (
        "A surge (last 5 minutes at least twice the lookback's mean 5-minute volume) calls the "
        "direction of the 5-minute move: BULLISH when up, BEARISH when down."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return metadata_columns(
            "volume_ratio",
            "recent_volume",
            "baseline_volume_5m",
            "recent_change_pct",
            "recent_bars",
            "baseline_bars",
            "bars_used",
        )

    @classmethod
    def chart_overlays(
        cls, bars: pd.DataFrame, entry_time: datetime, *, lookback_minutes: int | None = None
    ) -> list[Overlay]:
        """The baseline's mean volume per minute, and the surge threshold, on the volume panel.

        The signal compares 5-minute sums; per minute, its baseline is ``baseline_volume_5m /
        5`` and a surge is ``2x`` that.
        """
        if bars.empty:
            return []
        lookback = lookback_minutes or cls.data_requirements().lookback_minutes
        reading = volume_reading(bars, pd.Timestamp(entry_time), lookback)
        per_minute = reading.baseline_volume_5m / RECENT_MINUTES
        return [
            Overlay("Volume baseline", "volume", "level", level=per_minute, color="#6d4c41"),
            Overlay(
                f"Volume surge {SURGE_RATIO:g}x",
                "volume",
                "level",
                level=SURGE_RATIO * per_minute,
                color="#e53935",
            ),
        ]
