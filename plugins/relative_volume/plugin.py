"""relative_volume: a volume surge in the last 5 minutes, called by the direction of the move."""

from __future__ import annotations

from plugins.base import BacktestPlugin
from plugins.relative_volume.adapter import RelativeVolumeAdapter


class RelativeVolumePlugin(BacktestPlugin):
    name = "relative_volume"
    version = "1.0.0"
    adapter_name = "RelativeVolumeAdapter"
    adapter_class = RelativeVolumeAdapter
    storage_table = "bt_relative_volume"
    points = 1.0
    description = (
        "A surge (last 5 minutes at least twice the lookback's mean 5-minute volume) calls the "
        "direction of the 5-minute move: BULLISH when up, BEARISH when down."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return {
            "signal_direction": "direction",
            "strength": "strength",
            "confidence": "confidence",
            "volume_ratio": "metadata.volume_ratio",
            "recent_volume": "metadata.recent_volume",
            "baseline_volume_5m": "metadata.baseline_volume_5m",
            "recent_change_pct": "metadata.recent_change_pct",
            "recent_bars": "metadata.recent_bars",
            "baseline_bars": "metadata.baseline_bars",
            "bars_used": "metadata.bars_used",
        }
