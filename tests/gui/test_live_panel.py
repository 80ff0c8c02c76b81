"""The Live page driven for real: a replayed session of demo bars built minute by minute in the
loop's own process, shown as the same table as ``backtest live`` (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from PyQt6.QtCore import Qt

from backtest.build.results import fetch_results
from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from backtest.live import Cycle, parse_symbols
from backtest.live.table import calls_grid, outcome_grid
from tests.gui.test_window import open_window

__all__ = ["open_window"]

LIVE_TIMEOUT_MS = 120_000
START = "2024-06-27 13:30"


def _replay(window, minutes: int, symbols: str = "AAPL,MSFT") -> list:
    """Fill the Live page for a replay from 13:30 UTC; the updates it will show, in order."""
    window.pages.setCurrentWidget(window.live)
    window.live.symbols.setText(symbols)
    window.live.replay_start.setText(START)
    window.live.minutes.setValue(minutes)
    shown = []
    window.live.cycle_shown.connect(shown.append)
    return shown


def _stored(db_path: Path, uids: list[str]) -> list[dict]:
    with connect(db_path, read_only=True) as con:
        return fetch_results(con, uids)


def test_replay_shows_the_cli_table_each_minute_then_the_summary(open_window, qtbot, settings):
    window = open_window(settings.db_path)
    shown = _replay(window, minutes=3)
    with qtbot.waitSignal(window.live.finished, timeout=LIVE_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.live.start_button, Qt.MouseButton.LeftButton)
    assert [update.present for update in shown] == [
        "2024-06-27 13:30",
        "2024-06-27 13:31",
        "2024-06-27 13:32",
    ]
    # The window reads its history next (the run's 6 entries); this process's reader waits.
    qtbot.waitUntil(lambda: len(window.history.uids()) == 6, timeout=60_000)
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    last = _stored(settings.db_path, ["AAPL.062724.1332.L", "MSFT.062724.1332.L"])
    cycle = Cycle(pd.Timestamp("2024-06-27 13:32"), results=tuple(last), new=2)
    expected = calls_grid(cycle)
    assert window.live.calls.headers() == list(expected.headers)
    assert window.live.calls.rows() == list(expected.rows)
    for row, result in zip(window.live.calls.rows(), last, strict=True):
        consensus = result["consensus"]
        assert row[:4] == (result["symbol"], "LONG", "13:32", "09:32")
        assert row[-1] == f"{consensus['consensus_direction']} {consensus['agreement_score']:.0f}%"
    assert window.live.outcomes.headers() == list(outcome_grid(cycle).headers)
    assert window.live.outcomes.rows() == []  # no entry is 5 minutes old yet
    assert window.live.caption.text() == (
        "Calls for the minute from 13:32 UTC (09:32 New York), on the bars before it:"
    )
    assert re.fullmatch(
        r"13:32 signal \d+\.\d\d s after the close · 6 requests built \(2 new, 4 earlier\).*",
        window.live.status.text(),
    )
    summary = finished.args[0]
    assert summary.startswith("3 minutes live (13:30-13:32 UTC): 3 signals printed, ")
    assert window.live.summary.text() == summary
    assert window.live.title.text().endswith("demo source · minute 3 of 3")
    assert window.live.synthetic.isVisible()
    assert window.live.exit_code == 0 and window.live.start_button.isEnabled()


def test_stop_ends_the_loop_after_the_current_minute(open_window, qtbot, settings):
    window = open_window(settings.db_path)
    shown = _replay(window, minutes=0)  # until Stop
    assert window.live.minutes.text() == "until Stop"
    with qtbot.waitSignal(
        window.live.minute_started,
        timeout=LIVE_TIMEOUT_MS,
        check_params_cb=lambda present: present == "13:31",
    ):
        assert window.live.start()
    assert [update.present[-5:] for update in shown] == ["13:30"]
    with qtbot.waitSignal(window.live.finished, timeout=LIVE_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.live.stop_button, Qt.MouseButton.LeftButton)
        assert window.live.state.text() == "Stopping after the current minute …"
    assert [update.present[-5:] for update in shown] == ["13:30", "13:31"]
    assert finished.args[0].startswith("2 minutes live (13:30-13:31 UTC): 2 signals printed, ")
    assert window.live.calls.rows()[0][:3] == ("AAPL", "LONG", "13:31")
    assert not window.live.running and window.live.exit_code == 0
    assert window.live.start_button.isEnabled() and not window.live.stop_button.isEnabled()


def test_closing_the_window_during_a_run_ends_its_process(open_window, qtbot, settings):
    window = open_window(settings.db_path)
    _replay(window, minutes=0)
    with qtbot.waitSignal(window.live.cycle_shown, timeout=LIVE_TIMEOUT_MS):
        assert window.live.start()
    pid = window.live.worker.pid
    window.close()
    assert not window.isVisible() and not window.live.running

    def ended() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    qtbot.waitUntil(ended, timeout=60_000)


def test_a_bad_symbol_is_one_sentence_and_starts_nothing(open_window, settings):
    window = open_window(settings.db_path)
    _replay(window, minutes=3, symbols="AAPL,MS FT")
    with pytest.raises(BacktestError) as refused:
        parse_symbols("AAPL,MS FT")
    assert window.live.start() is False
    assert window.live.state.text() == str(refused.value)
    assert str(refused.value).endswith(".") and "\n" not in str(refused.value)
    assert not window.live.running and not settings.db_path.exists()
    assert f"error: {refused.value}" in window.log.lines()[-1]


def test_a_failing_first_minute_is_one_sentence_from_the_child(
    open_window, qtbot, settings, tmp_path
):
    window = open_window(settings.db_path)
    broken = tmp_path / "bars.csv"
    broken.write_text("this is not,a bar file\n1,2\n")
    _replay(window, minutes=3)
    window.live.source.setCurrentText("files")
    window.live.bar_files.line.setText(str(broken))
    with qtbot.waitSignal(window.live.error_shown, timeout=LIVE_TIMEOUT_MS) as failed:
        assert window.live.start()
    sentence = failed.args[0]
    assert sentence.startswith("The first live minute failed: ") and sentence.endswith(".")
    assert "Traceback" not in sentence and "\n" not in sentence
    assert window.live.state.text() == sentence
    assert not window.live.synthetic.isVisible()
    assert window.live.exit_code == 0 and window.live.start_button.isEnabled()
