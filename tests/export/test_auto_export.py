"""The background auto-export for the dashboard: export after each build, survive failures."""

from __future__ import annotations

import socket

from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from backtest.export import (
    AutoExporter,
    ExportTarget,
    auto_export,
    export_tables,
    schema_script,
)
from tests.conftest import requests_frame
from tests.export.replica import assert_replica


def test_auto_export_follows_each_build(settings, warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    reports = []
    with auto_export(warehouse, pg_target) as exporter:
        exporter.on_done = lambda report, error: reports.append((report, error))
        exporter.run(
            run_requests,
            settings,
            requests_frame(("SPY", "2024-06-27 18:00:00", "SHORT")),
            RunOptions(),
            source="demo",
            show_progress=False,
        )
        assert exporter.wait_idle(timeout=120)
        assert exporter.last_error is None
        assert assert_replica(warehouse, pg)["bt_index"] == 5

        exporter.notify()
        assert exporter.wait_idle(timeout=120)

    assert [error for _, error in reports] == [None, None]
    assert reports[0][0].upserted > 0 and reports[1][0].changed == 0
    assert exporter.exports == 2


def test_auto_export_keeps_running_after_a_failed_export(warehouse, pg, pg_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"postgresql://postgres:x@127.0.0.1:{probe.getsockname()[1]}/postgres"
    exporter = AutoExporter(warehouse, ExportTarget("postgres", db_url=closed))
    try:
        exporter.notify()
        assert exporter.wait_idle(timeout=60)
        assert exporter.last_error.startswith("Cannot reach Supabase Postgres")
        assert exporter.last_report is None
        assert exporter.running

        exporter.target = ExportTarget("postgres", db_url=pg_url)
        pg.execute(schema_script())
        exporter.notify()
        assert exporter.wait_idle(timeout=60)
        assert exporter.last_error is None
        assert exporter.last_report.upserted > 0
        assert_replica(warehouse, pg)
    finally:
        exporter.close(timeout=60)
    assert not exporter.running
