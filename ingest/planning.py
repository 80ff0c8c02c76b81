"""Window planning: which minutes of which symbols a set of requests needs.

A request needs its lookback (``entry - lookback <= t < entry``) and its stored window
(offsets -15..59). Windows of all requests are merged per symbol into disjoint ranges, so
overlapping requests are loaded once. For a fetching source the ranges are also cut at exchange
(New York) day boundaries and merged per symbol and day; bars are widened to whole days, since a
day of minute bars costs one call whatever part of it is asked for. Trades and quotes are needed
for the signal inputs only (the lookback before the entry). Everything is vectorised: one request
or a million go through the same frame operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from backtest.core.config import WINDOW_END_OFFSET, WINDOW_START_OFFSET
from backtest.core.errors import BacktestError

EXCHANGE_TZ = "America/New_York"
KINDS = ("bars", "trades", "quotes")


def parse_kinds(kinds: str | Iterable[str], flag: str | None = None) -> tuple[str, ...]:
    """Data kinds, from ``"bars,quotes"`` or a collection, in ``KINDS`` order; an unknown
    kind is one sentence (naming the command-line ``flag`` it came from, if any).

    >>> parse_kinds("quotes, bars")
    ('bars', 'quotes')
    """
    names = kinds.split(",") if isinstance(kinds, str) else kinds
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = ",".join(sorted(wanted - set(KINDS)))
    if unknown:
        problem = f"{flag} {unknown} is unknown" if flag else f"Unknown data kind '{unknown}'"
        raise BacktestError(f"{problem}: use bars, trades or quotes.")
    return tuple(kind for kind in KINDS if kind in wanted)


def _lookback(requests: pd.DataFrame) -> pd.Series:
    """The history to load before each entry: the request's lookback, or more when an enabled
    calculation declares a longer one (optional column ``data_lookback_minutes``)."""
    minutes = requests.historical_lookback_hours * 60
    if "data_lookback_minutes" in requests:
        minutes = minutes.clip(lower=requests.data_lookback_minutes)
    return pd.to_timedelta(minutes, unit="min").dt.floor("min")


def request_ranges(requests: pd.DataFrame) -> pd.DataFrame:
    """Per request: ``symbol, start_time, end_time`` (end exclusive), naive UTC."""
    lookback = _lookback(requests)
    before = lookback.clip(lower=pd.Timedelta(minutes=-WINDOW_START_OFFSET))
    return pd.DataFrame(
        {
            "symbol": requests.symbol,
            "start_time": requests.entry_time - before,
            "end_time": requests.entry_time + pd.Timedelta(minutes=WINDOW_END_OFFSET + 1),
        }
    )


def signal_ranges(requests: pd.DataFrame) -> pd.DataFrame:
    """Per request: the signal inputs' range ``[entry - lookback, entry)``, naive UTC."""
    lookback = _lookback(requests)
    return pd.DataFrame(
        {
            "symbol": requests.symbol,
            "start_time": requests.entry_time - lookback,
            "end_time": requests.entry_time,
        }
    )


def merge_ranges(ranges: pd.DataFrame, keys: Sequence[str] = ("symbol",)) -> pd.DataFrame:
    """Merge overlapping or touching ``[start_time, end_time)`` ranges per key.

    >>> hours = lambda *values: pd.to_datetime([f"2024-01-02 {value}" for value in values])
    >>> ranges = pd.DataFrame({"symbol": ["A", "A", "A"],
    ...     "start_time": hours("10:00", "10:30", "12:00"),
    ...     "end_time": hours("11:00", "11:30", "13:00")})
    >>> len(merge_ranges(ranges))
    2
    """
    keys = list(keys)
    if ranges.empty:
        return ranges[[*keys, "start_time", "end_time"]].reset_index(drop=True)
    ordered = ranges.sort_values([*keys, "start_time"]).reset_index(drop=True)
    reach = ordered.groupby(keys).end_time.cummax()
    previous_reach = reach.groupby([ordered[key] for key in keys]).shift()
    starts_new = previous_reach.isna() | (ordered.start_time > previous_reach)
    group = starts_new.cumsum()
    merged = ordered.groupby(group).agg(
        **{key: (key, "first") for key in keys},
        start_time=("start_time", "min"),
        end_time=("end_time", "max"),
    )
    return merged.reset_index(drop=True)


