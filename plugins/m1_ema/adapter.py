"""The m1_ema calculation for one entry, in pandas (the dbt models do the same set-based).

Rules (see README.md): EMA 9 and EMA 21 of close over the lookback bars, seeded with the first
close (``ewm(span, adjust=False)``); BULLISH if ema_9 > ema_21, BEARISH if below, NEUTRAL if
equal (within 1e-9 relative) or fewer than 21 bars.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from plugins.base import BarsAdapter, SignalDirection, StandardSignal

FAST_SPAN, SLOW_SPAN = 9, 21
FULL_STRENGTH_SPREAD_PCT = 0.20
PERSISTENCE_MINUTES = 30
EQUALITY_TOLERANCE = 1e-9


def ema_readings(closes: pd.Series, bar_times: pd.Series) -> pd.DataFrame:
    """ema_9, ema_21 and the sign of their spread at every bar."""
    fast = closes.ewm(span=FAST_SPAN, adjust=False).mean()
    slow = closes.ewm(span=SLOW_SPAN, adjust=False).mean()
    spread = fast - slow
    sign = np.where(spread.abs() <= EQUALITY_TOLERANCE * slow.abs(), 0, np.sign(spread))
    return pd.DataFrame(
        {
            "bar_time": bar_times.to_numpy(),
            "ema_9": fast.to_numpy(),
            "ema_21": slow.to_numpy(),
            "sign": sign,
        }
    )


class M1EmaAdapter(BarsAdapter):
    """Per-entry m1_ema, fed with the real bars strictly before the entry."""

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        bars = self.bars_before(entry_time)
        lookback = self.get_data_requirements().lookback_minutes
        if bars.empty:
            return None
        readings = ema_readings(bars.close.astype(float), bars.bar_time)
        last = readings.iloc[-1]
        crossed = readings.bar_time[(readings.sign * readings.sign.shift()) < 0]
        minutes_since = (
            int((pd.Timestamp(entry_time) - crossed.iloc[-1]) / pd.Timedelta(minutes=1))
            if len(crossed)
            else None
        )
        spread = last.ema_9 - last.ema_21
        spread_pct = 100 * spread / last.ema_21
        bars_used = len(bars)
        if bars_used < SLOW_SPAN:
            direction, strength, confidence = SignalDirection.NEUTRAL, 0.0, 0.0
        else:
            direction = {1: SignalDirection.BULLISH, -1: SignalDirection.BEARISH}.get(
                int(last.sign), SignalDirection.NEUTRAL
            )
            strength = round(min(100.0, 100 * abs(spread_pct) / FULL_STRENGTH_SPREAD_PCT), 2)
            persistence = min(
                1.0,
                (minutes_since if minutes_since is not None else PERSISTENCE_MINUTES)
                / PERSISTENCE_MINUTES,
            )
            confidence = round(100 * min(1.0, bars_used / lookback) * persistence, 2)
        return StandardSignal(
            name="m1_ema",
            timestamp=entry_time,
            direction=direction,
            strength=strength,
            confidence=confidence,
            metadata={
                "ema_9": float(last.ema_9),
                "ema_21": float(last.ema_21),
                "ema_spread": float(spread),
                "ema_spread_pct": float(spread_pct),
                "minutes_since_crossover": minutes_since,
                "bars_used": bars_used,
            },
        )
