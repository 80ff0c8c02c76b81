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
alter table raw.bar_rejects add column if not exists expectation varchar;
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


@contextmanager
def connect(db_path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating the raw schema when writable) and always close it."""
    if read_only and not db_path.exists():
        raise BacktestError(f"Warehouse {db_path} does not exist: run `backtest run` first.")
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as error:
        raise BacktestError(
            f"Cannot open warehouse {db_path} ({error}): "
            "close other programs using it or pass --db."
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