def plan_windows(requests: pd.DataFrame) -> pd.DataFrame:
    """The disjoint per-symbol ranges to load for a set of requests."""
    return merge_ranges(request_ranges(requests))


def _local_midnight(times: pd.Series) -> pd.Series:
    """The New York midnight starting the exchange day of each naive-UTC time, naive local."""
    local = times.dt.tz_localize("UTC").dt.tz_convert(EXCHANGE_TZ)
    return local.dt.normalize().dt.tz_localize(None)


def _utc_of_local(midnights: pd.Series) -> pd.Series:
    return midnights.dt.tz_localize(EXCHANGE_TZ).dt.tz_convert("UTC").dt.tz_localize(None)


def split_by_day(ranges: pd.DataFrame) -> pd.DataFrame:
    """Cut ranges at New York midnights; adds ``day`` (the local date) and the day's UTC bounds.

    >>> ranges = pd.DataFrame({"symbol": ["A"], "start_time": [pd.Timestamp("2024-01-02 20:00")],
    ...                        "end_time": [pd.Timestamp("2024-01-03 06:00")]})
    >>> split_by_day(ranges)[["start_time", "end_time"]].astype(str).values.tolist()
    [['2024-01-02 20:00:00', '2024-01-03 05:00:00'], ['2024-01-03 05:00:00', '2024-01-03 06:00:00']]
    """
    first = _local_midnight(ranges.start_time)
    last = _local_midnight(ranges.end_time - pd.Timedelta(microseconds=1))
    days = ((last - first).dt.days + 1).clip(lower=1).to_numpy()
    pieces = ranges.loc[ranges.index.repeat(days)].reset_index(drop=True)
    offset = np.arange(days.sum()) - np.repeat(np.cumsum(days) - days, days)
    local_day = first.loc[ranges.index.repeat(days)].reset_index(drop=True) + pd.to_timedelta(
        offset, unit="D"
    )
    pieces["day"] = local_day.dt.date
    pieces["day_start"] = _utc_of_local(local_day)
    pieces["day_end"] = _utc_of_local(local_day + pd.Timedelta(days=1))
    pieces["start_time"] = pieces[["start_time", "day_start"]].max(axis=1)
    pieces["end_time"] = pieces[["end_time", "day_end"]].min(axis=1)
    return pieces[pieces.start_time < pieces.end_time].reset_index(drop=True)


def whole_days(ranges: pd.DataFrame) -> pd.DataFrame:
    """The New York days ``ranges`` touch, whole and once per symbol: ``symbol, day, start_time,
    end_time`` (the day's UTC bounds, end exclusive).

    >>> ranges = pd.DataFrame({"symbol": ["A", "A"],
    ...     "start_time": pd.to_datetime(["2024-01-02 15:00", "2024-01-02 16:00"]),
    ...     "end_time": pd.to_datetime(["2024-01-02 15:30", "2024-01-02 16:30"])})
    >>> whole_days(ranges)[["start_time", "end_time"]].astype(str).values.tolist()
    [['2024-01-02 05:00:00', '2024-01-03 05:00:00']]
    """
    days = split_by_day(ranges)
    whole = days.assign(start_time=days.day_start, end_time=days.day_end)
    return whole.drop_duplicates(["symbol", "day"])[["symbol", "day", "start_time", "end_time"]]


def _frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = ["kind", "symbol", "day", "start_time", "end_time"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns].reset_index(drop=True)


def before(ranges: pd.DataFrame, now: pd.Timestamp | None) -> pd.DataFrame:
    """``ranges`` cut at ``now`` (nothing at or after it; None: uncut), empty ones dropped.

    >>> ranges = pd.DataFrame({"symbol": ["A", "A"],
    ...     "start_time": pd.to_datetime(["2024-01-02 14:00", "2024-01-02 16:00"]),
    ...     "end_time": pd.to_datetime(["2024-01-02 15:00", "2024-01-02 17:00"])})
    >>> before(ranges, pd.Timestamp("2024-01-02 14:30")).end_time.astype(str).tolist()
    ['2024-01-02 14:30:00']
    """
    if now is None:
        return ranges
    cut = ranges.assign(end_time=ranges.end_time.clip(upper=now))
    return cut[cut.start_time < cut.end_time].reset_index(drop=True)


