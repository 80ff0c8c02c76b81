"""The rsi_14 calculation for one entry, in pandas (the dbt models do the same set-based).

Rules (see README.md): close-to-close changes of the real lookback bars; gains and losses are
smoothed with Wilder's method, period 14, seeded with the simple mean of the first 14 changes;
RSI = 100 * average_gain / (average_gain + average_loss), 50 when both are 0. BEARISH above 70
(overbought), BULLISH below 30 (oversold), NEUTRAL between and in warm-up (fewer than 15 bars).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from plugins.base import BarsAdapter, SignalDirection, StandardSignal

PERIOD = 14
WARM_UP_BARS = PERIOD + 1
OVERBOUGHT, OVERSOLD = 70.0, 30.0
FULL_STRENGTH_BEYOND = 20.0


def wilder_average(values: pd.Series, period: int = PERIOD) -> float:
    """Wilder's smoothing at the last value, seeded with the mean of the first ``period`` values.

    After the seed, ``avg_k = avg_{k-1} + (x_k - avg_{k-1}) / period``: an ``ewm(alpha=1/period,
    adjust=False)`` started from the seed.

    >>> wilder_average(pd.Series([1.0] * 14 + [15.0]))
    2.0
    """
    seed = values.iloc[:period].mean()
    seeded = pd.concat([pd.Series([seed]), values.iloc[period:]], ignore_index=True)
    return float(seeded.ewm(alpha=1 / period, adjust=False).mean().iloc[-1])


@dataclass(frozen=True)
class RsiReading:
    """RSI(14) and its smoothed gains and losses at the last bar."""

    rsi: float
    average_gain: float
    average_loss: float


def rsi_reading(closes: pd.Series) -> RsiReading | None:
    """RSI(14) of a series of closes; None under 15 closes (warm-up)."""
    if len(closes) < WARM_UP_BARS:
        return None
    changes = closes.astype(float).diff().iloc[1:]
    average_gain = wilder_average(changes.clip(lower=0))
    average_loss = wilder_average((-changes).clip(lower=0))
    total = average_gain + average_loss
    rsi = 50.0 if total == 0 else 100 * average_gain / total
    return RsiReading(rsi=rsi, average_gain=average_gain, average_loss=average_loss)


def rsi_call(
    reading: RsiReading | None, bars_used: int, lookback_minutes: int
) -> tuple[SignalDirection, float, float]:
    """Direction, strength and confidence of a reading (rules in the module docstring)."""
    if reading is None:
        return SignalDirection.NEUTRAL, 0.0, 0.0
    if reading.rsi > OVERBOUGHT:
        direction = SignalDirection.BEARISH
        strength = min(100.0, 100 * (reading.rsi - OVERBOUGHT) / FULL_STRENGTH_BEYOND)
    elif reading.rsi < OVERSOLD:
        direction = SignalDirection.BULLISH
        strength = min(100.0, 100 * (OVERSOLD - reading.rsi) / FULL_STRENGTH_BEYOND)
    else:
        direction, strength = SignalDirection.NEUTRAL, 0.0
    coverage = min(1.0, bars_used / lookback_minutes)
    settled = 1 - (1 - 1 / PERIOD) ** (bars_used - WARM_UP_BARS)
    return direction, round(strength, 2), round(100 * coverage * settled, 2)


class Rsi14Adapter(BarsAdapter):
    """Per-entry rsi_14, fed with the real bars strictly before the entry."""

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        lookback = self.get_data_requirements().lookback_minutes
        bars = self.bars_before(entry_time)
        if bars.empty:
            return None
        reading = rsi_reading(bars.close)
        direction, strength, confidence = rsi_call(reading, len(bars), lookback)
        return StandardSignal(
            name="rsi_14",
            timestamp=entry_time,
            direction=direction,
            strength=strength,
            confidence=confidence,
            metadata={
                "rsi": reading.rsi if reading else None,
                "average_gain": reading.average_gain if reading else None,
                "average_loss": reading.average_loss if reading else None,
                "last_close": float(bars.close.iloc[-1]),
                "bars_used": len(bars),
            },
        )
