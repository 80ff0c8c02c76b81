"""The Postgres transport against a real server: replica, idempotence, changes, deletions."""

from __future__ import annotations

import math

import duckdb
import psycopg

from backtest.cli import main
from backtest.export import ExportTarget, export_tables, load_table_specs, schema_script
from tests.conftest import requests_frame
from tests.export.replica import (
    assert_replica,
    delivered_keys,
    postgres_rows,
    rows_of_uid,
    spec_named,
    warehouse_rows,
)


def _by_table(report) -> dict[str, object]:
    """The exported tables' reports by name (tables skipped as not declared left out)."""
    return {table.table: table for table in report.tables if not table.skipped}


def test_export_replicates_every_table_row_by_row_and_re_export_changes_nothing(
    warehouse, pg, pg_target
):
    first = export_tables(warehouse, pg_target, init_schema=True)
    counts = assert_replica(warehouse, pg)
    assert {name: table.upserted for name, table in _by_table(first).items()} == counts
    assert counts["bt_bars"] == 75 * counts["bt_index"] == 300
    for name, count in counts.items():
        assert delivered_keys(warehouse, name) == count

    second = export_tables(warehouse, pg_target)
    assert second.changed == 0
    assert all(table.batches == 0 for table in second.tables)
    assert assert_replica(warehouse, pg) == counts


