"""The shared cache's memory: which (symbol, source, kind, time range) the warehouse holds.

A fetching source records every range it asked for in ``raw.coverage``, including ranges that came
back empty, so nothing is fetched twice: the planner subtracts the covered ranges from what the
requests need and fetches only the gaps. Coverage always describes what the data tables hold: when
a range is cleared, the coverage is cut back accordingly (sources never overwrite each other's
data, so nothing else can take it away). Calls and runs are counted in ``raw.api_calls`` and
``raw.ingest_runs``. All interval arithmetic is one SQL statement over whole sets of ranges.
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
    """The parts of ``needed`` (``kind, symbol, start_time, end_time``) not covered yet.

    ``sources`` names the data source whose coverage counts for each kind (adjusted and raw
    Polygon bars are different data, so one never covers the other).
    """
    wanted = pd.DataFrame({"kind": list(sources), "data_source": list(sources.values())})
    con.register("wanted_sources", wanted)
    try:
        return difference(
            con,
            needed[["kind", "symbol", "start_time", "end_time"]],
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
    key = {"symbol": symbol, "source": data_source, "kind": kind, "start": start, "end": end}
    where = """
        symbol = $symbol and data_source = $source and kind = $kind
        and start_time <= $end and end_time >= $start
    """
    merged_start, merged_end = con.execute(
        f"""
        select least(min(start_time), $start), greatest(max(end_time), $end)
        from raw.coverage where {where}
        """,
        key,
    ).fetchone()
    con.execute(f"delete from raw.coverage where {where}", key)
    con.execute(
        "insert into raw.coverage values ($symbol, $source, $kind, $start, $end, $now)",
        {**key, "start": merged_start, "end": merged_end, "now": utc_now()},
    )
    return True


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
