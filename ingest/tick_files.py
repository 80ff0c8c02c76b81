"""Trade and quote files for the files source (``--trades PATH``, ``--quotes PATH``).

Layouts (CSV or Parquet, optionally gzipped; column names case-insensitive):

* trades: ``symbol,timestamp,price,size``
* quotes: ``symbol,timestamp,bid_price,bid_size,ask_price,ask_size``

``timestamp`` is ISO-8601 (naive = UTC, offsets converted) or integer Unix nanoseconds, UTC.
Each file replaces the stored ticks of its symbols over the time span it covers, so loading the
same file again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from backtest.core.errors import BacktestError
from ingest.files import read_frame

VALUE_COLUMNS = {
    "trades": ["price", "size"],
    "quotes": ["bid_price", "bid_size", "ask_price", "ask_size"],
}


def _sip_time(stamps: pd.Series) -> pd.Series:
    """ISO-8601 text (naive = UTC) or integer Unix nanoseconds, even mixed, to naive UTC ns."""
    if pd.api.types.is_numeric_dtype(stamps):
        return pd.to_datetime(stamps, unit="ns", errors="coerce")
    text = stamps.astype("string").str.strip()
    is_epoch = text.str.fullmatch(r"\d{12,}").fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(~is_epoch), utc=True, errors="coerce", format="ISO8601")
    parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    epochs = pd.to_datetime(text[is_epoch].astype("int64"), unit="ns")
    return parsed.where(~is_epoch, epochs.reindex(parsed.index))


def read_tick_file(kind: str, path: str | Path) -> pd.DataFrame:
    """One trades or quotes file as ``symbol, sip_time`` plus the kind's value columns."""
    frame = read_frame(path)
    wanted = ["symbol", "timestamp", *VALUE_COLUMNS[kind]]
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise BacktestError(
            f"{kind.capitalize()} file {path} lacks the column(s) {', '.join(missing)}: "
            f"write the header {','.join(wanted)}."
        )
    ticks = frame[wanted].rename(columns={"timestamp": "sip_time"})
    ticks["sip_time"] = _sip_time(ticks.sip_time).astype("datetime64[ns]")
    ticks["symbol"] = ticks.symbol.astype("string").str.strip().str.upper()
    for column in VALUE_COLUMNS[kind]:
        ticks[column] = pd.to_numeric(ticks[column], errors="coerce")
    unreadable = ticks.isna().any(axis=1)
    if unreadable.any():
        row = int(unreadable.to_numpy().nonzero()[0][0]) + 2
        raise BacktestError(
            f"{kind.capitalize()} file {path} has an unreadable value on line {row}: "
            "fix or remove that line (timestamps ISO-8601 or Unix nanoseconds)."
        )
    return ticks


def read_tick_files(kind: str, paths: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All files of one kind, and the per-symbol ``start_time, end_time`` spans they cover."""
    ticks = pd.concat([read_tick_file(kind, path) for path in paths], ignore_index=True)
    spans = ticks.groupby("symbol", as_index=False).agg(
        start_time=("sip_time", "min"), end_time=("sip_time", "max")
    )
    spans["end_time"] = spans.end_time + pd.Timedelta(microseconds=1)
    return ticks, spans
