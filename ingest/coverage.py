"""The shared cache's memory: which (symbol, source, kind, time range) the warehouse holds.

A fetching source records every range it asked for in ``raw.coverage``, including ranges that came
back empty, so nothing is fetched twice: the planner subtracts the covered ranges from what the
requests need and fetches only the gaps. A source that makes whole sessions (the demo) records the
days it loaded the same way, so the next request of a held day loads, and validates, nothing.
Coverage always describes what the data tables hold: when a range is cleared, the coverage is cut
back accordingly (sources never overwrite each other's data, so nothing else can take it away).
A source that loads whole files records the fingerprint of its last load instead
(``raw.file_loads``): the same files, unchanged, read the same way, load nothing again; a clear
forgets it. Calls and runs are counted in ``raw.api_calls`` and ``raw.ingest_runs``. All interval
arithmetic is one SQL statement over whole sets of ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from backtest.core.warehouse import utc_now

DATA_TABLES = {
    "bars": ("raw.bars_1m", "bar_time"),
    "trades": ("raw.trades", "sip_time"),
    "quotes": ("raw.quotes", "sip_time"),
}

DIFFERENCE_SQL = """
with minuend as (
    select row_number() over () as piece, * from {minuend}
),
cuts as (
    select minuend.piece,
           greatest(cut.start_time, minuend.start_time) as cut_start,
           least(cut.end_time, minuend.end_time) as cut_end
    from minuend
    join ({subtrahend}) as cut
      on {join_keys}
     and cut.start_time < minuend.end_time
     and cut.end_time > minuend.start_time
),
reaches as (
    select piece, cut_start,
           max(cut_end) over (
               partition by piece order by cut_start, cut_end
               rows between unbounded preceding and 1 preceding
           ) as reach_before,
           max(cut_end) over (partition by piece) as reach_all
    from cuts
),
holes as (
    select piece, coalesce(reach_before, minuend.start_time) as hole_start, cut_start as hole_end
    from reaches join minuend using (piece)
    where cut_start > coalesce(reach_before, minuend.start_time)
    union all
    select distinct piece, reach_all, minuend.end_time
    from reaches join minuend using (piece)
    where reach_all < minuend.end_time
    union all
    select piece, start_time, end_time
    from minuend
    where piece not in (select piece from cuts)
)
select minuend.* exclude (piece, start_time, end_time),
       cast(holes.hole_start as timestamp) as start_time,
       cast(holes.hole_end as timestamp) as end_time
