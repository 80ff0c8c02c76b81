"""The raw schema grows by numbered migrations: a new warehouse gets them all once, and an
older warehouse keeps its rows and gains what it lacks."""

from __future__ import annotations

import duckdb

from backtest.core.warehouse import MIGRATIONS, connect, migrate


def test_a_new_warehouse_applies_every_migration_once(tmp_path):
    db = tmp_path / "new.duckdb"
    with connect(db) as con:
        versions = con.execute("select version from raw.schema_migrations order by 1").fetchall()
        assert migrate(con) == []
    expected = sorted(int(path.name[:3]) for path in MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))
    assert [row[0] for row in versions] == expected


def test_an_older_warehouse_keeps_its_rows_and_gains_the_new_columns(tmp_path):
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:  # as the first release left it: no migrations table
        con.execute((MIGRATIONS / "001_raw_tables.sql").read_text())
        con.execute(
            "insert into raw.requests values ('AAPL.062724.1335.L', 'AAPL', "
            "'2024-06-27 13:35', 'LONG', 2, 60, 'files', now(), now())"
        )
    with connect(db) as con:
        row = con.execute(
            "select data_source, tick_data_source, calculations from raw.requests"
        ).fetchall()
        columns = {r[0] for r in con.execute("describe raw.bar_rejects").fetchall()}
    assert row == [("files", None, None)]
    assert "expectation" in columns
