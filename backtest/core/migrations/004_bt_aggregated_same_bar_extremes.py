"""bt_aggregated gains ``has_same_bar_extremes`` (bars_to_mfe = bars_to_mae), right after
``bars_to_mae`` where its dbt contract declares it, filled for the rows already stored.

dbt owns ``main.bt_aggregated`` and builds it incrementally with ``on_schema_change: fail``, so
a warehouse built before the column existed would fail its next build. ``alter table ... add
column`` can only append, so the table is copied once with the column in the contract's place.
A warehouse where dbt has not built the table yet (or already built it with the column) needs
nothing.
"""

from __future__ import annotations

import duckdb

SCHEMA = "main"
TABLE = "bt_aggregated"
COLUMN = "has_same_bar_extremes"
AFTER = "bars_to_mae"
VALUE = "bars_to_mfe = bars_to_mae"  # null when either is null


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade(con: duckdb.DuckDBPyConnection) -> None:
    """Copy ``main.bt_aggregated`` with the new column after ``bars_to_mae``, if it lacks it."""
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [SCHEMA, TABLE],
        ).fetchall()
    ]
    if not columns or COLUMN in columns or AFTER not in columns:
        return
    selected = [_quoted(name) for name in columns]
    selected.insert(columns.index(AFTER) + 1, f"{VALUE} as {COLUMN}")
    copy = f"{TABLE}__migrating"
    con.execute(
        f"create table {SCHEMA}.{copy} as select {', '.join(selected)} from {SCHEMA}.{TABLE}"
    )
    con.execute(f"drop table {SCHEMA}.{TABLE}")
    con.execute(f"alter table {SCHEMA}.{copy} rename to {TABLE}")
