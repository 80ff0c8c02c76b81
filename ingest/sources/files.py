"""The files source: the user's bar files (and trade and quote files), read in bounded chunks and
loaded whole, since the files are the user's chosen cache.

A load remembers its fingerprint (every file's path, size and modification time, and the reading
options): when the next run names the same files, unchanged, and nothing loaded or cleared files
data since, nothing is read, validated or loaded again (and great-expectations is not imported).
A live run's present (``SourceOptions.now``) keeps the files' later rows out: they do not exist
yet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.warehouse import connect
from ingest import files
from ingest.coverage import last_file_load, record_file_load
from ingest.files import expand_paths
from ingest.load import replace_ticks
from ingest.planning import before
from ingest.sources.base import Batch, IngestReport, SourceOptions, load_batch
from ingest.tick_files import read_tick_files

LABEL = "files"
UNCHANGED_NOTE = "The files are unchanged since their last load: nothing was read again."


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
        fingerprint = files_fingerprint(options)
        with connect(batch.db_path) as con:
            if fingerprint is not None and last_file_load(con) == fingerprint:
                con.begin()
                load = load_batch(con, batch.requests, [], LABEL)
                con.commit()
                missing = [kind for kind in batch.kinds[1:] if not options.tick_files.get(kind)]
                return IngestReport.of(load, LABEL, notes=(UNCHANGED_NOTE, *_notes(missing)))
        folder = batch.db_path.parent if batch.db_path.parent.is_dir() else None
        spool = files.spooled_bar_batches(
            options.bar_paths, options.files, files.CHUNK_ROWS, folder
        )
        ticks = {}
        with spool as chunks, connect(batch.db_path) as con:
            con.begin()
            load = load_batch(con, batch.requests, _before(chunks, "bar_time", options.now), LABEL)
            for kind, paths in options.tick_files.items():
                ticks[kind] = _load_tick_files(con, kind, paths, options.now)
            if fingerprint is not None:
                record_file_load(con, fingerprint)
            con.commit()
        skipped = [kind for kind in batch.kinds[1:] if not ticks.get(kind)]
        return IngestReport.of(load, LABEL, notes=_notes(skipped), **ticks)


def _notes(kinds: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"No {kind} were loaded: give them with --{kind} PATH." for kind in kinds)


def _before(
    batches: Iterable[pd.DataFrame], column: str, now: pd.Timestamp | None
) -> Iterator[pd.DataFrame]:
    """The rows of each batch before ``now`` (a live run's present; None: all of them)."""
    for rows in batches:
        yield rows if now is None else rows[rows[column] < now]


def files_fingerprint(options: SourceOptions) -> str | None:
    """A digest of every bar and tick file (resolved path, size, modification time), the
    reading options and the present of a live run; None when a file cannot be looked at (the
    load then says why)."""
    try:
        bars = [_stamp(path) for path in expand_paths(options.bar_paths)]
        ticks = {
            kind: [_stamp(Path(path)) for path in paths]
            for kind, paths in sorted(options.tick_files.items())
        }
    except OSError:
        return None
    reading = dataclasses.asdict(options.files)
    text = json.dumps([bars, ticks, reading, options.now], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(path: Path) -> list:
    resolved = path.resolve()
    stat = resolved.stat()
    return [str(resolved), stat.st_size, stat.st_mtime_ns]


def _load_tick_files(
    con: duckdb.DuckDBPyConnection, kind: str, paths: Sequence[str], now: pd.Timestamp | None
) -> int:
    """Trades or quotes files, replacing the stored ticks over the spans they cover (up to a
    live run's present)."""
    if not paths:
        return 0
    ticks, spans = read_tick_files(kind, paths)
    (ticks,) = _before([ticks], "sip_time", now)
    return replace_ticks(con, kind, ticks, before(spans, now), LABEL)


SOURCE = FilesSource()
