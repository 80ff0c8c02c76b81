"""The dashboard window: the request form, live progress, the results, history, cache and log
on the Backtest page; live signals every minute on the Live page.

Every warehouse job (a run, a push, a read) goes through one ``JobQueue`` worker thread; the
window only validates input, submits jobs and shows what they report. The live loop runs in a
process of its own, started and followed by the Live page (``backtest.gui.live_panel``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backtest.core.errors import BacktestError
from backtest.gui.form import (
    RequestForm,
    validate_batch,
    validate_single,
    warm_calculation_check,
)
from backtest.gui.history import CachePanel, HistoryPanel
from backtest.gui.live_panel import LivePanel
from backtest.gui.panels import (
    CONSENSUS_FIELDS,
    SUMMARY_FIELDS,
    FieldsPanel,
    LogPanel,
    SignalsTable,
    consensus_values,
    entry_text,
    summary_values,
    synthetic_badge,
)
from backtest.gui.storage import StoragePanel
from backtest.gui.workers import (
    BacktestProcess,
    BacktestWorker,
    Job,
    JobQueue,
    PushWorker,
    ReadWorker,
    RunOutcome,
    RunSpec,
    TaskWorker,
    clear_symbol,
    load_stored,
    read_cache_stats,
    read_history,
)

SYNTHETIC_SOURCE = "demo-synthetic"
ERROR_STYLE = "color: #cf222e;"
NOTE_STYLE = "color: #24292f;"


def _enabled_plugins() -> list[tuple[str, bool]]:
    """The plugins and whether each is enabled; checks "all" for the form on the way."""
    from plugins.loader import plugin_infos

    warm_calculation_check()
    return [(info.name, info.enabled) for info in plugin_infos()]


class DashboardWindow(QMainWindow):
    """The trader's window on one warehouse.

    Signals (for tests and the screenshot command):
        run_finished: a run's ``RunOutcome`` is shown.
        result_shown: the UID now shown (after a run or a history selection).
        push_finished: the export's summary.
        history_loaded: how many stored backtests match the filters.
        cache_loaded: the cache statistics text.
        error_shown: a sentence shown for a failed job or refused input.
        progress_shown: a stage shown (its sentence, the step done and the steps in all).
    """

    run_finished = pyqtSignal(object)
    result_shown = pyqtSignal(str)
    push_finished = pyqtSignal(str)
    history_loaded = pyqtSignal(int)
    cache_loaded = pyqtSignal(str)
    error_shown = pyqtSignal(str)
    progress_shown = pyqtSignal(str, int, int)

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from backtest.gui.chart import WindowChart

        self.db_path = Path(db_path)
        self.queue = JobQueue(self)
        self.backtests = BacktestProcess()
        self.shown = None
        self.last_error: str | None = None
        self._closing = False
        self.setWindowTitle(f"Backtest dashboard: {self.db_path}")
        self.chart = WindowChart()
        self.chart.setMinimumWidth(400)
        self._build()
        self._connect()
        self.queue.idle.connect(self._idle)
        self.log.add(f"Warehouse {self.db_path}")
        self._submit(TaskWorker("Plugin discovery", _enabled_plugins), self._plugins_found)
        self.refresh_history()

    def _build(self) -> None:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._left_column())
        splitter.addWidget(self._results_column())
        splitter.addWidget(self._side_tabs())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([290, 850, 260])
        self.live = LivePanel(self.db_path)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(splitter, "Backtest")
        self.pages.addTab(self.live, "Live")
        self.setCentralWidget(self.pages)

    def _left_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        request = QGroupBox("Backtest request")
        self.form = RequestForm()
        QVBoxLayout(request).addWidget(self.form)
        progress = QGroupBox("Progress")
        inner = QVBoxLayout(progress)
        self.stage = QLabel("Idle")
        self.stage.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        for widget in (self.stage, self.progress, self.message):
            inner.addWidget(widget)
        self.storage = StoragePanel()
        layout.addWidget(request)
        layout.addWidget(progress)
        layout.addWidget(self.storage)
        layout.addStretch(1)
        column.setFixedWidth(290)
        return column

    def _results_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.addLayout(self._header())
        panels = QHBoxLayout()
        self.summary = FieldsPanel("Summary", SUMMARY_FIELDS)
        self.consensus = FieldsPanel("Consensus", CONSENSUS_FIELDS, columns=1)
        panels.addWidget(self.summary, 3)
        panels.addWidget(self.consensus, 2)
        layout.addLayout(panels)
        layout.addWidget(self.chart, 3)
        self.signals = SignalsTable()
        self.signals.setMaximumHeight(170)
        layout.addWidget(self.signals, 1)
        return column

    def _header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        self.title = QLabel("No backtest shown: run one, or pick one from the history.")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.title.setMinimumWidth(200)
        self.synthetic = synthetic_badge()
        self.overlay_menu = QMenu(self)
        self.overlay_button = QToolButton()
        self.overlay_button.setText("Overlays")
        self.overlay_button.setMenu(self.overlay_menu)
        self.overlay_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.overlay_button.setEnabled(False)
        header.addWidget(self.title, 1)
        header.addWidget(self.synthetic)
        header.addWidget(self.overlay_button)
        return header

    def _side_tabs(self) -> QTabWidget:
        self.tabs = QTabWidget()
        self.history = HistoryPanel()
        self.cache = CachePanel()
        self.log = LogPanel()
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.cache, "Cache")
        self.tabs.addTab(self.log, "Log")
        self.tabs.setMinimumWidth(250)
        return self.tabs

    def _connect(self) -> None:
        self.form.run_clicked.connect(self.start_run)
        self.form.batch_clicked.connect(self.start_batch)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.start_run)
        self.history.refresh_wanted.connect(self.refresh_history)
        self.history.selected.connect(self.show_stored)
        self.cache.refresh_wanted.connect(self.refresh_cache)
        self.cache.clear_wanted.connect(self.clear_cache_symbol)
        self.storage.push.clicked.connect(self.push)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.live.started.connect(lambda: self.log.add("Live signals started."))
        self.live.note_shown.connect(self.log.add)
        self.live.error_shown.connect(lambda sentence: self.log.add(sentence, error=True))
        self.live.finished.connect(self._live_finished)

    # Jobs ------------------------------------------------------------------------------------

    def _submit(self, job: Job, on_done) -> bool:
        """Queue ``job``; ``on_done`` gets its result. Refused while the window closes."""
        if self._closing:
            return False
        job.signals.stage.connect(self._stage)
        job.signals.finished.connect(on_done)
        job.signals.failed.connect(partial(self._failed, job.title))
        if self.queue.busy:
            self.log.add(f"Queued: {job.title} starts after {self.queue.current.title}.")
        self.queue.submit(job)
        return True

    def _stage(self, message: str, done: int, total: int) -> None:
        """Show a stage; the log keeps the stage lines, not every dbt node but the last."""
        self.stage.setText(message)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if total == 0 or done >= total:
            self.log.add(message)
        self.progress_shown.emit(message, done, total)

    def _failed(self, title: str, sentence: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stage.setText(f"{title} failed")
        self.show_error(sentence)

    def _idle(self) -> None:
        if self._closing:
            self.close()
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.stage.setText("Idle")

    def show_error(self, sentence: str) -> None:
        """One sentence in the window and in the log; never a dialog."""
        self.last_error = sentence
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(sentence)
        self.log.add(sentence, error=True)
        self.error_shown.emit(sentence)

    def show_note(self, sentence: str) -> None:
        self.message.setStyleSheet(NOTE_STYLE)
        self.message.setText(sentence)
        self.log.add(sentence)

    # Runs ------------------------------------------------------------------------------------

    def start_run(self) -> bool:
        """Check the form and run its one request; False when the input is refused."""
        try:
            spec = validate_single(self.form.values())
        except BacktestError as error:
            self.show_error(str(error))
            return False
        return self._run(spec)

    def start_batch(self, requests_csv: str) -> bool:
        """Check a requests CSV with the form's settings and run it as one batch."""
        try:
            spec = validate_batch(self.form.values(), requests_csv)
        except BacktestError as error:
            self.show_error(str(error))
            return False
        return self._run(spec)

    def _run(self, spec: RunSpec) -> bool:
        running = any(isinstance(job, BacktestWorker) for job in self._jobs())
        worker = BacktestWorker(self.db_path, spec, self.backtests)
        if not self._submit(worker, self._run_done):
            return False
        if running:
            self.show_note(f"Queued: {worker.title} runs when the current backtest finishes.")
        else:
            self.show_note(f"Running {worker.title} …")
        return True

    def _jobs(self) -> list[Job]:
        current = [self.queue.current] if self.queue.current else []
        return current + self.queue.waiting

    def _run_done(self, outcome: RunOutcome) -> None:
        for line in outcome.lines:
            self.log.add(line)
        self.log.add(outcome.summary.splitlines()[-1])
        self.show_note(f"Backtested {outcome.summary.splitlines()[-1]}")
        self.display(outcome.chart)
        self.run_finished.emit(outcome)
        self.refresh_history()
        if self.storage.auto.isChecked():
            self.push()

    # Showing a result ------------------------------------------------------------------------

    def display(self, data) -> None:
        """Show one stored backtest (a ``ChartData``): header, panels, signals, chart."""
        result = data.result
        self.shown = data
        self.title.setText(
            f"{result['uid']}   {result['symbol']} {result['direction']} at "
            f"{entry_text(result['entry_time'])}"
        )
        self.synthetic.setVisible(result.get("data_source") == SYNTHETIC_SOURCE)
        self.summary.show_values(summary_values(result))
        self.consensus.show_values(consensus_values(result))
        self.signals.show_signals(result["signals"])
        self.chart.show_backtest(data)
        self._overlay_toggles(data)
        self.result_shown.emit(result["uid"])

    def _overlay_toggles(self, data) -> None:
        """One checkable menu entry per overlay the chart draws (they start visible)."""
        for name, sentence in data.overlay_errors.items():
            self.log.add(f"{name}: {sentence}", error=True)
        self.overlay_menu.clear()
        for name in self.chart.overlay_names():
            action = self.overlay_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(partial(self.chart.set_overlay_visible, name))
        self.overlay_button.setEnabled(bool(self.chart.overlay_names()))

    def show_stored(self, uid: str) -> None:
        """Show the stored backtest ``uid`` as the warehouse holds it (nothing is recomputed)."""
        reader = ReadWorker(f"Loading {uid}", self.db_path, partial(load_stored, uid=uid))
        self._submit(reader, self.display)

    def refresh_history(self) -> None:
        wanted = self.history.filters()
        reader = ReadWorker(
            "History", self.db_path, partial(read_history, wanted=wanted), empty=([], 0)
        )
        self._submit(reader, self._history_read)

    def _history_read(self, found: tuple[list[tuple], int]) -> None:
        rows, total = found
        self.history.show_rows(rows, total)
        self.history_loaded.emit(total)

    # Storage and cache -----------------------------------------------------------------------

    def push(self) -> None:
        """Push the results (every changed ``bt_*`` row, the shown one included) to Supabase."""
        self._submit(PushWorker(self.db_path), self._pushed)

    def _pushed(self, summary: str) -> None:
        for line in summary.splitlines():
            self.log.add(line)
        self.show_note(summary.splitlines()[-1])
        self.push_finished.emit(summary)

    def refresh_cache(self) -> None:
        reader = ReadWorker(
            "Cache statistics", self.db_path, read_cache_stats(self.db_path), empty=""
        )
        self._submit(reader, self._cache_read)

    def clear_cache_symbol(self, symbol: str) -> None:
        """Clear one symbol's cached bars, trades and quotes (results stay)."""
        writer = ReadWorker(
            f"Clearing {symbol}",
            self.db_path,
            clear_symbol(self.db_path, symbol),
            empty="",
            writes=True,
        )
        self._submit(writer, self._cache_read)

    def _cache_read(self, text: str | None) -> None:
        self.cache.show_text(text)
        self.cache_loaded.emit(text or "")

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.cache:
            self.refresh_cache()

    def _plugins_found(self, plugins: list[tuple[str, bool]]) -> None:
        names, enabled = [name for name, _ in plugins], {n for n, on in plugins if on}
        self.form.set_plugins(names, enabled)
        self.live.set_plugins(names, enabled)

    def _live_finished(self, summary: str) -> None:
        """The live run's summary goes to the log; its entries join the history."""
        for line in summary.splitlines():
            self.log.add(line)
        self.refresh_history()

    # Closing ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Close at once when idle; during a job, drop the waiting ones, let the running one
        finish (its results stay consistent), then close. Closing again while a backtest runs
        stops its process at once (the warehouse's runs are crash-safe)."""
        if not self.queue.busy:
            self.live.shutdown()
            self.backtests.close()
            event.accept()
            return
        if self._closing:
            self.stop_run()
            event.ignore()
            return
        dropped = self.queue.drop_waiting()
        self._closing = True
        self.form.setEnabled(False)
        self.storage.setEnabled(False)
        extra = f"; {len(dropped)} queued job(s) dropped" if dropped else ""
        self.show_note(
            f"Closing when {self.queue.current.title} finishes{extra} (close again to stop it "
            "now) …"
        )
        event.ignore()

    def stop_run(self) -> bool:
        """Stop the running backtest's process now; False when no backtest runs."""
        job = self.queue.current
        if not isinstance(job, BacktestWorker):
            return False
        self.log.add(f"Stopping {job.title} …")
        job.stop()
        return True

    @property
    def closing(self) -> bool:
        return self._closing