def inside(rows: pd.DataFrame, time_column: str, ranges: pd.DataFrame) -> pd.DataFrame:
    """The ``rows`` whose ``symbol`` and ``time_column`` fall inside one of ``ranges``
    (``symbol, start_time, end_time``, end exclusive, disjoint per symbol).

    >>> rows = pd.DataFrame({"symbol": ["A", "A", "B"], "bar_time": pd.to_datetime(
    ...     ["2024-01-02 14:00", "2024-01-02 15:00", "2024-01-02 14:00"])})
    >>> ranges = pd.DataFrame({"symbol": ["A"], "start_time": [pd.Timestamp("2024-01-02 13:00")],
    ...                        "end_time": [pd.Timestamp("2024-01-02 15:00")]})
    >>> inside(rows, "bar_time", ranges).bar_time.astype(str).tolist()
    ['2024-01-02 14:00:00']
    """
    if rows.empty or ranges.empty:
        return rows.iloc[:0]
    times = rows[time_column].astype("datetime64[ns]")
    starts = ranges[["symbol", "start_time", "end_time"]].astype(
        {"start_time": "datetime64[ns]", "end_time": "datetime64[ns]"}
    )
    keyed = pd.DataFrame(
        {"symbol": rows.symbol.astype(str), "moment": times, "row": range(len(rows))}
    )
    found = pd.merge_asof(
        keyed.sort_values("moment"),
        starts.assign(symbol=starts.symbol.astype(str)).sort_values("start_time"),
        left_on="moment",
        right_on="start_time",
        by="symbol",
    )
    kept = found[found.moment < found.end_time].row.sort_values()
    return rows.iloc[kept.to_numpy()].reset_index(drop=True)


def needed_ranges(
    requests: pd.DataFrame, kinds: Sequence[str] = ("bars",), now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """What a fetching source must hold: ``kind, symbol, day, start_time, end_time`` per range.

    Bars: every New York day the requests' windows touch, whole. Trades and quotes: the signal
    inputs' ranges merged per symbol and day. A ``now`` (a live run's present) cuts every range
    there: what lies at or after it does not exist yet.
    """
    frames = []
    for kind in kinds:
        if kind == "bars":
            frames.append(whole_days(request_ranges(requests)).assign(kind=kind))
        else:
            days = split_by_day(signal_ranges(requests))
            merged = merge_ranges(days, keys=("symbol", "day"))
            frames.append(merged.assign(kind=kind))
    return before(_frame(frames), now)


def needed_days(
    requests: pd.DataFrame, kinds: Sequence[str] = ("bars",), now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """What a source that makes whole sessions must hold: ``kind, symbol, day, start_time,
    end_time``, one whole New York day a row: the days the windows touch (bars) or the signal
    inputs touch (trades and quotes); a ``now`` cuts them there."""
    ranges = {"bars": request_ranges}
    days = [
        whole_days(ranges.get(kind, signal_ranges)(requests)).assign(kind=kind) for kind in kinds
    ]
    return before(_frame(days), now)


def chunk_ranges(ranges: pd.DataFrame, spans: dict[str, pd.Timedelta]) -> pd.DataFrame:
    """Merge touching ranges per kind and symbol, then cut them into pieces of at most a span.

    >>> ranges = pd.DataFrame({"kind": ["bars"] * 2, "symbol": ["A"] * 2,
    ...     "start_time": pd.to_datetime(["2024-01-02 05:00", "2024-01-03 05:00"]),
    ...     "end_time": pd.to_datetime(["2024-01-03 05:00", "2024-01-04 05:00"])})
    >>> len(chunk_ranges(ranges, {"bars": pd.Timedelta(days=30)}))
    1
    """
    merged = merge_ranges(ranges, keys=("kind", "symbol"))
    span = merged.kind.map(spans)
    counts = np.ceil((merged.end_time - merged.start_time) / span).astype(int).clip(lower=1)
    counts = counts.to_numpy()
    chunks = merged.loc[merged.index.repeat(counts)].reset_index(drop=True)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    chunk_span = chunks.kind.map(spans)
    chunks["start_time"] = chunks.start_time + chunk_span * step
    chunks["end_time"] = pd.concat([chunks.start_time + chunk_span, chunks.end_time], axis=1).min(
        axis=1
    )
    return chunks[["kind", "symbol", "start_time", "end_time"]]
