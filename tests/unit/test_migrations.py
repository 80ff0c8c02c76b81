"""The raw schema grows by numbered migrations: a new warehouse gets them all once, and an
older warehouse keeps its rows and gains what it lacks."""

from __future__ import annotations

import duckdb

from backtest.core.warehouse import MIGRATIONS, connect, migrate, migration_files


def test_a_new_warehouse_applies_every_migration_once(tmp_path):
    db = tmp_path / "new.duckdb"
    with connect(db) as con:
        versions = con.execute("select version from raw.schema_migrations order by 1").fetchall()
        assert migrate(con) == []
    expected = [int(path.name[:3]) for path in migration_files()]
    assert {path.suffix for path in migration_files()} == {".sql", ".py"}
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


def test_an_older_bt_aggregated_gains_the_same_bar_flag_after_bars_to_mae(tmp_path):
    db = tmp_path / "built.duckdb"
    with duckdb.connect(str(db)) as con:  # a mart dbt built before migration 004 existed
        con.execute((MIGRATIONS / "001_raw_tables.sql").read_text())
        con.execute(
            "create table main.bt_aggregated as select * from (values "
            "('a', 3, 3, 1.5), ('b', 3, 7, -0.5), ('c', null, null, null)) "
            "as rows (uid, bars_to_mfe, bars_to_mae, return_5m)"
        )
    with connect(db) as con:
        columns = [row[0] for row in con.execute("describe main.bt_aggregated").fetchall()]
        rows = con.execute("select * from main.bt_aggregated order by uid").fetchall()
    assert columns == ["uid", "bars_to_mfe", "bars_to_mae", "has_same_bar_extremes", "return_5m"]
    assert rows == [("a", 3, 3, True, 1.5), ("b", 3, 7, False, -0.5), ("c", None, None, None, None)]


def test_a_warehouse_without_the_mart_is_left_for_dbt_to_build(tmp_path):
    with connect(tmp_path / "new.duckdb") as con:
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main'"
        ).fetchone()[0]
    assert tables == 0
