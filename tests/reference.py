"""Independent pandas recomputation of the contract in ARCHITECTURE.md, for comparison tests.

Written from the definitions, not from the SQL: reindex to a minute grid and forward-fill for
the stored window; plain max/min/idxmax for excursions; ``ewm(span, adjust=False)`` for EMAs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.core.config import HORIZONS, WINDOW_END_OFFSET, WINDOW_START_OFFSET

MINUTE = pd.Timedelta(minutes=1)
BEFORE = -WINDOW_START_OFFSET


def expected_window(
    bars: pd.DataFrame, entry_time: pd.Timestamp, lookback_minutes: int
) -> pd.DataFrame:
    """The 75 stored bars (offsets -15..59) of one request; ``bars`` holds one symbol."""
    horizon = entry_time - max(lookback_minutes, BEFORE) * MINUTE
    minutes = pd.date_range(horizon, entry_time + WINDOW_END_OFFSET * MINUTE, freq="min")
    real = bars.set_index("bar_time")[["open", "high", "low", "close", "volume"]]
    grid = real.reindex(minutes)
    is_filled = grid.close.isna()
    carried = grid.close.ffill()
    for column in ["open", "high", "low", "close"]:
        grid[column] = grid[column].where(~is_filled, carried)
    grid["volume"] = grid.volume.fillna(0.0)
    grid["is_filled"] = is_filled
    window = grid.loc[entry_time - BEFORE * MINUTE :].copy()
    window["bar_offset"] = ((window.index - entry_time) / MINUTE).astype(int)
    return window.rename_axis("bar_time").reset_index()


def expected_forward(window: pd.DataFrame, direction: str, forward_bars: int = 60) -> dict:
    """Entry, exit, pnl, excursions and returns exactly as the contract defines them."""
    sign = 1 if direction == "LONG" else -1
    ahead = window[(window.bar_offset >= 0) & (window.bar_offset < forward_bars)]
    ahead = ahead.set_index("bar_offset")
    entry = ahead.open.loc[0]
    exit_ = ahead.close.iloc[-1]
    high_at, low_at = ahead.high.idxmax(), ahead.low.idxmin()  # first occurrence
    favourable = ahead.high.max() - entry if sign == 1 else entry - ahead.low.min()
    adverse = entry - ahead.low.min() if sign == 1 else ahead.high.max() - entry
    closes = window.set_index("bar_offset").close
    returns = {
        f"return_{minutes}m": sign * 100 * (closes.loc[minutes - 1] - entry) / entry
        for minutes in HORIZONS
    }
    return {
        "entry_price": entry,
        "exit_price": exit_,
        "pnl": sign * (exit_ - entry),
        "pnl_pct": sign * 100 * (exit_ - entry) / entry,
        "max_favorable_excursion": favourable,
        "max_favorable_excursion_pct": 100 * favourable / entry,
        "max_adverse_excursion": adverse,
        "max_adverse_excursion_pct": 100 * adverse / entry,
        "bars_to_mfe": high_at if sign == 1 else low_at,
        "bars_to_mae": low_at if sign == 1 else high_at,
        **returns,
    }


def expected_emas(bars: pd.DataFrame, entry_time: pd.Timestamp, lookback_minutes: int) -> dict:
    """EMA 9/21 over the real bars in [entry - lookback, entry) and the resulting call."""
    seen = bars[
        (bars.bar_time >= entry_time - lookback_minutes * MINUTE) & (bars.bar_time < entry_time)
    ]
    if seen.empty:
        return {"bars_used": 0}
    closes = seen.sort_values("bar_time").close
    ema_9 = closes.ewm(span=9, adjust=False).mean().iloc[-1]
    ema_21 = closes.ewm(span=21, adjust=False).mean().iloc[-1]
    if len(closes) < 21 or np.isclose(ema_9, ema_21, rtol=1e-9, atol=0):
        direction = "NEUTRAL"
    else:
        direction = "BULLISH" if ema_9 > ema_21 else "BEARISH"
    return {"bars_used": len(closes), "ema_9": ema_9, "ema_21": ema_21, "direction": direction}


def expected_status(window: pd.DataFrame, forward_bars: int = 60) -> str:
    ahead = window[(window.bar_offset >= 0) & (window.bar_offset < forward_bars)]
    if ahead.is_filled.all():
        return "no_data"
    return "complete" if not window.is_filled.any() else "partial"
