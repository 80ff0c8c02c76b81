"""The data sources a run can use, behind one entry point: ``ingest_batch``.

``demo`` makes synthetic whole days, ``files`` reads the user's bar files whole (the files are the
user's chosen cache, so nothing in them is dropped), and ``polygon`` fetches from Polygon through
the shared cache (only what the warehouse lacks). Bars are always loaded; trades and quotes only
when asked for through ``SourceOptions.kinds`` (Polygon's real ones, or the demo's synthetic ones;
bar files have none).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from backtest.errors import BacktestError
from backtest.warehouse import connect, upsert_requests
from ingest import demo, files
from ingest.files import FileOptions
from ingest.load import LoadReport, load_bars, replace_ticks
from ingest.planning import KINDS, merge_ranges, plan_windows, signal_ranges, split_by_day
from ingest.polygon import PolygonOptions, ingest_polygon, resolve_api_key
from ingest.tick_files import read_tick_files

SOURCES = ("demo", "files", "polygon")
BATCH_SOURCES = ("demo", "files")


@dataclass(frozen=True)
class SourceOptions:
    """Per-source settings of one ingest.

    Attributes:
        files: how to read ``--bars`` files.
        polygon: how to reach and call Polygon (key, base URL, adjusted or raw, chunks, retries).
        kinds: the data to load: ``bars`` always, ``trades`` and ``quotes`` when a calculation
            needs them.
    """

    files: FileOptions = field(default_factory=FileOptions)
    polygon: PolygonOptions = field(default_factory=PolygonOptions)
    kinds: frozenset[str] = frozenset({"bars"})
    tick_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For the files source: ``{"trades": paths, "quotes": paths}`` (see ingest.tick_files)."""


@dataclass(frozen=True)
class IngestReport(LoadReport):
    """What one ingest did: the bar load counts plus the source's own figures."""

    data_source: str = ""
    trades: int = 0
    quotes: int = 0
    calls_made: int = 0
    calls_saved: int = 0
    chunks_fetched: int = 0
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, load: LoadReport, data_source: str, **extra) -> IngestReport:
        return cls(
            load.inserted,
            load.updated,
            load.unchanged,
            load.rejected,
            load.checked,
            load.batches,
            load.reasons,
            data_source,
            **extra,
        )

    def summary_lines(self) -> list[str]:
        """Short lines for the command line: what was loaded, fetched and validated."""
        lines = [
            f"Bars: {self.inserted:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected ({self.data_source})"
        ]
        if self.data_source.startswith("polygon"):
            lines.append(
                f"Polygon: {self.calls_made:,} API calls made for {self.chunks_fetched:,} ranges, "
                f"{self.calls_saved:,} saved by the cache; {self.trades:,} trades and "
                f"{self.quotes:,} quotes stored"
            )
        if self.batches:
            lines.append(self.validation_summary())
        return lines + list(self.notes)


def fetch_bars(
    source: str,
    windows: pd.DataFrame,
    bar_paths: Sequence[str | Path] = (),
    file_options: FileOptions | None = None,
) -> tuple[pd.DataFrame, str]:
    """Bars for the planned ``windows`` from a whole-batch source, and the label to store.

    The demo source makes whole synthetic days; the files source reads every given file whole.
    Polygon goes through the cache instead (``ingest_batch``).
    """
    if source == "demo":
        return demo.demo_bars(windows), demo.DATA_SOURCE
    if source == "files":
        return files.read_bar_files(list(bar_paths), file_options), "files"
    if source == "polygon":
        raise BacktestError("Source 'polygon' loads through the cache: use ingest_batch.")
    raise BacktestError(f"Unknown source '{source}': use one of {', '.join(SOURCES)}.")


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr)


def ingest_batch(
    db_path: Path,
    requests: pd.DataFrame,
    source: str,
    bar_paths: Sequence[str | Path] = (),
    options: SourceOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, IngestReport]:
    """Store ``requests`` and load the data they need from ``source`` into the warehouse.

    Demo and files load in one transaction with the requests. Polygon first checks the API key
    (before any work), stores the requests, then loads chunk by chunk, each in its own
    transaction, so what was fetched before a failure is kept.

    Returns:
        The requests with their ``data_source``, and what was loaded.
    """
    options = options or SourceOptions()
    if source not in SOURCES:
        raise BacktestError(f"Unknown source '{source}': use one of {', '.join(SOURCES)}.")
    unknown = sorted(set(options.kinds) - set(KINDS))
    if unknown:
        raise BacktestError(f"Unknown data kind '{','.join(unknown)}': use bars, trades or quotes.")
    kinds = tuple(kind for kind in KINDS if kind in options.kinds | {"bars"})
    if source == "polygon":
        resolve_api_key(options.polygon)
        label = options.polygon.data_source("bars")
        requests = requests.assign(data_source=label)
        with connect(db_path) as con:
            con.begin()
            upsert_requests(con, requests)
            con.commit()
            result = ingest_polygon(
                con, requests, options.polygon, kinds, notify or _print_progress
            )
        counters = result.counters
        return requests, IngestReport.of(
            result.load,
            label,
            trades=result.trades,
            quotes=result.quotes,
            calls_made=counters.calls_made,
            calls_saved=counters.calls_saved,
            chunks_fetched=counters.chunks_fetched,
        )
    bars, label = fetch_bars(source, plan_windows(requests), bar_paths, options.files)
    requests = requests.assign(data_source=label)
    ticks = {kind: 0 for kind in ("trades", "quotes")}
    with connect(db_path) as con:
        con.begin()
        upsert_requests(con, requests)
        load = load_bars(con, bars, label, origin=_origin(bars, label))
        if source == "demo":
            for kind in kinds[1:]:
                ticks[kind] = _load_demo_ticks(con, requests, kind)
        if source == "files":
            for kind, paths in options.tick_files.items():
                ticks[kind] = _load_tick_files(con, kind, paths)
        con.commit()
    skipped = [kind for kind in kinds[1:] if source == "files" and not ticks[kind]]
    notes = tuple(f"No {kind} were loaded: give them with --{kind} PATH." for kind in skipped)
    return requests, IngestReport.of(load, label, notes=notes, **ticks)


def _load_demo_ticks(con: duckdb.DuckDBPyConnection, requests: pd.DataFrame, kind: str) -> int:
    """SYNTHETIC trades or quotes for the whole New York days the signal inputs touch."""
    days = split_by_day(signal_ranges(requests))
    days = days[days.symbol.isin(list(demo.UNIVERSE))].drop_duplicates(["symbol", "day"])
    ranges = days.assign(start_time=days.day_start, end_time=days.day_end)
    windows = merge_ranges(ranges)
    return replace_ticks(con, kind, demo.demo_ticks(kind, windows), ranges, demo.DATA_SOURCE)


def _load_tick_files(con: duckdb.DuckDBPyConnection, kind: str, paths: Sequence[str]) -> int:
    """Trades or quotes files, replacing the stored ticks over the spans they cover."""
    if not paths:
        return 0
    ticks, spans = read_tick_files(kind, paths)
    return replace_ticks(con, kind, ticks, spans, "files")


def _origin(bars: pd.DataFrame, label: str) -> str:
    if "origin" not in bars:
        return label
    names = sorted(bars.origin.dropna().astype(str).unique())
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
