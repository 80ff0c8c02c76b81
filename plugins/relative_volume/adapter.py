"""The relative_volume calculation for one entry, in pandas (the dbt models do the same set-based).

Rules (see README.md): the lookback is split into the recent window (the 5 minutes before the
entry) and the baseline (the lookback minutes before that). The recent volume is compared with
the mean 5-minute volume of the baseline, a minute without a bar counting as zero volume. A
surge (ratio >= 2) calls the direction of the recent price move: BULLISH when the last close is
above the open of the first recent bar, BEARISH when below; otherwise NEUTRAL, and NEUTRAL in
warm-up (fewer than 30 baseline bars). No traded volume in the lookback means no signal (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from plugins.base import BarsAdapter, SignalDirection, StandardSignal

RECENT_MINUTES = 5
SURGE_RATIO = 2.0
FULL_STRENGTH_RATIO = 4.0
WARM_UP_BASELINE_BARS = 30


@dataclass(frozen=True)
class VolumeReading:
    """Recent volume against the baseline's mean 5-minute volume, and the recent price move."""

    volume_ratio: float | None
    recent_volume: float
    baseline_volume_5m: float
    recent_change_pct: float | None
    recent_bars: int
    baseline_bars: int


def volume_reading(bars: pd.DataFrame, entry: pd.Timestamp, lookback_minutes: int) -> VolumeReading:
    """The reading of the lookback bars ``bars`` (sorted, all before ``entry``)."""
    is_recent = bars.bar_time >= entry - pd.Timedelta(minutes=RECENT_MINUTES)
    recent, baseline = bars[is_recent], bars[~is_recent]
    recent_volume = float(recent.volume.sum())
    baseline_volume_5m = (
        RECENT_MINUTES * float(baseline.volume.sum()) / (lookback_minutes - RECENT_MINUTES)
    )
    recent_change_pct = (
        100 * (recent.close.iloc[-1] - recent.open.iloc[0]) / recent.open.iloc[0]
        if len(recent)
        else None
    )
    return VolumeReading(
        volume_ratio=recent_volume / baseline_volume_5m if baseline_volume_5m > 0 else None,
        recent_volume=recent_volume,
        baseline_volume_5m=baseline_volume_5m,
        recent_change_pct=None if recent_change_pct is None else float(recent_change_pct),
        recent_bars=len(recent),
        baseline_bars=len(baseline),
    )


def volume_call(
    reading: VolumeReading, lookback_minutes: int
) -> tuple[SignalDirection, float, float]:
    """Direction, strength and confidence of a reading (rules in the module docstring)."""
    if reading.baseline_bars < WARM_UP_BASELINE_BARS:
        return SignalDirection.NEUTRAL, 0.0, 0.0
    ratio, change = reading.volume_ratio, reading.recent_change_pct
    direction = SignalDirection.NEUTRAL
    if ratio is not None and ratio >= SURGE_RATIO and change is not None and change != 0:
        direction = SignalDirection.BULLISH if change > 0 else SignalDirection.BEARISH
    strength = (
        0.0
        if direction == SignalDirection.NEUTRAL
        else min(100.0, 100 * math.log(ratio) / math.log(FULL_STRENGTH_RATIO))
    )
    coverage = min(1.0, reading.baseline_bars / (lookback_minutes - RECENT_MINUTES))
    confidence = 100 * coverage * reading.recent_bars / RECENT_MINUTES
    return direction, round(strength, 2), round(confidence, 2)


class RelativeVolumeAdapter(BarsAdapter):
    """Per-entry relative_volume, fed with the real bars strictly before the entry."""

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        lookback = self.get_data_requirements().lookback_minutes
        entry = pd.Timestamp(entry_time)
        bars = self.bars_before(entry_time)
        if bars.empty or float(bars.volume.sum()) <= 0:
            return None
        reading = volume_reading(bars, entry, lookback)
        direction, strength, confidence = volume_call(reading, lookback)
        return StandardSignal(
            name="relative_volume",
            timestamp=entry_time,
            direction=direction,
            strength=strength,
            confidence=confidence,
            metadata={
                "volume_ratio": reading.volume_ratio,
                "recent_volume": reading.recent_volume,
                "baseline_volume_5m": reading.baseline_volume_5m,
                "recent_change_pct": reading.recent_change_pct,
                "recent_bars": reading.recent_bars,
                "baseline_bars": reading.baseline_bars,
                "bars_used": len(bars),
            },
        )
