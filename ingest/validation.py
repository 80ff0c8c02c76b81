"""Bar validation: split incoming bars into loadable rows and rejects with a reason each.

Checks are vectorised over the whole batch. A row's reason is its first failing check in the
order below; every row of a duplicated (symbol, minute) is rejected, since neither can be
preferred.
"""

from __future__ import annotations

import pandas as pd

PRICES = ["open", "high", "low", "close"]


def _checks(bars: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    missing = bars[["symbol", "bar_time", *PRICES, "volume"]].isna().any(axis=1)
    return [
        ("missing or unreadable value", missing),
        ("timestamp not minute-aligned", bars.bar_time != bars.bar_time.dt.floor("min")),
        ("non-positive price", (bars[PRICES] <= 0).any(axis=1)),
        ("high < low", bars.high < bars.low),
        ("open outside [low, high]", (bars.open < bars.low) | (bars.open > bars.high)),
        ("close outside [low, high]", (bars.close < bars.low) | (bars.close > bars.high)),
        ("negative volume", bars.volume < 0),
        ("duplicate minute for symbol", bars.duplicated(["symbol", "bar_time"], keep=False)),
    ]


def split_valid(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(valid, rejects)``; rejects carry a ``reason`` column.

    >>> bars = pd.DataFrame({"symbol": ["A", "A"], "open": [1.0, 1.0], "high": [1.0, 0.5],
    ...     "low": [1.0, 0.9], "close": [1.0, 1.0], "volume": [5.0, 5.0],
    ...     "bar_time": pd.to_datetime(["2024-01-02 14:30", "2024-01-02 14:31"])})
    >>> valid, rejects = split_valid(bars)
    >>> len(valid), rejects.reason.tolist()
    (1, ['high < low'])
    """
    reason = pd.Series(pd.NA, index=bars.index, dtype="string")
    for name, failed in _checks(bars):
        reason = reason.mask(reason.isna() & failed.fillna(True).astype(bool), name)
    rejected = reason.notna()
    return bars[~rejected].copy(), bars[rejected].assign(reason=reason[rejected])
