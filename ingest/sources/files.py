"""The files source: the user's bar files (and trade and quote files), read in bounded chunks and
loaded whole, since the files are the user's chosen cache."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from backtest.core.warehouse import connect
from ingest import files
from ingest.files import expand_paths
from ingest.load import replace_ticks
from ingest.sources.base import Batch, IngestReport, SourceOptions, load_batch
from ingest.tick_files import read_tick_files

LABEL = "files"


class FilesSource:
    """``--source files --bars PATH ...``."""

    name = "files"

    def check(self, options: SourceOptions) -> None:
        """Every given bar path must name at least one file."""
        expand_paths(options.bar_paths)

    def labels(self, options: SourceOptions) -> tuple[str, str]:
        return LABEL, LABEL

    def load(self, batch: Batch) -> IngestReport:
        options = batch.options
        folder = batch.db_path.parent if batch.db_path.parent.is_dir() else None
        spool = files.spooled_bar_batches(
            options.bar_paths, options.files, files.CHUNK_ROWS, folder
        )
        ticks = {}
        with spool as chunks, connect(batch.db_path) as con:
            con.begin()
            load = load_batch(con, batch.requests, chunks, LABEL)
            for kind, paths in options.tick_files.items():
                ticks[kind] = _load_tick_files(con, kind, paths)
            con.commit()
        skipped = [kind for kind in batch.kinds[1:] if not ticks.get(kind)]
        notes = tuple(f"No {kind} were loaded: give them with --{kind} PATH." for kind in skipped)
        return IngestReport.of(load, LABEL, notes=notes, **ticks)


def _load_tick_files(con: duckdb.DuckDBPyConnection, kind: str, paths: Sequence[str]) -> int:
    """Trades or quotes files, replacing the stored ticks over the spans they cover."""
    if not paths:
        return 0
    ticks, spans = read_tick_files(kind, paths)
    return replace_ticks(con, kind, ticks, spans, LABEL)


SOURCE = FilesSource()
