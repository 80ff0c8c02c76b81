"""vwap_position: the last close against the session VWAP and its one-sigma bands."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from plugins.base import BacktestPlugin, Overlay, bar_offsets, metadata_columns
from plugins.vwap_position.adapter import (
    BAND_SIGMA,
    VwapPositionAdapter,
    naive_utc,
    regular_open_time,
    session_anchor_time,
    vwap_reading,
)


class VwapPositionPlugin(BacktestPlugin):
    name = "vwap_position"
    version = "1.0.0"
    adapter_class = VwapPositionAdapter
    description = (
        "BULLISH when the last close is more than one volume-weighted standard deviation above "
        "the New York session VWAP, BEARISH when more than one below."
    )

    def get_storage_mapping(self) -> dict[str, str]:
        return metadata_columns(
            "vwap",
            "vwap_std",
            "last_close",
            "distance_pct",
            "distance_sigma",
            "session_anchor_time",
            "session_bars",
            "session_volume",
        )

    @classmethod
    def chart_overlays(
        cls, bars: pd.DataFrame, entry_time: datetime, *, lookback_minutes: int | None = None
    ) -> list[Overlay]:
        """The session VWAP and its one-sigma band at every session bar before the entry.

        Each point is the adapter's reading of the session up to that bar (anchored at the
        later of 09:30 New York and the lookback start), so the last one is the signal's VWAP.
        """
        entry = naive_utc(entry_time)
        anchor = (
            regular_open_time(entry)
            if lookback_minutes is None
            else session_anchor_time(entry, lookback_minutes)
        )
        session = bars[bars.bar_time >= anchor].reset_index(drop=True)
        readings = [(end, vwap_reading(session.iloc[:end])) for end in range(1, len(session) + 1)]
        readings = [(end, reading) for end, reading in readings if reading is not None]
        if not readings:
            return []
        offsets = bar_offsets(session.bar_time, entry)
        x = [offsets[end - 1] for end, _ in readings]
        vwap = [reading.vwap for _, reading in readings]
        spread = [BAND_SIGMA * reading.vwap_std for _, reading in readings]
        return [
            Overlay("VWAP", "price", "line", x=x, y=vwap, color="#00897b"),
            Overlay(
                f"VWAP \u00b1{BAND_SIGMA:g}\u03c3",
                "price",
                "band",
                x=x,
                y_low=[value - width for value, width in zip(vwap, spread, strict=True)],
                y_high=[value + width for value, width in zip(vwap, spread, strict=True)],
                color="#00897b",
            ),
        ]
