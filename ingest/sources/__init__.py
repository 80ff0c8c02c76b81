"""The data sources a run can use, by name, behind one entry point: ``ingest_batch``.

``demo`` makes synthetic whole days, ``files`` reads the user's bar files in bounded chunks and
loads them all, ``polygon`` fetches from Polygon through the shared cache (only what the
warehouse lacks). Bars are always loaded; trades and quotes only when asked for through
``SourceOptions.kinds``. A new source is one module here with a ``SOURCE`` (see ``base.Source``),
added to ``REGISTRY``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from backtest.core.errors import BacktestError
from ingest.planning import parse_kinds
from ingest.sources import demo, files, polygon
from ingest.sources.base import Batch, IngestReport, Notify, Source, SourceOptions

REGISTRY: dict[str, Source] = {
    module.SOURCE.name: module.SOURCE for module in (demo, files, polygon)
}
SOURCES = tuple(REGISTRY)


def source_named(name: str) -> Source:
    """The source called ``name``, or one sentence listing the ones there are."""
    if name not in REGISTRY:
        raise BacktestError(f"Unknown source '{name}': use one of {', '.join(SOURCES)}.")
    return REGISTRY[name]


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr)


def ingest_batch(
    db_path: Path,
    requests: pd.DataFrame,
    source: str,
    bar_paths: Sequence[str | Path] = (),
    options: SourceOptions | None = None,
    notify: Notify | None = None,
) -> tuple[pd.DataFrame, IngestReport]:
    """Store ``requests`` and load the data they need from ``source`` into the warehouse.

    Returns:
        The requests labelled with their sources (``data_source``, ``tick_data_source``), and
        what was loaded.
    """
    chosen = source_named(source)
    options = replace(options or SourceOptions(), bar_paths=tuple(bar_paths))
    kinds = parse_kinds(options.kinds | {"bars"})
    chosen.check(options)
    bars_label, ticks_label = chosen.labels(options)
    requests = requests.assign(data_source=bars_label, tick_data_source=ticks_label)
    report = chosen.load(Batch(db_path, requests, kinds, options, notify or _print_progress))
    return requests, report


__all__ = ["SOURCES", "IngestReport", "Source", "SourceOptions", "ingest_batch", "source_named"]