from holes join minuend using (piece)
order by all
"""


def difference(
    con: duckdb.DuckDBPyConnection, minuend: pd.DataFrame, subtrahend: str, keys: Sequence[str]
) -> pd.DataFrame:
    """``minuend`` ranges minus the ranges of the ``subtrahend`` query, per key.

    Args:
        con: an open warehouse connection.
        minuend: ranges with the ``keys``, ``start_time`` and ``end_time`` (end exclusive) and any
            other columns, which are carried over to every remaining piece.
        subtrahend: SQL selecting the ``keys``, ``start_time`` and ``end_time`` to remove.
        keys: the columns both sides are matched on, e.g. ``("kind", "symbol")``.

    >>> con = duckdb.connect()
    >>> wanted = pd.DataFrame({"symbol": ["A"], "start_time": [pd.Timestamp("2024-01-02 10:00")],
    ...                        "end_time": [pd.Timestamp("2024-01-02 12:00")]})
    >>> holes = difference(con, wanted, "select 'A' as symbol, timestamp '2024-01-02 10:30' as "
    ...                    "start_time, timestamp '2024-01-02 11:00' as end_time", ["symbol"])
    >>> holes.start_time.dt.strftime("%H:%M").tolist(), holes.end_time.dt.strftime("%H:%M").tolist()
    (['10:00', '11:00'], ['10:30', '12:00'])
    """
    if minuend.empty:
        return minuend.copy()
    name = "difference_minuend"
    con.register(name, minuend)
    try:
        join_keys = " and ".join(f"cut.{key} = minuend.{key}" for key in keys)
        return con.execute(
            DIFFERENCE_SQL.format(minuend=name, subtrahend=subtrahend, join_keys=join_keys)
        ).df()
    finally:
        con.unregister(name)


def missing_ranges(
    con: duckdb.DuckDBPyConnection, needed: pd.DataFrame, sources: dict[str, str]
) -> pd.DataFrame:
    """The parts of ``needed`` (``kind, symbol, start_time, end_time`` and any other columns,
    carried over to each part) not covered yet.

    ``sources`` names the data source whose coverage counts for each kind (adjusted and raw
    Polygon bars are different data, so one never covers the other).
    """
    wanted = pd.DataFrame({"kind": list(sources), "data_source": list(sources.values())})
    con.register("wanted_sources", wanted)
    try:
        return difference(
            con,
            needed,
            """
            select coverage.kind, coverage.symbol, coverage.start_time, coverage.end_time
            from raw.coverage as coverage
            join wanted_sources using (kind, data_source)
            """,
            ["kind", "symbol"],
        )
    finally:
        con.unregister("wanted_sources")


def record_coverage(
    con: duckdb.DuckDBPyConnection,
    symbol: str,
    data_source: str,
    kind: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon: pd.Timestamp,
) -> bool:
    """Record that ``[start, end)`` was fetched, merged with touching ranges; False if nothing.

    Only the part before ``horizon`` is recorded: minutes that may still receive data (the
    present, the future, or data a delayed plan has not published yet) are fetched again.
    """
    end = min(end, horizon)
    if start >= end:
        return False
    ranges = pd.DataFrame(
        {"kind": [kind], "symbol": [symbol], "start_time": [start], "end_time": [end]}
    )
    record_ranges(con, ranges, data_source)
    return True


TOUCHING_COVERAGE = """
    coverage.data_source = $source and exists (
        select 1 from recorded_ranges as recorded
        where recorded.kind = coverage.kind and recorded.symbol = coverage.symbol
          and recorded.start_time <= coverage.end_time and recorded.end_time >= coverage.start_time
    )
"""

MERGED_COVERAGE_SQL = f"""
with ranges as (
    select kind, symbol, start_time, end_time from recorded_ranges
    union all
    select kind, symbol, start_time, end_time from raw.coverage as coverage
    where {TOUCHING_COVERAGE}
),
reaches as (
    select *,
           max(end_time) over (
               partition by kind, symbol order by start_time, end_time
               rows between unbounded preceding and 1 preceding
           ) as reach_before
    from ranges
),
islands as (
    select *,
           sum((reach_before is null or start_time > reach_before)::int) over (
               partition by kind, symbol order by start_time, end_time rows unbounded preceding
           ) as island
    from reaches
)
select symbol, $source as data_source, kind, min(start_time) as start_time,
       max(end_time) as end_time, $now as fetched_at
