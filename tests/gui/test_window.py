"""The dashboard window driven for real: the form, the workers, the panels, history, cache and
push, on real warehouses built by the pipeline (pytest-qt, offscreen)."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from PyQt6.QtCore import QElapsedTimer, Qt, QTimer

from backtest.build.results import fetch_results
from backtest.cli import main as backtest
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions, prepare_requests, single_request
from backtest.core.warehouse import connect
from backtest.gui.panels import consensus_values, signal_cells, summary_values
from backtest.gui.window import DashboardWindow
from ingest.cache import cache_stats
from tests.export import conftest as export_fixtures

# The export suite's fixtures: a throwaway PostgreSQL cluster and a built four-request warehouse.
pg_cluster = export_fixtures.pg_cluster
pg_url = export_fixtures.pg_url
base_warehouse = export_fixtures.base_warehouse
warehouse = export_fixtures.warehouse

RUN_TIMEOUT_MS = 300_000
UI_GAP_LIMIT_MS = 150


@pytest.fixture
def open_window(qtbot):
    """Open dashboard windows on a warehouse; each is idle when handed over and waited for
    (its running job finished) at the end."""
    windows = []

    def _open(db_path: Path) -> DashboardWindow:
        window = DashboardWindow(db_path)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
        windows.append(window)
        return window

    yield _open
    for window in windows:
        window.queue.drop_waiting()
        window.queue.wait(RUN_TIMEOUT_MS)


def _stored(db_path: Path, uid: str) -> dict:
    with connect(db_path, read_only=True) as con:
        return fetch_results(con, [uid])[0]


def _assert_panels_show(window: DashboardWindow, result: dict) -> None:
    for name, text in summary_values(result).items():
        assert window.summary.value(name) == text, name
    for name, text in consensus_values(result).items():
        assert window.consensus.value(name) == text, name
    assert window.signals.rowCount() == len(result["signals"])
    for row, signal in enumerate(result["signals"]):
        cells = [window.signals.cell_text(row, column) for column in range(6)]
        assert cells == signal_cells(signal)


def test_form_run_shows_the_warehouse_rows(open_window, qtbot, settings):
    window = open_window(settings.db_path)
    window.form.symbol.clear()
    qtbot.keyClicks(window.form.symbol, "msft")
    window.form.direction.setCurrentText("SHORT")
    window.form.set_entry(window.form.entry, datetime(2024, 6, 27, 14, 15))
    assert window.form.new_york.text() == "10:15 New York (EDT)"
    shown: list[tuple[str, int, int, int, int]] = []

    def seen(message: str, done: int, total: int) -> None:
        bar = window.progress
        shown.append((message, done, total, bar.value(), bar.maximum()))

    window.progress_shown.connect(seen)
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.form.run_button, Qt.MouseButton.LeftButton)
    uid = "MSFT.062724.1415.S"
    assert finished.args[0].uids == [uid]
    _assert_live_progress(shown)
    # The window reads its history next; this process's other reader waits for that job.
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    result = _stored(settings.db_path, uid)
    _assert_panels_show(window, result)
    assert float(window.summary.value("Entry price")) == pytest.approx(
        result["forward"]["entry_price"], abs=0.005
    )
    assert window.consensus.value("Votes").startswith("BULLISH ")
    assert window.synthetic.isVisible()
    with connect(settings.db_path, read_only=True) as con:
        filled = con.execute(
            "select bar_offset from bt_bars where uid = ? and is_filled order by bar_offset", [uid]
        ).fetchall()
    assert window.chart.candle_count == 75
    assert list(window.chart.filled_offsets) == [offset for (offset,) in filled]
    assert uid in window.history.uids()


def _assert_live_progress(shown: list[tuple[str, int, int, int, int]]) -> None:
    """The stages reached the window in order, the dbt nodes one by one with the bar following."""
    messages = [message for message, *_ in shown]
    assert messages[0] == "Loading bars for 1 request from the demo source ..."
    building = messages.index("Building 1 request with dbt ...")
    nodes = [row for row in shown if row[0].startswith("dbt build: ")]
    assert len(nodes) > 1 and all(0 < done <= total for _, done, total, *_ in nodes)
    assert all((value, maximum) == (done, total) for _, done, total, value, maximum in nodes)
    assert [done for _, done, *_ in nodes] == list(range(1, len(nodes) + 1))
    first, last = messages.index(nodes[0][0]), messages.index(nodes[-1][0])
    assert building < first and nodes[-1][1] == nodes[-1][2]
    assert re.fullmatch(r"dbt build: \d+ of \d+ nodes \(\w+\)", nodes[0][0])
    assert messages[last + 1 :] == ["Reading the results ...", "Done"]
    assert shown[-1][1:] == (1, 1, 1, 1)


def test_bad_input_is_refused_with_the_cli_sentence(open_window, settings, capsys):
    window = open_window(settings.db_path)
    window.form.symbol.setText("AAPL$")
    with pytest.raises(BacktestError) as refused:
        prepare_requests(single_request("AAPL$", "2024-06-27 13:35:00", "LONG"), RunOptions())
    assert window.start_run() is False
    assert window.message.text() == str(refused.value)
    assert f"error: {refused.value}" in window.log.lines()[-1]
    assert not window.queue.busy and not settings.db_path.exists()
    assert backtest(["run", "--symbol", "AAPL$", "--entry-time", "2024-06-27 13:35:00",
                     "--direction", "LONG", "--db", str(settings.db_path)]) == 2  # fmt: skip
    assert capsys.readouterr().err.strip() == f"error: {window.message.text()}"


def test_failing_source_shows_the_sentence_and_the_window_still_works(
    open_window, qtbot, settings, tmp_path
):
    window = open_window(settings.db_path)
    broken = tmp_path / "bars.csv"
    broken.write_text("this is not,a bar file\n1,2\n")
    window.form.source.setCurrentText("files")
    window.form.bars.setText(str(broken))
    with qtbot.waitSignal(window.error_shown, timeout=RUN_TIMEOUT_MS) as failed:
        assert window.start_run()
    sentence = failed.args[0]
    assert "Traceback" not in sentence and sentence.endswith(".")
    assert window.message.text() == sentence
    assert any(sentence in line for line in window.log.lines())
    assert window.form.isEnabled()
    with qtbot.waitSignal(window.history_loaded, timeout=60_000):
        qtbot.mouseClick(window.history.refresh, Qt.MouseButton.LeftButton)


def _batch_csv(path: Path, count: int) -> Path:
    minutes = [
        *pd.date_range("2024-06-27 13:30", "2024-06-27 19:59", freq="min"),
        *pd.date_range("2024-06-28 13:30", "2024-06-28 19:59", freq="min"),
    ]
    symbols = ["AAPL", "MSFT", "NVDA", "SPY", "TSLA", "QQQ", "AMD", "META", "AMZN", "GOOG"]
    rows = [
        (symbol, f"{minute:%Y-%m-%d %H:%M:00}", direction)
        for symbol in symbols
        for minute in minutes
        for direction in ("LONG", "SHORT")
    ][:count]
    pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"]).to_csv(path, index=False)
    return path


def test_batch_keeps_the_window_responsive_queues_a_second_run_and_closes_after_it(
    open_window, qtbot, settings, tmp_path
):
    """A 10,000-request batch: the UI thread's timer never waits long (the run goes on in a
    child process; the longest gap, printed, is drawing the result at the end: 51-71 ms alone
    on a 2-core machine, up to 111 ms once inside the whole suite, hence the 150 ms limit),
    a second run is queued, and closing waits for the running batch, drops the queued run,
    then closes."""
    window = open_window(settings.db_path)
    requests = _batch_csv(tmp_path / "requests.csv", 10_000)
    gaps: list[tuple[int, str]] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: gaps.append((clock.restart(), window.stage.text())))
    assert window.start_batch(str(requests))
    clock.start()
    timer.start()
    assert window.start_run()
    assert window.message.text().startswith("Queued: ")
    window.close()
    assert window.isVisible() and window.closing
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    timer.stop()
    assert not window.queue.busy and not window.queue.waiting
    with connect(settings.db_path, read_only=True) as con:
        assert con.execute("select count(*) from bt_index").fetchone()[0] == 10_000
    longest = max(gaps)[0]
    print(f"UI thread: {len(gaps)} timer ticks during the batch, longest gaps (ms, stage after):")
    for gap, stage in sorted(gaps, reverse=True)[:5]:
        print(f"  {gap:4d} ms  {stage}")
    assert longest < UI_GAP_LIMIT_MS


def test_closing_twice_stops_the_running_backtest_and_the_warehouse_survives(
    open_window, qtbot, settings, tmp_path
):
    window = open_window(settings.db_path)
    assert window.start_batch(str(_batch_csv(tmp_path / "requests.csv", 2_000)))
    worker = window.queue.current
    with qtbot.waitSignal(
        window.progress_shown,
        timeout=RUN_TIMEOUT_MS,
        check_params_cb=lambda message, done, total: message.startswith("dbt build: "),
    ):
        pass
    window.close()
    assert window.isVisible() and window.closing
    with qtbot.waitSignal(window.error_shown, timeout=60_000) as stopped:
        window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert stopped.args[0] == (
        f"{worker.title} was stopped; the warehouse keeps the results stored before it."
    )
    assert worker.exit_code is not None  # the child process has ended (interrupted)
    with connect(settings.db_path) as con:  # the stopped run left a warehouse that opens
        assert con.execute("select count(*) from raw.bars_1m").fetchone()[0] > 0


def test_history_selection_shows_the_stored_result_without_recomputing(
    open_window, qtbot, warehouse
):
    window = open_window(warehouse)
    assert len(window.history.uids()) == 4
    with connect(warehouse, read_only=True) as con:
        before = con.execute("select uid, updated_at from bt_index order by uid").fetchall()
    window.history.symbol.setText("msft")
    with qtbot.waitSignal(window.history_loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(window.history.refresh, Qt.MouseButton.LeftButton)
    assert loaded.args == [1]
    uid = window.history.uids()[0]
    with qtbot.waitSignal(window.result_shown, timeout=60_000) as shown:
        window.history.table.selectRow(0)
    assert shown.args == [uid]
    _assert_panels_show(window, _stored(warehouse, uid))
    assert window.chart.candle_count == 75
    with connect(warehouse, read_only=True) as con:
        after = con.execute("select uid, updated_at from bt_index order by uid").fetchall()
    assert after == before


def test_history_filters_by_status_and_sorts(open_window, qtbot, warehouse):
    window = open_window(warehouse)
    with connect(warehouse, read_only=True) as con:
        partial = con.execute("select count(*) from bt_index where status = 'partial'").fetchone()
    with qtbot.waitSignal(window.history_loaded, timeout=60_000) as loaded:
        window.history.status.setCurrentText("partial")
    assert loaded.args == [partial[0]]
    window.history.table.sortItems(0, Qt.SortOrder.AscendingOrder)
    assert window.history.uids() == sorted(window.history.uids())


def test_cache_viewer_reports_and_clears_a_symbol(open_window, qtbot, warehouse):
    window = open_window(warehouse)
    with qtbot.waitSignal(window.cache_loaded, timeout=60_000) as loaded:
        window.tabs.setCurrentWidget(window.cache)
    with connect(warehouse, read_only=True) as con:
        stats = cache_stats(con, warehouse)
    assert f"Bars: {stats.bars:,}" in loaded.args[0]
    window.cache.symbol.setText("aapl")
    with qtbot.waitSignal(window.cache_loaded, timeout=60_000) as cleared:
        qtbot.mouseClick(window.cache.clear, Qt.MouseButton.LeftButton)
    assert cleared.args[0].startswith("Cleared AAPL: ")
    with connect(warehouse, read_only=True) as con:
        aapl = "select count(*) from raw.bars_1m where symbol = 'AAPL'"
        assert con.execute(aapl).fetchone() == (0,)
        assert con.execute("select count(*) from bt_index").fetchone() == (4,)


def test_push_to_postgres_then_to_an_unreachable_one(
    open_window, qtbot, warehouse, pg_url, monkeypatch
):
    monkeypatch.setenv("SUPABASE_DB_URL", pg_url)
    window = open_window(warehouse)
    with qtbot.waitSignal(window.push_finished, timeout=RUN_TIMEOUT_MS) as pushed:
        qtbot.mouseClick(window.storage.push, Qt.MouseButton.LeftButton)
    assert "bt_index: 4 upserted" in pushed.args[0]
    with psycopg.connect(pg_url) as pg:
        assert pg.execute("select count(*) from bt_index").fetchone() == (4,)
    monkeypatch.setenv("SUPABASE_DB_URL", "postgresql://nobody:secret@127.0.0.1:9/none")
    started = time.monotonic()
    with qtbot.waitSignal(window.error_shown, timeout=RUN_TIMEOUT_MS) as failed:
        qtbot.mouseClick(window.storage.push, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 120
    assert "Traceback" not in failed.args[0] and window.message.text() == failed.args[0]
    with qtbot.waitSignal(window.history_loaded, timeout=60_000) as loaded:
        window.refresh_history()
    assert loaded.args == [4]
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from bt_signals").fetchone()[0] > 0
