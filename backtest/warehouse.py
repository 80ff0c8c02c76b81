"""The DuckDB warehouse file: the raw schema that Python writes and dbt reads.

Python owns ``raw.*`` (requests, bars, rejects); dbt owns everything it builds from them.

One process writes at a time. DuckDB locks the file for the process that opens it, so a run
holds it from the first ingest to the last result (``hold``): dbt's connection in the same
process shares that open database instead of reopening the file, and no other program can slip
in between ingest and build. Another process that wants the file, writer or reader, waits for
the holder with a visible "waiting for <pid>" line, up to ``BACKTEST_WAIT`` seconds (``--wait``).
"""

from __future__ import annotations

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

from backtest.errors import BacktestError

WAIT_ENV = "BACKTEST_WAIT"
DEFAULT_WAIT_SECONDS = 600.0
LOCK_HOLDER = re.compile(r"Conflicting lock is held in .*\(PID (\d+)\)")
_held: dict[Path, int] = {}

RAW_SCHEMA = """
create schema if not exists raw;
create table if not exists raw.requests (
    uid varchar primary key,
    symbol varchar not null,
    entry_time timestamp not null,
    direction varchar not null,
    historical_lookback_hours double not null,
    forward_bars integer not null,
    data_source varchar not null,
    created_at timestamp not null,
    requested_at timestamp not null
);
create table if not exists raw.bars_1m (
    symbol varchar not null,
    bar_time timestamp not null,
    open double not null,
    high double not null,
    low double not null,
    close double not null,
    volume double not null,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.bar_rejects (
    symbol varchar,
    bar_time timestamp,
    open double,
    high double,
    low double,
    close double,
    volume double,
    data_source varchar,
    origin varchar,
    reason varchar not null,
    rejected_at timestamp not null
);
alter table raw.bar_rejects add column if not exists expectation varchar;
alter table raw.requests add column if not exists tick_data_source varchar;
alter table raw.requests add column if not exists calculations varchar;
create table if not exists raw.trades (
    symbol varchar not null,
    sip_time timestamp_ns not null,
    participant_time timestamp_ns,
    trf_time timestamp_ns,
    price double not null,
    size double not null,
    exchange integer,
    conditions integer[],
    correction integer,
    trade_id varchar,
    sequence_number bigint,
    tape integer,
    trf_id integer,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.quotes (
    symbol varchar not null,
    sip_time timestamp_ns not null,
    participant_time timestamp_ns,
    trf_time timestamp_ns,
    bid_price double,
    bid_size double,
    bid_exchange integer,
    ask_price double,
    ask_size double,
    ask_exchange integer,
    conditions integer[],
    indicators integer[],
    sequence_number bigint,
    tape integer,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.coverage (
    symbol varchar not null,
    data_source varchar not null,
    kind varchar not null,
    start_time timestamp not null,
    end_time timestamp not null,
    fetched_at timestamp not null
);
create table if not exists raw.api_calls (
    called_at timestamp not null,
    data_source varchar not null,
    kind varchar not null,
    endpoint varchar not null,
    symbol varchar not null,
    start_time timestamp,
    end_time timestamp,
    pages integer not null,
    row_count bigint not null,
    outcome varchar not null,
    detail varchar
);
create table if not exists raw.ingest_runs (
    run_at timestamp not null,
    data_source varchar not null,
    kinds varchar not null,
    requests bigint not null,
    ranges_needed bigint not null,
    chunks_without_cache bigint not null,
    chunks_fetched bigint not null,
    calls_made bigint not null,
    calls_saved bigint not null,
    outcome varchar not null
);
create table if not exists raw.validations (
    batch_id bigint primary key,
    validated_at timestamp not null,
    data_source varchar not null,
    origin varchar,
    symbols varchar[] not null,
    start_time timestamp,
    end_time timestamp,
    row_count bigint not null,
    rejected bigint not null,
    is_success boolean not null,
    result json not null
);
"""


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
            return duckdb.connect(str(db_path), read_only=read_only)
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
            con.execute(RAW_SCHEMA)
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
    runs (missing or null: every enabled plugin).
    """
    now = utc_now()
    incoming = requests.assign(
        tick_data_source=requests.get("tick_data_source", requests.data_source),
        calculations=requests.get("calculations"),
    )
    con.register("incoming_requests", incoming)
    con.execute(
        """
        insert into raw.requests (uid, symbol, entry_time, direction, historical_lookback_hours,
                                  forward_bars, data_source, created_at, requested_at,
                                  tick_data_source, calculations)
        select uid, symbol, entry_time, direction, historical_lookback_hours, forward_bars,
               data_source, $now, $now, tick_data_source, cast(calculations as varchar)
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
            calculations = excluded.calculations
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
