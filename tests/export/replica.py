"""Row-by-row comparison of the warehouse's bt_* tables with their Postgres copies.

Values are compared exactly after one normalisation each side: Postgres timestamptz values are
converted to UTC and made naive (the warehouse's convention), DuckDB JSON text is parsed (Postgres
jsonb arrives parsed). Rows are sorted by primary key in Python, so collations do not matter.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg

from backtest.export import load_table_specs
from backtest.export.schema import TableSpec


def _from_duckdb(spec: TableSpec, value: object, index: int) -> object:
    if value is not None and spec.columns[index].is_json:
        return json.loads(value)
    return value


def _from_postgres(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _sorted(spec: TableSpec, rows: list[tuple]) -> list[tuple]:
    positions = [spec.column_names.index(key) for key in spec.key]
    return sorted(rows, key=lambda row: tuple(row[position] for position in positions))


def warehouse_rows(db_path: Path, spec: TableSpec) -> list[tuple]:
    """Every row of the mart, in DDL column order, sorted by key."""
    columns = ", ".join(f'"{name}"' for name in spec.column_names)
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(f"select {columns} from main.{spec.name}").fetchall()
    return _sorted(
        spec,
        [tuple(_from_duckdb(spec, value, i) for i, value in enumerate(row)) for row in rows],
    )


def postgres_rows(conn: psycopg.Connection, spec: TableSpec) -> list[tuple]:
    """Every row of the Postgres table, in DDL column order, sorted by key."""
    columns = ", ".join(f'"{name}"' for name in spec.column_names)
    rows = conn.execute(f"select {columns} from {spec.name}").fetchall()
    return _sorted(spec, [tuple(_from_postgres(value) for value in row) for row in rows])


def built_tables(db_path: Path) -> set[str]:
    """The bt_* tables the warehouse has (a disabled plugin's table is never built)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    return {name for (name,) in rows}


def exported_specs(db_path: Path) -> list[TableSpec]:
    """The declared tables that the warehouse has built, i.e. the ones an export sends."""
    built = built_tables(db_path)
    return [spec for spec in load_table_specs() if spec.name in built]


def assert_replica(db_path: Path, conn: psycopg.Connection) -> dict[str, int]:
    """Assert that every exported table holds exactly the warehouse's rows; return the counts."""
    counts = {}
    for spec in exported_specs(db_path):
        local = warehouse_rows(db_path, spec)
        remote = postgres_rows(conn, spec)
        assert len(remote) == len(local), f"{spec.name}: {len(remote)} rows, expected {len(local)}"
        for expected, actual in zip(local, remote, strict=True):
            assert actual == expected, f"{spec.name} differs:\n{actual}\n!=\n{expected}"
        counts[spec.name] = len(local)
    return counts


def warehouse_fingerprint(db_path: Path) -> dict[str, str]:
    """md5 of every result and raw table's sorted rows: equal fingerprints = untouched data."""
    fingerprint = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('main', 'raw') and table_type = 'BASE TABLE' "
            "order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows = sorted(map(repr, con.execute(f'select * from {schema}."{table}"').fetchall()))
            fingerprint[f"{schema}.{table}"] = hashlib.md5("\n".join(rows).encode()).hexdigest()
    return fingerprint


def delivered_keys(db_path: Path, table: str) -> int:
    """How many keys of ``table`` the export state records as delivered (any target)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'export' and table_name = ?",
            [table],
        ).fetchone()[0]
        if not exists:
            return 0
        return con.execute(f"select count(*) from export.{table}").fetchone()[0]


def assert_state_matches_target(db_path: Path, conn: psycopg.Connection, table: str) -> int:
    """Assert that the keys recorded as delivered are exactly the keys at the target."""
    spec = spec_named(table)
    columns = ", ".join(f'"{key}"' for key in spec.key)
    with duckdb.connect(str(db_path), read_only=True) as con:
        recorded = set(con.execute(f"select {columns} from export.{table}").fetchall())
    present = set(conn.execute(f"select {columns} from {table}").fetchall())
    assert recorded == present, f"{table}: state and target differ"
    return len(present)


def rows_of_uid(db_path: Path, uid: str) -> dict[str, int]:
    """How many rows each exported table of the warehouse has for ``uid``."""
    return {
        spec.name: sum(1 for row in warehouse_rows(db_path, spec) if row[0] == uid)
        for spec in exported_specs(db_path)
    }


def spec_named(name: str) -> TableSpec:
    """The exported table called ``name``."""
    return next(spec for spec in load_table_specs() if spec.name == name)
