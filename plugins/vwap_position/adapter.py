"""The vwap_position calculation for one entry, in pandas (the dbt models do the same set-based).

Rules (see README.md): the session window runs from the anchor, the later of 09:30
America/New_York on the entry's New York date and the lookback start, to the entry. Over its real
bars, VWAP = sum(volume * typical) / sum(volume) with typical = (high + low + close) / 3, and
vwap_std is the volume-weighted standard deviation of typical around VWAP. The last close before
the entry is measured in those standard deviations: BULLISH above VWAP + 1 sigma, BEARISH below
VWAP - 1 sigma, NEUTRAL inside; NEUTRAL in warm-up (fewer than 5 session bars). No traded volume in
the session window means no signal (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import numpy as np
import pandas as pd

from plugins.base import BarsAdapter, SignalDirection, StandardSignal

EXCHANGE_TZ = "America/New_York"
REGULAR_OPEN = time(9, 30)
BAND_SIGMA = 1.0
FULL_STRENGTH_SIGMA = 3.0
WARM_UP_BARS = 5
MATURE_BARS = 30
FLAT_TOLERANCE = 1e-9


def naive_utc(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    """A timestamp as naive UTC (naive input is UTC already).

    >>> str(naive_utc(pd.Timestamp("2024-06-27 09:35", tz="America/New_York")))
    '2024-06-27 13:35:00'
    """
    stamp = pd.Timestamp(moment)
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


def regular_open_time(entry_time: pd.Timestamp) -> pd.Timestamp:
    """09:30 New York on the entry's New York date, as naive UTC (DST-aware).

    >>> str(regular_open_time(pd.Timestamp("2024-01-10 15:00")))
    '2024-01-10 14:30:00'
    >>> str(regular_open_time(pd.Timestamp("2024-06-27 15:00")))
    '2024-06-27 13:30:00'
    """
    local_date = entry_time.tz_localize("UTC").tz_convert(EXCHANGE_TZ).date()
    local_open = pd.Timestamp(datetime.combine(local_date, REGULAR_OPEN)).tz_localize(EXCHANGE_TZ)
    return local_open.tz_convert("UTC").tz_localize(None)


def session_anchor_time(entry_time: pd.Timestamp, lookback_minutes: int) -> pd.Timestamp:
    """The later of the regular open and the lookback start: where the session VWAP begins."""
    return max(regular_open_time(entry_time), entry_time - pd.Timedelta(minutes=lookback_minutes))


@dataclass(frozen=True)
class VwapReading:
    """The session VWAP and where the last close stands against it."""

    vwap: float
    vwap_std: float
    last_close: float
    distance_pct: float
    distance_sigma: float | None
    session_bars: int
    session_volume: float


def vwap_reading(session: pd.DataFrame) -> VwapReading | None:
    """VWAP, its volume-weighted deviation and the last close's distance; None without volume."""
    volume = session.volume.astype(float)
    session_volume = float(volume.sum())
    if session.empty or session_volume <= 0:
        return None
    typical = (session.high + session.low + session.close) / 3
    vwap = float((volume * typical).sum() / session_volume)
    vwap_std = float(np.sqrt((volume * (typical - vwap) ** 2).sum() / session_volume))
    last_close = float(session.close.iloc[-1])
    return VwapReading(
        vwap=vwap,
        vwap_std=vwap_std,
        last_close=last_close,
        distance_pct=100 * (last_close - vwap) / vwap,
        distance_sigma=(
            (last_close - vwap) / vwap_std if vwap_std > FLAT_TOLERANCE * abs(vwap) else None
        ),
        session_bars=len(session),
        session_volume=session_volume,
    )


def vwap_call(reading: VwapReading, session_minutes: float) -> tuple[SignalDirection, float, float]:
    """Direction, strength and confidence of a reading (rules in the module docstring)."""
    if reading.session_bars < WARM_UP_BARS:
        return SignalDirection.NEUTRAL, 0.0, 0.0
    sigma = reading.distance_sigma
    if sigma is not None and sigma > BAND_SIGMA:
        direction = SignalDirection.BULLISH
    elif sigma is not None and sigma < -BAND_SIGMA:
        direction = SignalDirection.BEARISH
    else:
        direction = SignalDirection.NEUTRAL
    strength = (
        0.0
        if direction == SignalDirection.NEUTRAL
        else min(100.0, 100 * (abs(sigma) - BAND_SIGMA) / (FULL_STRENGTH_SIGMA - BAND_SIGMA))
    )
    coverage = min(1.0, reading.session_bars / session_minutes)
    maturity = min(1.0, reading.session_bars / MATURE_BARS)
    return direction, round(strength, 2), round(100 * coverage * maturity, 2)


class VwapPositionAdapter(BarsAdapter):
    """Per-entry vwap_position, fed with the real bars strictly before the entry."""

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        entry = naive_utc(entry_time)
        lookback = self.get_data_requirements().lookback_minutes
        anchor = session_anchor_time(entry, lookback)
        session = self.bars[(self.bars.bar_time >= anchor) & (self.bars.bar_time < entry)]
        reading = vwap_reading(session)
        if reading is None:
            return None
        session_minutes = (entry - anchor) / pd.Timedelta(minutes=1)
        direction, strength, confidence = vwap_call(reading, session_minutes)
        return StandardSignal(
            name="vwap_position",
            timestamp=entry_time,
            direction=direction,
            strength=strength,
            confidence=confidence,
            metadata={
                "vwap": reading.vwap,
                "vwap_std": reading.vwap_std,
                "last_close": reading.last_close,
                "distance_pct": reading.distance_pct,
                "distance_sigma": reading.distance_sigma,
                "session_anchor_time": anchor.isoformat(sep=" "),
                "session_bars": reading.session_bars,
                "session_volume": reading.session_volume,
            },
        )
