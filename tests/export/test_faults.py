"""Faults: unreachable server, wrong password, a rejected batch, a connection killed mid-batch.

Each time: the warehouse's results are untouched, the error is one sentence with a non-zero exit,
the export state records exactly the rows the target committed, and the next export delivers
the rest with nothing lost or duplicated.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import psycopg
import pytest

from backtest.cli import main
from backtest.core.errors import BacktestError
from backtest.export import ExportTarget, export_tables, schema_script
from tests.conftest import requests_frame
from tests.export.replica import (
    assert_replica,
    assert_state_matches_target,
    delivered_keys,
    rows_of_uid,
    spec_named,
    warehouse_fingerprint,
    warehouse_rows,
)

RUN_AAPL = [
    "run", "--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG",
    "--store-supabase",
]  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_error_sentence(stderr: str) -> str:
    """The one ``error:`` line of stderr (progress lines may precede it), with no traceback."""
    lines = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and lines[0].endswith(".")
    assert "Traceback" not in stderr
    return lines[0]


def _export_cli(warehouse, *flags: str) -> int:
    return main(["export", "--db", str(warehouse), *flags])


def test_unreachable_server_fails_in_one_sentence_and_touches_nothing(warehouse, capsys):
    before = warehouse_fingerprint(warehouse)
    url = f"postgresql://postgres:secret@127.0.0.1:{_closed_port()}/postgres"

    code = _export_cli(warehouse, "--db-url", url)

    assert code != 0
    line = _one_error_sentence(capsys.readouterr().err)
    assert "Cannot reach Supabase Postgres" in line and "secret" not in line
    assert warehouse_fingerprint(warehouse) == before
    assert delivered_keys(warehouse, "bt_index") == 0


def test_wrong_password_fails_in_one_sentence(warehouse, pg_cluster, capsys):
    before = warehouse_fingerprint(warehouse)

    code = _export_cli(warehouse, "--db-url", pg_cluster.url(password="not-the-password"))

    assert code != 0
    line = _one_error_sentence(capsys.readouterr().err)
    assert "rejected the credentials" in line and "not-the-password" not in line
    assert warehouse_fingerprint(warehouse) == before


def test_rejected_batch_keeps_the_delivered_batches_and_the_next_run_sends_the_rest(
    warehouse, pg, pg_url, capsys
):
    pg.execute(schema_script())
    before = warehouse_fingerprint(warehouse)
    rejected_uid = "NVDA.062724.1630.L"
    pg.execute(f"alter table bt_bars add constraint no_nvda check (uid <> '{rejected_uid}')")
    bars = warehouse_rows(warehouse, spec_named("bt_bars"))
    first_rejected = next(i for i, row in enumerate(bars) if row[0] == rejected_uid)
    batch = 50
    committed = (first_rejected // batch) * batch

    code = _export_cli(warehouse, "--db-url", pg_url, "--batch-size", str(batch))

    assert code != 0
    line = _one_error_sentence(capsys.readouterr().err)
    assert f"rejected upsert batch {first_rejected // batch + 1} of bt_bars" in line
    assert "no_nvda" in line
    assert warehouse_fingerprint(warehouse) == before
    assert assert_state_matches_target(warehouse, pg, "bt_bars") == committed > 0
    assert assert_state_matches_target(warehouse, pg, "bt_index") == 4

    pg.execute("alter table bt_bars drop constraint no_nvda")
    code = _export_cli(warehouse, "--db-url", pg_url, "--batch-size", str(batch))

    assert code == 0
    summary = capsys.readouterr().out
    assert f"bt_bars: {len(bars) - committed:,} upserted" in summary
    assert "bt_index: 0 upserted" in summary
    assert_replica(warehouse, pg)


def _kill_when_blocked(pg_url: str, locker: psycopg.Connection, killed: list[int]) -> None:
    """Wait until the exporter's batch waits on the lock, terminate its backend, release."""
    with psycopg.connect(pg_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = watcher.execute(
                "select pid from pg_stat_activity where application_name = 'backtest-export' "
                "and wait_event_type = 'Lock'"
            ).fetchone()
            if row:
                watcher.execute("select pg_terminate_backend(%s)", [row[0]])
                killed.append(row[0])
                break
            time.sleep(0.02)
    locker.rollback()


def test_connection_killed_mid_batch_records_exactly_the_committed_batches(warehouse, pg, pg_url):
    target = ExportTarget("postgres", db_url=pg_url, batch_size=60)
    pg.execute(schema_script())
    before = warehouse_fingerprint(warehouse)
    locker = psycopg.connect(pg_url)
    killed: list[int] = []
    threads = []

    def after_batch(done) -> None:
        # After the second bt_bars batch commits, block the third one inside its transaction
        # (its COPY into the staging table runs; its INSERT waits) and kill its connection.
        if done.table == "bt_bars" and done.batch == 2:
            locker.execute("lock table bt_bars in share mode")
            thread = threading.Thread(target=_kill_when_blocked, args=(pg_url, locker, killed))
            thread.start()
            threads.append(thread)

    with pytest.raises(BacktestError) as failure:
        export_tables(warehouse, target, progress=after_batch)
    for thread in threads:
        thread.join()
    locker.close()

    message = str(failure.value)
    assert killed, "the exporter never blocked on the lock"
    assert "\n" not in message and message.endswith(".")
    assert "was lost during upsert batch 3 of bt_bars" in message
    assert warehouse_fingerprint(warehouse) == before
    assert assert_state_matches_target(warehouse, pg, "bt_bars") == 120
    assert assert_state_matches_target(warehouse, pg, "bt_signals") == 0

    resumed = {table.table: table for table in export_tables(warehouse, target).tables}

    assert resumed["bt_bars"].upserted == 300 - 120
    assert resumed["bt_index"].upserted == 0
    assert_replica(warehouse, pg)
    assert delivered_keys(warehouse, "bt_bars") == 300


def test_run_store_supabase_keeps_local_results_when_the_export_fails(
    settings, pg_cluster, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "SUPABASE_DB_URL", f"postgresql://postgres:x@127.0.0.1:{_closed_port()}/postgres"
    )
    output = tmp_path / "result.json"

    code = main(
        [
            *RUN_AAPL,
            "--output",
            str(output),
        ]
    )

    assert code != 0
    captured = capsys.readouterr()
    assert "Cannot reach Supabase Postgres" in _one_error_sentence(captured.err)
    assert json.loads(output.read_text())["uid"] == "AAPL.062724.1335.L"
    assert len(warehouse_rows(settings.db_path, spec_named("bt_bars"))) == 75


def test_run_store_supabase_exports_after_the_build(
    settings, pg, pg_url, tmp_path, monkeypatch, capsys, run
):
    monkeypatch.chdir(tmp_path)
    run(requests_frame(("SPY", "2024-06-27 18:00:00", "SHORT")))
    export_tables(settings.db_path, ExportTarget("postgres", db_url=pg_url), init_schema=True)
    monkeypatch.setenv("SUPABASE_DB_URL", pg_url)

    code = main(
        [
            *RUN_AAPL,
        ]
    )

    assert code == 0
    new_rows = sum(rows_of_uid(settings.db_path, "AAPL.062724.1335.L").values())
    assert f"Exported {new_rows} changed rows" in capsys.readouterr().out
    counts = assert_replica(settings.db_path, pg)
    assert counts["bt_index"] == 2


def test_export_without_any_target_configured_says_what_to_set(
    warehouse, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name in ("SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_KEY"):
        monkeypatch.delenv(name, raising=False)

    code = _export_cli(warehouse)

    assert code != 0
    assert "set SUPABASE_DB_URL" in _one_error_sentence(capsys.readouterr().err)
