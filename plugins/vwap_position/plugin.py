"""vwap_position: the last close against the session VWAP and its one-sigma bands."""

from __future__ import annotations

from plugins.base import BacktestPlugin
from plugins.vwap_position.adapter import VwapPositionAdapter


class VwapPositionPlugin(BacktestPlugin):
    name = "vwap_position"
    version = "1.0.0"
    adapter_name = "VwapPositionAdapter"
    adapter_class = VwapPositionAdapter
    storage_table = "bt_vwap_position"
    points = 1.0
    description = (
        "BULLISH when the last close is more than one volume-weighted standard deviation above "
        "the New York session VWAP, BEARISH when more than one below."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return {
            "signal_direction": "direction",
            "strength": "strength",
            "confidence": "confidence",
            "vwap": "metadata.vwap",
            "vwap_std": "metadata.vwap_std",
            "last_close": "metadata.last_close",
            "distance_pct": "metadata.distance_pct",
            "distance_sigma": "metadata.distance_sigma",
            "session_anchor_time": "metadata.session_anchor_time",
            "session_bars": "metadata.session_bars",
            "session_volume": "metadata.session_volume",
        }
