"""The window's backtests run in one long-lived child process (issue 12, 2b): the second run finds
it warm (dbt's manifest in memory, the day's bars held), and closing the window ends it."""

from __future__ import annotations

from datetime import datetime

from backtest.core.warehouse import connect
from tests.gui.test_window import RUN_TIMEOUT_MS, open_window

__all__ = ["open_window"]


def test_a_second_run_reuses_the_warm_process_and_closing_ends_it(open_window, qtbot, settings):
    window = open_window(settings.db_path)
    runs = []
    for minute in (0, 5):
        window.form.set_entry(window.form.entry, datetime(2024, 6, 27, 14, minute))
        with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
            assert window.start_run()
        runs.append((finished.args[0], window.backtests.pid))
        qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    (first, first_pid), (second, second_pid) = runs
    assert first_pid is not None and second_pid == first_pid
    assert any("symbol-day already held" in line for line in second.lines)
    assert not any("project parsed" in line for line in second.lines)
    with connect(settings.db_path) as con:  # between runs the child holds nothing open
        assert con.execute("select count(*) from bt_index").fetchone()[0] == 2
    ended = window.backtests.process
    window.close()
    assert not window.backtests.alive
    qtbot.waitUntil(lambda: not ended.is_alive(), timeout=30_000)
    assert ended.exitcode == 0