def test_timestamps_arrive_as_the_same_utc_instant(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    pg.execute("set time zone 'America/New_York'")
    remote = dict(
        pg.execute(
            "select uid, to_char(entry_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
            "from bt_index"
        ).fetchall()
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        local = dict(
            con.execute(
                "select uid, strftime(entry_time, '%Y-%m-%d %H:%M:%S') from bt_index"
            ).fetchall()
        )
    assert remote == local
    assert remote["AAPL.062724.1335.L"] == "2024-06-27 13:35:00"


def test_a_changed_request_is_updated_in_place_and_only_changes_are_sent(
    warehouse, pg, pg_target, run
):
    export_tables(warehouse, pg_target, init_schema=True)
    before = {name: warehouse_rows(warehouse, spec_named(name)) for name in ("bt_index", "bt_bars")}
    # The same request with another lookback keeps its uid; the other side is a new uid.
    run(requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG")), lookback_hours=1.0)
    run(requests_frame(("AAPL", "2024-06-27 13:35:00", "SHORT")))
    after = {name: warehouse_rows(warehouse, spec_named(name)) for name in ("bt_index", "bt_bars")}
    changed_bars = len(set(after["bt_bars"]) - set(before["bt_bars"]))
    changed_index = len(set(after["bt_index"]) - set(before["bt_index"]))

    report = _by_table(export_tables(warehouse, pg_target))

    assert report["bt_index"].upserted == changed_index == 2
    assert report["bt_bars"].upserted == changed_bars
    assert 75 <= changed_bars < len(after["bt_bars"])
    counts = assert_replica(warehouse, pg)
    assert counts["bt_index"] == 5
    lookback = pg.execute(
        "select historical_lookback_hours from bt_index where uid = 'AAPL.062724.1335.L'"
    ).fetchone()[0]
    assert lookback == 1.0
    assert export_tables(warehouse, pg_target).changed == 0


def test_full_export_resends_everything_without_rewriting_identical_rows(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    versions = pg.execute("select uid, bar_offset, xmin::text from bt_bars").fetchall()

    forced = export_tables(warehouse, pg_target, full=True)

    assert forced.upserted == sum(
        len(warehouse_rows(warehouse, spec_named(name))) for name in _by_table(forced)
    )
    assert pg.execute("select uid, bar_offset, xmin::text from bt_bars").fetchall() == versions
    assert_replica(warehouse, pg)


def test_batches_have_the_configured_size(warehouse, pg, pg_url):
    target = ExportTarget("postgres", db_url=pg_url, batch_size=70)
    done = []
    report = export_tables(warehouse, target, init_schema=True, progress=done.append)
    bars = [event for event in done if event.table == "bt_bars"]
    assert [event.rows for event in bars] == [0, 70, 70, 70, 70, 20]  # 0: delivery starts
    assert [event.done for event in bars] == [0, 70, 140, 210, 280, 300]
    assert [event.batch for event in bars] == [0, 1, 2, 3, 4, 5]
    assert _by_table(report)["bt_bars"].batches == math.ceil(300 / 70)
    assert [event.table for event in done][0] == "bt_index"
    assert_replica(warehouse, pg)


def test_rows_gone_from_the_warehouse_are_deleted_at_the_target(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    signals = delivered_keys(warehouse, "bt_signals")
    # As a rebuild that no longer runs a calculation would leave it: its signal row is gone.
    uid, calculation = warehouse_rows(warehouse, spec_named("bt_signals"))[-1][:2]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from main.bt_signals where uid = ? and calculation = ?", [uid, calculation]
        )

    report = _by_table(export_tables(warehouse, pg_target))

    assert report["bt_signals"].deleted == 1
    assert sum(table.changed for table in report.values()) == 1
    assert_replica(warehouse, pg)
    assert delivered_keys(warehouse, "bt_signals") == signals - 1


def test_rows_of_a_request_not_fully_built_wait_for_its_index_row(warehouse, pg, pg_target, run):
    uid = "NVDA.062724.1630.L"
    children = rows_of_uid(warehouse, uid)
    del children["bt_index"]
    # A build that stopped before bt_index (built last) leaves child rows without a parent.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from main.bt_index where uid = ?", [uid])

    first = _by_table(export_tables(warehouse, pg_target, init_schema=True))

    assert {name: first[name].held_back for name in children} == children
    assert children["bt_bars"] == 75
    for name in children:
        assert pg.execute(f"select count(*) from {name} where uid = %s", [uid]).fetchone()[0] == 0

    run(requests_frame(("NVDA", "2024-06-27 16:30:00", "LONG")))
    second = _by_table(export_tables(warehouse, pg_target))

    assert {name: table.upserted for name, table in second.items()} == rows_of_uid(warehouse, uid)
    assert all(table.held_back == 0 for table in second.values())
    assert_replica(warehouse, pg)


def test_export_state_is_kept_per_target(warehouse, pg, pg_target, pg_cluster):
    export_tables(warehouse, pg_target, init_schema=True)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute("drop database if exists export_second_target")
        admin.execute("create database export_second_target")
    other = ExportTarget("postgres", db_url=pg_cluster.url("export_second_target"))
    try:
        report = export_tables(warehouse, other, init_schema=True)
        assert report.upserted == sum(
            len(warehouse_rows(warehouse, spec_named(name))) for name in _by_table(report)
        )
        with psycopg.connect(other.db_url) as conn:
            assert postgres_rows(conn, spec_named("bt_bars")) == postgres_rows(
                pg, spec_named("bt_bars")
            )
        assert export_tables(warehouse, pg_target).changed == 0
    finally:
        with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
            admin.execute("drop database if exists export_second_target with (force)")


def test_cli_export_prints_a_summary_and_force_resends_everything(warehouse, pg, pg_url, capsys):
    assert main(["export", "--db", str(warehouse), "--db-url", pg_url, "--init-schema"]) == 0
    first = capsys.readouterr().out
    assert "bt_bars: 300 upserted, 0 deleted in 1 batch" in first
    assert "Created tables: bt_index" in first

    assert main(["export", "--db", str(warehouse), "--db-url", pg_url]) == 0
    assert "Exported 0 changed rows" in capsys.readouterr().out

    assert main(["export", "--db", str(warehouse), "--db-url", pg_url, "--force"]) == 0
    assert "bt_bars: 300 upserted" in capsys.readouterr().out
    assert_replica(warehouse, pg)


def test_the_derived_summary_is_not_announced_and_undeclared_request_tables_are(
    warehouse, pg_url, capsys
):
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from bt_signal_performance").fetchone()[0] > 0
    assert main(["export", "--db", str(warehouse), "--db-url", pg_url, "--init-schema"]) == 0
    assert "bt_signal_performance" not in capsys.readouterr().out

    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table bt_new_mart as select uid from bt_index")
        con.execute("create table bt_new_summary as select count(*) as requests from bt_index")
    assert main(["export", "--db", str(warehouse), "--db-url", pg_url]) == 0
    shown = capsys.readouterr().out
    assert "bt_new_mart: skipped (no schema.sql declares it)" in shown
    assert "bt_new_summary" not in shown and "bt_signal_performance" not in shown


def test_cli_print_schema_is_the_ddl_that_init_schema_runs(pg, capsys):
    assert main(["export", "--print-schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_script()
    pg.execute(printed)
    tables = {
        row[0]
        for row in pg.execute(
            "select tablename from pg_tables where schemaname = 'public' and rowsecurity"
        )
    }
    assert tables == {spec.name for spec in load_table_specs()}
