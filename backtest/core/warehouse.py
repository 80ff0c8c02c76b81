"""The DuckDB warehouse file: the raw schema that Python writes and dbt reads.

Python owns ``raw.*`` (requests, bars, rejects); dbt owns everything it builds from them.

One process writes at a time. DuckDB locks the file for the process that opens it, so a run
holds it from the first ingest to the last result (``hold``): dbt's connection in the same
process shares that open database instead of reopening the file, and no other program can slip
in between ingest and build. Another process that wants the file, writer or reader, waits for
the holder with a visible "waiting for <pid>" line, up to ``BACKTEST_WAIT`` seconds (``--wait``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.config import duckdb_settings
from backtest.core.errors import BacktestError

WAIT_ENV = "BACKTEST_WAIT"
DEFAULT_WAIT_SECONDS = 600.0
LOCK_HOLDER = re.compile(r"Conflicting lock is held in .*\(PID (\d+)\)")
_held: dict[Path, int] = {}


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migration_files() -> list[Path]:
    """The numbered migrations in order: ``NNN_*.sql`` scripts and ``NNN_*.py`` modules.

    >>> [path.name for path in migration_files()][:2]
    ['001_raw_tables.sql', '002_reject_expectation.sql']
    """
    found = [*MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"), *MIGRATIONS.glob("[0-9][0-9][0-9]_*.py")]
    return sorted(found, key=lambda path: path.name)


def _apply(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Run one migration: a SQL script, or the ``upgrade(con)`` of a Python module (for a
    change that depends on what the warehouse holds, e.g. a table dbt may not have built)."""
    if path.suffix == ".sql":
        con.execute(path.read_text())
        return
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.upgrade(con)


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the numbered migrations (``migrations/NNN_*.sql`` or ``.py``) not yet applied;
    return them.

    Each runs once, in order, in one transaction with its entry in ``raw.schema_migrations``.
    """
    con.execute(
        "create schema if not exists raw; create table if not exists raw.schema_migrations "
        "(version integer primary key, name varchar not null, applied_at timestamp not null)"
    )
    applied = {
        row[0] for row in con.execute("select version from raw.schema_migrations").fetchall()
    }
    done = []
    for path in migration_files():
        version = int(path.name[:3])
        if version in applied:
            continue
        con.begin()
        _apply(con, path)
        con.execute(
            "insert into raw.schema_migrations values (?, ?, ?)", [version, path.stem, utc_now()]
        )
        con.commit()
        done.append(version)
    return done


def utc_now() -> datetime:
    """Naive UTC now, the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def require_existing(db_path: Path) -> Path:
    """The warehouse a reader names, refused in one sentence when it does not exist (a reader
    creates nothing, so a mistyped ``--db`` leaves no trace)."""
    if not db_path.exists():
        raise BacktestError(
            f"Warehouse {db_path} does not exist: check --db (or $BACKTEST_DB), "
            "or load data first with `backtest run` or `backtest ingest`."
        )
    return db_path


def wait_seconds() -> float:
    """How long to wait for another process's hold on the warehouse (``BACKTEST_WAIT``)."""
    raw = os.environ.get(WAIT_ENV, "")
    try:
        seconds = float(raw) if raw.strip() else DEFAULT_WAIT_SECONDS
    except ValueError:
        raise BacktestError(
            f"{WAIT_ENV}={raw!r} is not a number of seconds: set it to e.g. 60."
        ) from None
    if seconds < 0:
        raise BacktestError(f"A wait of {seconds:g} s is negative: give 0 or more seconds.")
    return seconds


def _open(db_path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect, waiting while another process holds the file (bounded by ``wait_seconds``)."""
    patience = wait_seconds()
    deadline = time.monotonic() + patience
    announced = None
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as error:
            holder = LOCK_HOLDER.search(str(error))
            if holder is None:
                raise BacktestError(
                    f"Cannot open warehouse {db_path} ({error}): check the path and its "
                    "permissions, or pass another --db."
                ) from None
            if time.monotonic() >= deadline:
                raise BacktestError(
                    f"Warehouse {db_path} is still in use by process {holder[1]} after "
                    f"{patience:g} s: let it finish, or wait longer with --wait SECONDS "
                    f"(or {WAIT_ENV})."
                ) from None
            if holder[1] != announced:
                announced = holder[1]
                print(
                    f"Warehouse in use: waiting for {announced} ... (up to {patience:g} s)",
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(0.2)
            continue
        for key, value in duckdb_settings(db_path).items():
            con.execute(f"set {key} = '{value}'")
        return con


@contextmanager
def connect(db_path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating the raw schema when writable) and always close it.

    A reader (``read_only``) never creates the file and works on read-only files and mounts;
    inside a ``hold`` of this process it shares the held database instead.
    """
    if read_only:
        require_existing(db_path)
    held = db_path in _held
    con = _open(db_path, read_only=read_only and not held)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


@contextmanager
def hold(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Keep the warehouse open (and so locked against other processes) for a whole job.

    Every ``connect`` of this process inside, and dbt's own connection, shares the open database.
    Holds nest.
    """
    with connect(db_path) as con:
        _held[db_path] = _held.get(db_path, 0) + 1
        try:
            yield con
        finally:
            _held[db_path] -= 1
            if not _held[db_path]:
                del _held[db_path]


def upsert_requests(con: duckdb.DuckDBPyConnection, requests: pd.DataFrame) -> None:
    """Insert or refresh requests by UID; a re-run keeps created_at and moves requested_at.

    ``data_source`` names the bars a request is built from (and ``tick_data_source``, when
    given, its trades and quotes); ``calculations``, when given, the comma-separated plugins it
    runs (missing or null: every enabled plugin); ``known_until``, when given, the present of a
    live request, whose window uses no bar from then on (missing or null: every bar).
    """
    now = utc_now()
    incoming = requests.assign(
        tick_data_source=requests.get("tick_data_source", requests.data_source),
        calculations=requests.get("calculations"),
        known_until=requests.get("known_until", pd.Series(pd.NaT, index=requests.index)),
    )
    con.register("incoming_requests", incoming)
    con.execute(
        """
        insert into raw.requests (uid, symbol, entry_time, direction, historical_lookback_hours,
                                  forward_bars, data_source, created_at, requested_at,
                                  tick_data_source, calculations, known_until)
        select uid, symbol, entry_time, direction, historical_lookback_hours, forward_bars,
               data_source, $now, $now, tick_data_source, cast(calculations as varchar),
               cast(known_until as timestamp)
        from incoming_requests
        on conflict (uid) do update set
            symbol = excluded.symbol,
            entry_time = excluded.entry_time,
            direction = excluded.direction,
            historical_lookback_hours = excluded.historical_lookback_hours,
            forward_bars = excluded.forward_bars,
            data_source = excluded.data_source,
            requested_at = excluded.requested_at,
            tick_data_source = excluded.tick_data_source,
            calculations = excluded.calculations,
            known_until = excluded.known_until
        """,
        {"now": now},
    )
    con.unregister("incoming_requests")


def stored_calculation_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every calculation that some stored request names explicitly (``--calculation``)."""
    rows = con.execute(
        """
        select distinct trim(unnest(string_split(calculations, ','))) as name
        from raw.requests where calculations is not null order by name
        """
    ).fetchall()
    return [row[0] for row in rows]
