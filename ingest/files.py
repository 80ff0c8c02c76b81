"""Bar files: CSV or Parquet (optionally gzipped) in the generic or the Polygon flat-file layout.

Generic:   ``symbol,timestamp,open,high,low,close,volume``, ISO-8601 stamps (naive = UTC).
Flat file: ``ticker,volume,open,close,high,low,window_start,transactions``, window_start in
           Unix nanoseconds, UTC (Polygon's ``us_stocks_sip/minute_aggs_v1`` files).
The layout is detected from the header. Stamps become naive UTC; rows whose stamp cannot be
read are kept with a missing ``bar_time`` so validation rejects them with a reason.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backtest.errors import BacktestError

BAR_COLUMNS = ["symbol", "bar_time", "open", "high", "low", "close", "volume"]
GENERIC_LAYOUT = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
FLATFILE_LAYOUT = ["ticker", "volume", "open", "close", "high", "low", "window_start"]


def _read_table(path: Path) -> pd.DataFrame:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if ".parquet" in suffixes:
        if suffixes[-1] == ".gz":
            with gzip.open(path) as handle:
                return pq.read_table(pa.BufferReader(handle.read())).to_pandas()
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"symbol": "string", "ticker": "string", "timestamp": "string"})


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a bar file as it is, with lower-case column names, or explain why it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(f"Bar file {path} does not exist: check the path given to --bars.")
    try:
        frame = _read_table(path)
    except Exception as error:  # pandas/pyarrow raise many types for a corrupt file
        raise BacktestError(
            f"Bar file {path} cannot be read as CSV or Parquet ({type(error).__name__}): "
            "check that it is a bar file and not truncated."
        ) from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame


def _utc_naive(stamps: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(stamps):
        stamps = stamps if stamps.dt.tz is not None else stamps.dt.tz_localize("UTC")
        return stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    text = stamps.astype("string").str.strip()
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def normalise(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Map a generic or flat-file frame onto ``symbol, bar_time, open, high, low, close, volume``."""
    columns = set(frame.columns)
    if set(GENERIC_LAYOUT) <= columns:
        bars = frame.assign(bar_time=_utc_naive(frame["timestamp"]))
    elif set(FLATFILE_LAYOUT) <= columns:
        nanoseconds = pd.to_numeric(frame["window_start"], errors="coerce")
        bars = frame.rename(columns={"ticker": "symbol"}).assign(
            bar_time=pd.to_datetime(nanoseconds, unit="ns", errors="coerce")
        )
    else:
        raise BacktestError(
            f"Bar file {origin} has columns {','.join(frame.columns)}, which match no known layout: "
            f"use {','.join(GENERIC_LAYOUT)} or the Polygon flat-file header "
            "ticker,volume,open,close,high,low,window_start,transactions."
        )
    bars = bars[BAR_COLUMNS].copy()
    bars["symbol"] = bars.symbol.astype("string").str.strip().str.upper()
    for column in ["open", "high", "low", "close", "volume"]:
        bars[column] = pd.to_numeric(bars[column], errors="coerce").astype("float64")
    return bars


def read_bar_files(paths: list[str | Path]) -> pd.DataFrame:
    """All given files as one normalised frame with an ``origin`` column naming the file."""
    if not paths:
        raise BacktestError("--source files needs at least one --bars PATH (CSV or Parquet).")
    frames = [normalise(read_frame(path), str(path)).assign(origin=str(path)) for path in paths]
    return pd.concat(frames, ignore_index=True)
