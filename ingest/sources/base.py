"""What every data source shares: its options, its report, the protocol a source implements, and
the steps of a whole-batch load (requests and bars in one transaction).

A source is one module in this package with a ``SOURCE`` object; ``ingest.sources`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from backtest.core.text import plural
from backtest.core.warehouse import upsert_requests
from ingest.files import FileOptions
from ingest.load import LoadReport, load_bars
from ingest.polygon import PolygonOptions

Notify = Callable[[str], None]


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
    bar_paths: tuple[str | Path, ...] = ()
    """For the files source: the ``--bars`` files, directories and globs."""
    now: pd.Timestamp | None = None
    """The present of a live or replayed run (naive UTC): nothing at or after it is asked for,
    made or stored, so a calculation sees only what existed then. None: history, all of it."""


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
    days_held: int = 0
    """Symbol-days of bars the warehouse already held, so nothing was made or validated for them
    (a source that makes whole sessions: the demo)."""

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
        held = f"; {plural(self.days_held, 'symbol-day')} already held" if self.days_held else ""
        lines = [
            f"Bars: {self.inserted:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected ({self.data_source}){held}"
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


@dataclass(frozen=True)
class Batch:
    """One ingest: the requests (labelled with their sources) and what to load for them.

    Attributes:
        db_path: the warehouse file.
        requests: prepared requests with ``data_source`` and ``tick_data_source``.
        kinds: ``bars`` and any of ``trades``, ``quotes``, in that order.
        options: the source settings.
        notify: where progress lines go.
    """

    db_path: Path
    requests: pd.DataFrame
    kinds: tuple[str, ...]
    options: SourceOptions
    notify: Notify


class Source(Protocol):
    """A data source: where bars (and trades and quotes) for a batch of requests come from."""

    name: str

    def check(self, options: SourceOptions) -> None:
        """Refuse, before any work, what cannot succeed (a missing key, no bar files)."""

    def labels(self, options: SourceOptions) -> tuple[str, str]:
        """The ``data_source`` stored with its bars, and with its trades and quotes."""

    def load(self, batch: Batch) -> IngestReport:
        """Store the batch's requests and load the data they need."""


def load_batch(
    con: duckdb.DuckDBPyConnection,
    requests: pd.DataFrame,
    batches: Iterable[pd.DataFrame],
    label: str,
) -> LoadReport:
    """Store the requests and validate and load each batch of bars, in the caller's transaction."""
    upsert_requests(con, requests)
    load = LoadReport()
    for bars in batches:
        load += load_bars(con, bars, label, origin=_origin(bars, label))
    return load


def _origin(bars: pd.DataFrame, label: str) -> str:
    if "origin" not in bars:
        return label
    names = sorted(bars.origin.dropna().astype(str).unique())
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
