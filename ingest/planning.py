"""Window planning: which minutes of which symbols a set of requests needs.

A request needs its lookback (``entry - lookback <= t < entry``) and its stored window
(offsets -15..59). Windows of all requests are merged per symbol into disjoint ranges, so
overlapping requests are loaded once.
"""

from __future__ import annotations

import pandas as pd

from backtest.config import WINDOW_END_OFFSET, WINDOW_START_OFFSET


def request_ranges(requests: pd.DataFrame) -> pd.DataFrame:
    """Per request: ``symbol, start_time, end_time`` (end exclusive), naive UTC."""
    lookback = pd.to_timedelta(requests.historical_lookback_hours * 60, unit="min").dt.floor("min")
    before = lookback.clip(lower=pd.Timedelta(minutes=-WINDOW_START_OFFSET))
    return pd.DataFrame(
        {
            "symbol": requests.symbol,
            "start_time": requests.entry_time - before,
            "end_time": requests.entry_time + pd.Timedelta(minutes=WINDOW_END_OFFSET + 1),
        }
    )


def merge_ranges(ranges: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping or touching ``[start_time, end_time)`` ranges per symbol.

    >>> ranges = pd.DataFrame({"symbol": ["A", "A", "A"],
    ...     "start_time": pd.to_datetime(["2024-01-02 10:00", "2024-01-02 10:30", "2024-01-02 12:00"]),
    ...     "end_time": pd.to_datetime(["2024-01-02 11:00", "2024-01-02 11:30", "2024-01-02 13:00"])})
    >>> len(merge_ranges(ranges))
    2
    """
    ordered = ranges.sort_values(["symbol", "start_time"]).reset_index(drop=True)
    reach = ordered.groupby("symbol").end_time.cummax()
    previous_reach = reach.groupby(ordered.symbol).shift()
    starts_new = previous_reach.isna() | (ordered.start_time > previous_reach)
    group = starts_new.cumsum()
    merged = ordered.groupby(group).agg(
        symbol=("symbol", "first"), start_time=("start_time", "min"), end_time=("end_time", "max")
    )
    return merged.reset_index(drop=True)


def plan_windows(requests: pd.DataFrame) -> pd.DataFrame:
    """The disjoint per-symbol ranges to load for a set of requests."""
    return merge_ranges(request_ranges(requests))
