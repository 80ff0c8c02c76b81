"""``backtest export`` shows a progress bar per table on a terminal and nothing in a pipe
(issue 12, item 4)."""

from __future__ import annotations

import subprocess

from tests.export.replica import assert_replica
from tests.reliability.processes import BACKTEST, run


def _argv(warehouse, pg_url: str) -> list[str]:
    return ["export", "--db", str(warehouse), "--db-url", pg_url, "--init-schema"]


def test_a_terminal_sees_rows_sent_of_the_total_per_table(warehouse, pg, pg_url):
    shown = run([*_argv(warehouse, pg_url), "--batch-size", "70"])
    assert shown.code == 0, shown.output
    frames = [frame.strip() for frame in shown.output.split("\r") if frame.strip()]
    bars = [frame for frame in frames if frame.startswith("bt_bars upsert [")]
    assert bars, shown.output
    assert bars[-1].startswith("bt_bars upsert [################]  300/300 rows  100%  0:")
    assert any(frame.startswith("bt_index upsert [") for frame in frames)
    assert "Exported " in shown.output
    assert_replica(warehouse, pg)


def test_a_pipe_gets_the_summary_without_progress(warehouse, pg, pg_url):
    piped = subprocess.run(
        [*BACKTEST, *_argv(warehouse, pg_url)], capture_output=True, text=True, timeout=300
    )
    assert piped.returncode == 0, piped.stderr
    assert "\r" not in piped.stdout + piped.stderr
    assert "upsert [" not in piped.stdout + piped.stderr
    assert "bt_bars: 300 upserted" in piped.stdout
    assert_replica(warehouse, pg)
