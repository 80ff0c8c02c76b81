"""The DuckDB warehouse file: the raw schema that Python writes and dbt reads.

Python owns ``raw.*`` (requests, bars, rejects); dbt owns everything it builds from them.
Connections are short-lived: Python closes its connection before dbt opens the same file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from backtest.errors import BacktestError

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
"""


def utc_now() -> datetime:
    """Naive UTC now, the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def connect(db_path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating the raw schema when writable) and always close it."""
    if read_only and not db_path.exists():
        raise BacktestError(f"Warehouse {db_path} does not exist: run `backtest run` first.")
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as error:
        raise BacktestError(
            f"Cannot open warehouse {db_path} ({error}): close other programs using it or pass --db."
        ) from None
    try:
        if not read_only:
            con.execute(RAW_SCHEMA)
        yield con
    finally:
        con.close()


def upsert_requests(con: duckdb.DuckDBPyConnection, requests: pd.DataFrame) -> None:
    """Insert or refresh requests by UID; a re-run keeps created_at and moves requested_at."""
    now = utc_now()
    con.register("incoming_requests", requests)
    con.execute(
        """
        insert into raw.requests
        select uid, symbol, entry_time, direction, historical_lookback_hours, forward_bars,
               data_source, $now, $now
        from incoming_requests
        on conflict (uid) do update set
            symbol = excluded.symbol,
            entry_time = excluded.entry_time,
            direction = excluded.direction,
            historical_lookback_hours = excluded.historical_lookback_hours,
            forward_bars = excluded.forward_bars,
            data_source = excluded.data_source,
            requested_at = excluded.requested_at
        """,
        {"now": now},
    )
    con.unregister("incoming_requests")