from islands
group by kind, symbol, island
"""


def record_ranges(con: duckdb.DuckDBPyConnection, ranges: pd.DataFrame, data_source: str) -> int:
    """Record that ``data_source`` holds ``ranges`` (``kind, symbol, start_time, end_time``),
    each merged with the covered ranges it overlaps or touches, in one set of statements.

    Returns the number of coverage rows written.
    """
    if ranges.empty:
        return 0
    recorded = ranges[["kind", "symbol", "start_time", "end_time"]].astype(
        {"start_time": "datetime64[us]", "end_time": "datetime64[us]"}
    )
    con.register("recorded_ranges", recorded)
    try:
        parameters = {"source": data_source, "now": utc_now()}
        merged = con.execute(MERGED_COVERAGE_SQL, parameters).df()
        con.execute(
            f"delete from raw.coverage as coverage where {TOUCHING_COVERAGE}",
            {"source": data_source},
        )
        con.register("merged_coverage", merged)
        con.execute("insert into raw.coverage select * from merged_coverage")
        con.unregister("merged_coverage")
        return len(merged)
    finally:
        con.unregister("recorded_ranges")


def trim_coverage(
    con: duckdb.DuckDBPyConnection,
    removed: pd.DataFrame,
    kinds: Sequence[str],
) -> int:
    """Cut ``removed`` (``symbol, start_time, end_time``) out of the coverage of ``kinds``.

    Returns the number of coverage rows that changed.
    """
    if removed.empty:
        return 0
    con.register("removed_ranges", removed[["symbol", "start_time", "end_time"]])
    con.register("trimmed_kinds", pd.DataFrame({"kind": list(kinds)}))
    try:
        affected_filter = """
            kind in (select kind from trimmed_kinds)
            and exists (
                select 1 from removed_ranges as removed
                where removed.symbol = coverage.symbol
                  and removed.start_time < coverage.end_time
                  and removed.end_time > coverage.start_time
            )
        """
        affected = con.execute(
            f"select * from raw.coverage as coverage where {affected_filter}"
        ).df()
        if affected.empty:
            return 0
        kept = difference(
            con,
            affected[["symbol", "data_source", "kind", "fetched_at", "start_time", "end_time"]],
            "select symbol, start_time, end_time from removed_ranges",
            ["symbol"],
        )
        con.execute(f"delete from raw.coverage as coverage where {affected_filter}")
        con.register("kept_coverage", kept)
        con.execute(
            """
            insert into raw.coverage
            select symbol, data_source, kind, start_time, end_time, fetched_at from kept_coverage
            """
        )
        con.unregister("kept_coverage")
        return len(affected)
    finally:
        con.unregister("removed_ranges")
        con.unregister("trimmed_kinds")


def last_file_load(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the files source's last load, if it is still what the tables hold."""
    row = con.execute("select max(fingerprint) from raw.file_loads").fetchone()
    return row[0] if row else None


def record_file_load(con: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Remember the files source's load (the only one remembered: a later load may have updated
    bars an earlier one stored)."""
    forget_file_loads(con)
    con.execute("insert into raw.file_loads values (?, ?)", [fingerprint, utc_now()])


def forget_file_loads(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the last file load (its data was cleared): the next one reads the files again."""
    con.execute("delete from raw.file_loads")


@dataclass(frozen=True)
class ApiCall:
    """One logical call to a data vendor: a chunk fetch or a reference lookup."""

    data_source: str
    kind: str
    endpoint: str
    symbol: str
    start_time: pd.Timestamp | None
    end_time: pd.Timestamp | None
    pages: int
    row_count: int
    outcome: str
    detail: str | None = None


def record_call(con: duckdb.DuckDBPyConnection, call: ApiCall) -> None:
    """Count one call in ``raw.api_calls``."""
    con.execute(
        "insert into raw.api_calls values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            utc_now(),
            call.data_source,
            call.kind,
            call.endpoint,
            call.symbol,
            call.start_time,
            call.end_time,
            call.pages,
            call.row_count,
            call.outcome,
            call.detail,
        ],
    )


@dataclass(frozen=True)
class RunCounters:
    """What one ingest run of a fetching source needed, fetched and saved."""

    data_source: str
    kinds: str
    requests: int
    ranges_needed: int
    chunks_without_cache: int
    chunks_fetched: int
    calls_made: int
    outcome: str

    @property
    def calls_saved(self) -> int:
        """Chunk calls the cache answered: what an empty cache would have fetched, less the rest."""
        return max(self.chunks_without_cache - self.chunks_fetched, 0)


def record_run(con: duckdb.DuckDBPyConnection, run: RunCounters) -> None:
    """Count one ingest run in ``raw.ingest_runs``."""
    con.execute(
        "insert into raw.ingest_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            utc_now(),
            run.data_source,
            run.kinds,
            run.requests,
            run.ranges_needed,
            run.chunks_without_cache,
            run.chunks_fetched,
            run.calls_made,
            run.calls_saved,
            run.outcome,
        ],
    )
