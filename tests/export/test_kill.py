"""kill -9 in the middle of an export, then the same export again: the replica equals the
warehouse, the delivery state equals what the target holds, nothing is lost or duplicated
(issue 8, item 6)."""

from __future__ import annotations

import signal
import time

from backtest.export import schema_script
from tests.export.replica import assert_replica, assert_state_matches_target, exported_specs
from tests.reliability.processes import run, start


def _rows_in_target(pg, tables: list[str]) -> int:
    return sum(pg.execute(f"select count(*) from {name}").fetchone()[0] for name in tables)


def test_an_export_killed_mid_way_finishes_exactly_on_the_next_run(warehouse, pg, pg_url):
    pg.execute(schema_script())
    tables = [spec.name for spec in exported_specs(warehouse)]
    argv = ["export", "--db", str(warehouse), "--db-url", pg_url, "--batch-size", "20"]
    exporter, master = start(argv)
    try:
        deadline = time.monotonic() + 120
        while _rows_in_target(pg, tables) == 0 and exporter.poll() is None:
            assert time.monotonic() < deadline, "the export never delivered a row"
            time.sleep(0.02)
        exporter.send_signal(signal.SIGKILL)
        assert exporter.wait(timeout=30) == -signal.SIGKILL
    finally:
        exporter.kill()
    delivered = _rows_in_target(pg, tables)
    assert delivered > 0
    again = run(argv)
    assert again.code == 0, again.output
    counts = assert_replica(warehouse, pg)
    assert sum(counts.values()) > delivered  # the kill came before the end
    for name in tables:
        assert_state_matches_target(warehouse, pg, name)
