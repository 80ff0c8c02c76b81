"""The warehouse as a shared cache: what it holds, what fetching it cost, and clearing parts of it.

Statistics come from the data tables (symbols, New York days, bars, trades, quotes), the coverage
of fetching sources (ranges, empty ranges), the call counters (calls made, calls the cache saved)
and the file size. Clearing deletes a symbol's (or every symbol's) data in a time range and cuts
the same range out of the coverage, in one transaction, so the next run fetches it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.errors import BacktestError
from backtest.core.text import plural
from ingest.coverage import DATA_TABLES, forget_file_loads, trim_coverage
from ingest.planning import EXCHANGE_TZ, KINDS, parse_kinds

FAR_PAST = pd.Timestamp("1900-01-01")
FAR_FUTURE = pd.Timestamp("2200-01-01")


@dataclass(frozen=True)
class CacheStats:
    """What the warehouse holds and what fetching it cost."""

    db_path: Path
    size_bytes: int
    symbols: int
    days: int
    bars: int
    trades: int
    quotes: int
    rejects: int
    coverage: pd.DataFrame
    calls_made: int
    calls_saved: int
    runs: int

    def render(self) -> str:
        """The statistics as a few aligned lines."""
        lines = [
            f"Warehouse: {self.db_path} ({self.size_bytes / 1e6:,.1f} MB on disk)",
            f"Symbols: {self.symbols:,}   days (symbol x New York date): {self.days:,}",
            f"Bars: {self.bars:,}   trades: {self.trades:,}   quotes: {self.quotes:,}   "
            f"rejected bars: {self.rejects:,}",
            f"API calls: {self.calls_made:,} made, {self.calls_saved:,} saved by the cache "
            f"over {plural(self.runs, 'fetching run')}",
        ]
        if self.coverage.empty:
            return "\n".join([*lines, "Covered ranges: none (no fetching source has run)"])
        lines.append("Covered ranges (source, kind: ranges, empty, symbols, hours):")
        for row in self.coverage.itertuples(index=False):
            lines.append(
                f"  {row.data_source}, {row.kind}: {plural(row.ranges, 'range')}, "
                f"{row.empty_ranges:,} empty, {plural(row.symbols, 'symbol')}, {row.hours:,.1f} h"
            )
        return "\n".join(lines)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0] or 0)


def _coverage_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    empties = " union all ".join(
        f"""
        select coverage.*, not exists (
            select 1 from {table} as data
            where data.symbol = coverage.symbol
              and data.{column} >= coverage.start_time and data.{column} < coverage.end_time
        ) as is_empty
        from raw.coverage as coverage where coverage.kind = '{kind}'
        """
        for kind, (table, column) in DATA_TABLES.items()
    )
    return con.execute(
        f"""
        select data_source, kind, count(*) as ranges, count(*) filter (is_empty) as empty_ranges,
               count(distinct symbol) as symbols,
               sum(epoch(end_time) - epoch(start_time)) / 3600 as hours
        from ({empties})
        group by data_source, kind order by data_source, kind
        """
    ).df()


def cache_stats(con: duckdb.DuckDBPyConnection, db_path: Path) -> CacheStats:
    """Read the cache statistics from an open warehouse."""
    size = sum(path.stat().st_size for path in (db_path, Path(f"{db_path}.wal")) if path.exists())
    local_day = f"timezone('{EXCHANGE_TZ}', timezone('UTC', bar_time))::date"
    return CacheStats(
        db_path=db_path,
        size_bytes=size,
        symbols=_scalar(con, "select count(distinct symbol) from raw.bars_1m"),
        days=_scalar(con, f"select count(distinct (symbol, {local_day})) from raw.bars_1m"),
        bars=_scalar(con, "select count(*) from raw.bars_1m"),
        trades=_scalar(con, "select count(*) from raw.trades"),
        quotes=_scalar(con, "select count(*) from raw.quotes"),
        rejects=_scalar(con, "select count(*) from raw.bar_rejects"),
        coverage=_coverage_summary(con),
        calls_made=_scalar(con, "select sum(pages) from raw.api_calls"),
        calls_saved=_scalar(con, "select sum(calls_saved) from raw.ingest_runs"),
        runs=_scalar(con, "select count(*) from raw.ingest_runs"),
    )


@dataclass(frozen=True)
class ClearReport:
    """What a clear removed."""

    rows: dict[str, int]
    coverage_rows: int

    def render(self, what: str) -> str:
        counts = ", ".join(
            plural(count, kind.removesuffix("s")) for kind, count in self.rows.items()
        )
        return f"Cleared {what}: {counts}; {plural(self.coverage_rows, 'covered range')} cut back."


def clear_cache(
    con: duckdb.DuckDBPyConnection,
    symbol: str | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    kinds: Sequence[str] = KINDS,
) -> ClearReport:
    """Delete data of ``symbol`` (None: every symbol) in ``[start, end)`` and its coverage.

    Runs in one transaction; the requests and built results are left alone.
    """
    kinds = parse_kinds(kinds)
    start, end = start or FAR_PAST, end or FAR_FUTURE
    if start >= end:
        raise BacktestError(f"The range {start} to {end} is empty: give --from before --to.")
    symbols = (
        [symbol]
        if symbol
        else [
            row[0]
            for row in con.execute(
                " union ".join(
                    f"select distinct symbol from {table}" for table, _ in DATA_TABLES.values()
                )
                + " union select distinct symbol from raw.coverage"
            ).fetchall()
        ]
    )
    removed = pd.DataFrame({"symbol": symbols, "start_time": start, "end_time": end})
    con.begin()
    rows = {}
    for kind in kinds:
        table, column = DATA_TABLES[kind]
        where = f"{column} >= $start and {column} < $end"
        where += " and symbol = $symbol" if symbol else ""
        parameters = {"start": start, "end": end, **({"symbol": symbol} if symbol else {})}
        rows[kind] = _scalar_with(con, f"select count(*) from {table} where {where}", parameters)
        con.execute(f"delete from {table} where {where}", parameters)
    changed = trim_coverage(con, removed, kinds)
    forget_file_loads(con)
    con.commit()
    return ClearReport(rows, changed)


def _scalar_with(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict) -> int:
    return int(con.execute(sql, parameters).fetchone()[0] or 0)


def stored_validations(
    con: duckdb.DuckDBPyConnection,
    symbol: str | None = None,
    batch_id: int | None = None,
    last: int = 1,
) -> list[dict]:
    """Validated batches, newest first: one by id, the last ones holding a symbol, or the last."""
    where, parameters = "true", []
    if batch_id is not None:
        where, parameters = "batch_id = ?", [batch_id]
    elif symbol:
        where, parameters = "list_contains(symbols, ?)", [symbol.upper()]
    rows = con.execute(
        f"""
        select batch_id, validated_at, data_source, origin, symbols, start_time, end_time,
               row_count, rejected, is_success, result
        from raw.validations where {where} order by batch_id desc limit ?
        """,
        [*parameters, last],
    ).fetchall()
    columns = [
        "batch_id",
        "validated_at",
        "data_source",
        "origin",
        "symbols",
        "start_time",
        "end_time",
        "row_count",
        "rejected",
        "is_success",
        "result",
    ]
    batches = [dict(zip(columns, row, strict=True)) for row in rows]
    for batch in batches:
        batch["result"] = json.loads(batch["result"])
    return batches


def render_batch_header(batch: dict) -> str:
    """One line naming a stored batch."""
    span = ""
    if batch["start_time"] is not None:
        span = f", {batch['start_time']:%Y-%m-%d %H:%M} to {batch['end_time']:%Y-%m-%d %H:%M} UTC"
    symbols = ",".join(batch["symbols"][:5]) + ("..." if len(batch["symbols"]) > 5 else "")
    return (
        f"Batch {batch['batch_id']} ({batch['data_source']}, {batch['origin']}): {symbols}{span}; "
        f"{plural(batch['row_count'], 'bar')}, {batch['rejected']:,} rejected; "
        f"validated {batch['validated_at']:%Y-%m-%d %H:%M:%S} UTC"
    )
