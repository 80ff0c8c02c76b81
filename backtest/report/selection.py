"""The requests a report covers: ``--where`` over bt_index joined with bt_aggregated, as
temporary views of the four marts that every query (and the rendered marts) read.

The warehouse is open read-only; DuckDB keeps temporary tables and views in memory beside it,
so a selection writes nothing to the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from backtest.core.errors import BacktestError, database_reason
from backtest.report.marts import REFERABLE, selection_relations
from ingest.demo import DATA_SOURCE as SYNTHETIC_SOURCE

PREFIX = "report_"
RELATIONS = selection_relations(PREFIX)
"""Each mart's view of the selection: ``bt_index`` -> ``report_bt_index``, ..."""
WHERE_EXAMPLE = "--where \"symbol = 'AAPL' and direction = 'LONG'\""


@dataclass(frozen=True)
class Selection:
    """What the report covers, for its header."""

    where: str | None
    requests: int
    statuses: dict[str, int] = field(default_factory=dict)
    first_entry: datetime | None = None
    last_entry: datetime | None = None
    symbols: tuple[str, ...] = ()
    data_sources: tuple[str, ...] = ()
    synthetic_requests: int = 0

    @property
    def measured(self) -> int:
        """Requests with forward data (status complete or partial)."""
        return self.requests - self.statuses.get("no_data", 0)

    @property
    def synthetic(self) -> bool:
        """Whether any selected request was built from SYNTHETIC demo bars."""
        return self.synthetic_requests > 0


def _check_marts(con: duckdb.DuckDBPyConnection, db_label: str) -> None:
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    }
    missing = [name for name in REFERABLE if name not in present]
    if missing:
        raise BacktestError(
            f"Warehouse {db_label} holds no results yet (no {', '.join(missing)}): run "
            "`backtest run` or `backtest build` first."
        )


def _check_where(where: str) -> None:
    """One condition, or one sentence saying what is wrong with it."""
    try:
        statements = duckdb.extract_statements(f"select 1 from bt_index where ({where})")
    except duckdb.Error as error:
        raise BacktestError(_where_failure(where, error)) from None
    if len(statements) != 1:
        raise BacktestError(
            f"--where {where!r} is not one SQL condition: drop the ';' and give a filter such "
            f"as {WHERE_EXAMPLE}."
        )


def _where_failure(where: str, error: duckdb.Error) -> str:
    """The filter's problem as one sentence.

    >>> print(_where_failure("symbl = 'A'", duckdb.BinderException(
    ...     'Binder Error: Referenced column "symbl" not found!\\nCandidate bindings: "symbol"')))
    --where "symbl = 'A'" failed (Binder Error: Referenced column "symbl" not found; candidate \
bindings: "symbol"): use columns of bt_index and bt_aggregated, e.g. --where "symbol = 'AAPL' \
and direction = 'LONG'".
    """
    return (
        f'--where "{where}" failed ({database_reason(error)}): use columns of bt_index and '
        f"bt_aggregated, e.g. {WHERE_EXAMPLE}."
    )


def select_requests(
    con: duckdb.DuckDBPyConnection, where: str | None, db_label: str = "the warehouse"
) -> Selection:
    """Create the selection's temporary views on ``con`` and describe what they hold.

    Args:
        con: a connection to the warehouse (read-only is enough).
        where: a SQL condition over the columns of bt_index and bt_aggregated, or None for
            every stored request.
        db_label: how error sentences name the warehouse.
    """
    _check_marts(con, db_label)
    con.execute("set TimeZone = 'UTC'; set enable_progress_bar = false")
    where = where.strip() if where and where.strip() else None
    if where is None:
        for name, view in RELATIONS.items():
            con.execute(f"create or replace temp view {view} as select * from {name}")
    else:
        _check_where(where)
        try:
            con.execute(
                f"""
                create or replace temp table {PREFIX}selected_uids as
                select uid from (
                    select * from bt_index left join bt_aggregated using (uid)
                ) as selectable
                where ({where})
                """
            )
        except duckdb.Error as error:
            raise BacktestError(_where_failure(where, error)) from None
        for name, view in RELATIONS.items():
            con.execute(
                f"create or replace temp view {view} as select * from {name} "
                f"where uid in (select uid from {PREFIX}selected_uids)"
            )
    return _describe(con, where)


def _describe(con: duckdb.DuckDBPyConnection, where: str | None) -> Selection:
    requests, first_entry, last_entry, symbols, sources, synthetic = con.execute(
        f"""
        select
            count(*),
            min(entry_time),
            max(entry_time),
            coalesce(list(distinct symbol order by symbol), []),
            coalesce(list(distinct data_source order by data_source), []),
            count(*) filter (where data_source = ?)
        from {RELATIONS["bt_index"]}
        """,
        [SYNTHETIC_SOURCE],
    ).fetchone()
    statuses = dict(
        con.execute(
            f"select status, count(*) from {RELATIONS['bt_index']} group by status"
        ).fetchall()
    )
    return Selection(
        where=where,
        requests=requests,
        statuses=statuses,
        first_entry=first_entry,
        last_entry=last_entry,
        symbols=tuple(symbols),
        data_sources=tuple(sources),
        synthetic_requests=synthetic,
    )
