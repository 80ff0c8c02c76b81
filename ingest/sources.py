"""The data sources a run can use, behind one entry point: ``ingest_batch``.

``demo`` makes synthetic whole days, ``files`` reads the user's bar files in bounded chunks and
loads them all (the files are the user's chosen cache, so nothing in them is dropped), and
``polygon`` fetches from Polygon through the shared cache (only what the warehouse lacks). Bars
are always loaded; trades and quotes only when asked for through ``SourceOptions.kinds``
(Polygon's real ones, or the demo's synthetic ones; bar files have none).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from backtest.errors import BacktestError
from backtest.text import plural
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
    allow_synthetic: bool = False
    """Let the demo source write into a warehouse that holds real data."""


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
                f"Polygon: {plural(self.calls_made, 'API call')} made for "
                f"{plural(self.chunks_fetched, 'range')}, {self.calls_saved:,} saved by the cache; "
                f"{plural(self.trades, 'trade')} and {plural(self.quotes, 'quote')} stored"
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

    The demo source makes whole synthetic days; the files source reads every given file whole
    (``ingest_batch`` streams them chunk by chunk instead). Polygon goes through the cache
    (``ingest_batch``).
    """
    if source == "demo":
        return demo.demo_bars(windows), demo.DATA_SOURCE
    if source == "files":
        return files.read_bar_files(list(bar_paths), file_options), "files"
    if source == "polygon":
        raise BacktestError("Source 'polygon' loads through the cache: use ingest_batch.")
    raise BacktestError(f"Unknown source '{source}': use one of {', '.join(SOURCES)}.")


def refuse_demo_beside_real_data(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Stop a demo run on a warehouse holding real data, unless the user allowed it.

    Each request reads only its own source's bars, so nothing would be overwritten; but a real
    warehouse's marts (and every aggregate over them) would quietly gain SYNTHETIC results.
    """
    real = [
        row[0]
        for row in con.execute(
            """
            select data_source from raw.bars_1m where data_source <> $demo
            union select data_source from raw.requests where data_source <> $demo
            order by 1
            """,
            {"demo": demo.DATA_SOURCE},
        ).fetchall()
    ]
    if real:
        raise BacktestError(
            f"Warehouse {db_path} holds real data ({', '.join(real)}), and the demo source "
            "would add SYNTHETIC results beside it: name the source with --source "
            f"{real[0].split('-')[0]}, use another --db for the demo, or pass --allow-synthetic."
        )


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
        requests = requests.assign(
            data_source=label, tick_data_source=options.polygon.data_source("trades")
        )
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
    label = "files" if source == "files" else demo.DATA_SOURCE
    requests = requests.assign(data_source=label)
    ticks = {kind: 0 for kind in ("trades", "quotes")}
    with (
        _bar_batches(source, requests, bar_paths, options.files, db_path) as batches,
        connect(db_path) as con,
    ):
        if source == "demo" and not options.allow_synthetic:
            refuse_demo_beside_real_data(con, db_path)
        con.begin()
        upsert_requests(con, requests)
        load = LoadReport()
        for bars in batches:
            load += load_bars(con, bars, label, origin=_origin(bars, label))
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


@contextmanager
def _bar_batches(
    source: str,
    requests: pd.DataFrame,
    bar_paths: Sequence[str | Path],
    file_options: FileOptions,
    db_path: Path,
) -> Iterator[Iterable[pd.DataFrame]]:
    """The bars to load, as batches: the demo's in one; bar files chunk by chunk, read into a
    spool beside the warehouse before it is opened (see ``files.spooled_bar_batches``)."""
    if source != "files":
        yield [fetch_bars(source, plan_windows(requests))[0]]
        return
    folder = db_path.parent if db_path.parent.is_dir() else None
    with files.spooled_bar_batches(bar_paths, file_options, files.CHUNK_ROWS, folder) as batches:
        yield batches


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
