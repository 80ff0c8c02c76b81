"""The Live page: live signals every minute, the table the command line's ``backtest live``
prints, refreshed in the window.

The inputs are checked here with the command line's code and sentences (``LivePlan.from_text``,
``parse_clock``); the loop itself runs in a child process (``backtest.gui.live_child``) that a
``LiveWorker`` thread starts and follows, re-emitting what it reports as Qt signals. Stop ends
the loop after the current minute, as the command line's first Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, QThread, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backtest.core.errors import BacktestError
from backtest.core.tables import Grid
from backtest.gui.form import BarFiles, CalculationList, check_source, source_picker
from backtest.gui.live_child import LiveSpec, LiveUpdate, run_live_child
from backtest.gui.panels import DIRECTION_COLOURS, synthetic_badge

DIRECTIONS = ("LONG", "SHORT", "BOTH")
ERROR_STYLE = "color: #cf222e;"
NOTE_STYLE = "color: #24292f;"
MUTED_STYLE = "color: #57606a;"
SIGN_COLOURS = {"+": "#1a7f37", "-": "#cf222e"}
WAITING = "No minute yet: press Start."


@dataclass(frozen=True)
class LiveValues:
    """What the Live page's inputs hold, before any check (0 minutes: until Stop; speed 0: as
    fast as it goes)."""

    symbols: str
    direction: str
    calculation: str
    source: str
    bar_paths: tuple[str, ...]
    start: str
    minutes: int
    speed: float


def validate_live(values: LiveValues) -> LiveSpec:
    """The inputs as a live run, or ``BacktestError`` with the command line's sentence."""
    from backtest.live import LivePlan, parse_clock

    start = parse_clock(values.start) if values.start.strip() else None
    plan = LivePlan.from_text(
        values.symbols,
        values.direction,
        calculation=values.calculation,
        source=values.source,
        bar_paths=values.bar_paths,
        wall_clock=start is None,
    )
    check_source(plan.source, plan.bar_paths)
    speed = values.speed if start is not None and values.speed > 0 else None
    return LiveSpec(plan, start, values.minutes or None, speed)


def heading(spec: LiveSpec, number: int | None = None) -> str:
    """The line above the tables: which clock, which source, and which minute (``number``).

    >>> from types import SimpleNamespace
    >>> plan = SimpleNamespace(source="demo")
    >>> heading(LiveSpec(plan, datetime(2024, 6, 27, 13, 30), minutes=3), 2)
    'Replay of 2024-06-27 from 13:30 UTC · demo source · minute 2 of 3'
    >>> heading(LiveSpec(plan))
    'Live on the wall clock · demo source'
    """
    clock = "Live on the wall clock"
    if spec.start is not None:
        clock = f"Replay of {spec.start:%Y-%m-%d} from {spec.start:%H:%M} UTC"
    line = f"{clock} · {spec.plan.source} source"
    if number is None:
        return line
    return f"{line} · minute {number}" + (f" of {spec.minutes}" if spec.minutes else "")


class LiveWorker(QThread):
    """Starts the live loop's child process and re-emits what it reports.

    ``done`` (the summary) and ``failed`` (one sentence) come after the child has exited;
    ``stop_after_minute`` asks the loop to end after the current minute; ``abandon`` (the window
    closes) stops listening at once and leaves the child to a reaper thread.
    """

    note = pyqtSignal(str)
    minute = pyqtSignal(str)
    cycle = pyqtSignal(object)
    done = pyqtSignal(str)
    failed = pyqtSignal(str)

    POLL_SECONDS = 0.05
    GRACE_SECONDS = 30.0

    def __init__(self, db_path: Path, spec: LiveSpec, parent: Any = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.spec = spec
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._abandoned = threading.Event()
        self.pid: int | None = None
        self.exit_code: int | None = None

    def stop_after_minute(self) -> None:
        self._stop.set()

    def abandon(self) -> None:
        self._stop.set()
        self._abandoned.set()

    def run(self) -> None:
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_live_child,
            args=(send, str(self.db_path), self.spec, self._stop),
            name="live",
            daemon=True,
        )
        process.start()
        send.close()
        self.pid = process.pid
        try:
            final = self._follow(process, receive)
        finally:
            receive.close()
        if self._abandoned.is_set():
            threading.Thread(target=_end, args=(process, self.GRACE_SECONDS), daemon=True).start()
            return
        self.exit_code = _end(process, self.GRACE_SECONDS)
        kind, text = final
        (self.done if kind == "done" else self.failed).emit(text)

    def _follow(self, process: Any, receive: Any) -> tuple[str, str]:
        """Re-emit the child's messages until its last one (or until it dies, or is abandoned)."""
        while not self._abandoned.is_set():
            if not receive.poll(self.POLL_SECONDS):
                if not process.is_alive() and not receive.poll(0):
                    break
                continue
            try:
                kind, value = receive.recv()
            except EOFError:
                break
            if kind in ("done", "failed"):
                return kind, value
            {"note": self.note, "minute": self.minute, "cycle": self.cycle}[kind].emit(value)
        if not self._abandoned.is_set():
            process.join(self.GRACE_SECONDS)
        return "failed", (
            f"The live run stopped unexpectedly (its process exited with code "
            f"{process.exitcode}); the minutes built before it stay stored."
        )


def _end(process: Any, seconds: float) -> int | None:
    """Let the child exit (its loop was told to stop); interrupt it as Ctrl-C would if it
    lingers, then terminate it. Its exit code."""
    process.join(seconds)
    if process.is_alive():
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGINT)
        process.join(seconds / 2)
    if process.is_alive():
        process.terminate()
        process.join()
    return process.exitcode


class LiveTableView(QTableWidget):
    """One live table: the command line's cells, numbers right-aligned, calls and signed
    returns coloured."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setStyleSheet("QTableWidget::item { padding: 0 8px; }")
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStyleSheet("QHeaderView::section { padding: 2px 8px; }")

    def show_table(self, table: Grid) -> None:
        self.setColumnCount(len(table.headers))
        for column, (name, numeric) in enumerate(zip(table.headers, table.numeric, strict=True)):
            item = QTableWidgetItem(name)
            if numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setHorizontalHeaderItem(column, item)
        self.setRowCount(len(table.rows))
        for row, cells in enumerate(table.rows):
            for column, text in enumerate(cells):
                self.setItem(row, column, _cell(text, table.numeric[column]))

    def headers(self) -> list[str]:
        return [self.horizontalHeaderItem(column).text() for column in range(self.columnCount())]

    def rows(self) -> list[tuple[str, ...]]:
        """The shown cells, row by row."""
        columns = range(self.columnCount())
        return [
            tuple(self.item(row, column).text() for column in columns)
            for row in range(self.rowCount())
        ]


def _cell(text: str, numeric: bool) -> QTableWidgetItem:
    from PyQt6.QtGui import QColor

    item = QTableWidgetItem(text)
    colour = DIRECTION_COLOURS.get(text.split(" ")[0]) or (
        SIGN_COLOURS.get(text[:1]) if numeric else None
    )
    if colour:
        item.setForeground(QColor(colour))
    if numeric:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class LivePanel(QWidget):
    """The Live page: symbols, side, calculations, source and an optional replay clock on the
    left; the calls for the coming minute, the earlier entries so far, the status line and, once
    stopped, the summary on the right.

    Signals (for the window and tests):
        started: a run was accepted and its process starts.
        minute_started: the minute (``HH:MM``) whose cycle begins.
        cycle_shown: a minute's ``LiveUpdate`` is shown.
        finished: the run ended; its summary text.
        error_shown: a sentence shown for refused input or a failed run.
        note_shown: a note from the loop (warming up, an overrun).
    """

    started = pyqtSignal()
    minute_started = pyqtSignal(str)
    cycle_shown = pyqtSignal(object)
    finished = pyqtSignal(str)
    error_shown = pyqtSignal(str)
    note_shown = pyqtSignal(str)

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.worker: LiveWorker | None = None
        self.spec: LiveSpec | None = None
        self.first: datetime | None = None
        self.pid: int | None = None
        self.exit_code: int | None = None
        layout = QHBoxLayout(self)
        layout.addWidget(self._controls())
        layout.addWidget(self._tables(), 1)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.replay_start.textChanged.connect(self._clock_changed)
        self._clock_changed(self.replay_start.text())

    # Layout ----------------------------------------------------------------------------------

    def _controls(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._inputs())
        layout.addWidget(self._clock_inputs())
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current minute")
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        layout.addLayout(buttons)
        self.state = QLabel("Idle")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        layout.addStretch(1)
        column.setFixedWidth(290)
        return column

    def _inputs(self) -> QGroupBox:
        self.inputs = box = QGroupBox("Live signals")
        form = QFormLayout(box)
        self.symbols = QLineEdit("AAPL,MSFT")
        self.symbols.setPlaceholderText("tickers, e.g. AAPL,MSFT")
        self.direction = QComboBox()
        self.direction.addItems(DIRECTIONS)
        self.calculations = CalculationList()
        self.source = source_picker()
        self.bar_files = BarFiles(self.source)
        form.addRow("Symbols", self.symbols)
        form.addRow("Direction", self.direction)
        form.addRow("Signals", self.calculations)
        form.addRow("Source", self.source)
        form.addRow("Bar files", self.bar_files)
        return box

    def _clock_inputs(self) -> QGroupBox:
        self.clock_inputs = box = QGroupBox("Replay clock")
        form = QFormLayout(box)
        self.replay_start = QLineEdit()
        self.replay_start.setPlaceholderText("YYYY-MM-DD HH:MM; empty: live")
        self.minutes = QSpinBox()
        self.minutes.setRange(0, 24 * 60)
        self.minutes.setSpecialValueText("until Stop")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0, 600)
        self.speed.setDecimals(1)
        self.speed.setSpecialValueText("as fast as it goes")
        self.speed.setToolTip("simulated minutes per wall minute: 1 is real time")
        hint = QLabel("Empty start: live on the wall clock, a call each minute.")
        hint.setWordWrap(True)
        hint.setStyleSheet(MUTED_STYLE)
        form.addRow("Start UTC", self.replay_start)
        form.addRow("Minutes", self.minutes)
        form.addRow("Speed", self.speed)
        form.addRow(hint)
        return box

    def _tables(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.title = QLabel("Live signals: a call per symbol for the coming minute.")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.synthetic = synthetic_badge()
        header.addWidget(self.title, 1)
        header.addWidget(self.synthetic)
        layout.addLayout(header)
        self.caption = QLabel(WAITING)
        self.calls = LiveTableView()
        self.outcomes_caption = QLabel("Earlier entries so far (5, 15, 30 and 60 minutes old):")
        self.outcomes = LiveTableView()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel("")
        self.summary.setFont(QFont("DejaVu Sans Mono", 9))
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary_box = QGroupBox("Summary")
        QVBoxLayout(summary_box).addWidget(self.summary)
        layout.addWidget(self.caption)
        layout.addWidget(self.calls, 2)
        layout.addWidget(self.outcomes_caption)
        layout.addWidget(self.outcomes, 3)
        layout.addWidget(self.status)
        layout.addWidget(summary_box)
        return column

    def _clock_changed(self, text: str) -> None:
        self.speed.setEnabled(bool(text.strip()))

    # Running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker is not None

    def set_plugins(self, names: list[str], enabled: set[str]) -> None:
        self.calculations.set_plugins(names, enabled)

    def values(self) -> LiveValues:
        """The inputs, unchecked (``calculation`` may raise ``BacktestError``)."""
        return LiveValues(
            symbols=self.symbols.text(),
            direction=self.direction.currentText(),
            calculation=self.calculations.calculation(),
            source=self.source.currentText(),
            bar_paths=self.bar_files.paths(),
            start=self.replay_start.text(),
            minutes=self.minutes.value(),
            speed=self.speed.value(),
        )

    def start(self) -> bool:
        """Check the inputs and start the loop's process; False when refused (or running)."""
        if self.running:
            return False
        try:
            spec = validate_live(self.values())
        except BacktestError as error:
            self.show_error(str(error))
            return False
        self._clear(spec)
        self.worker = LiveWorker(self.db_path, spec, self)
        self.worker.note.connect(self._note)
        self.worker.minute.connect(self._minute)
        self.worker.cycle.connect(self.show_update)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.worker.start()
        self.pid = self.exit_code = None
        self._running_controls(True)
        self.started.emit()
        return True

    def stop(self) -> bool:
        """End the loop after the current minute; False when none runs."""
        if not self.running:
            return False
        self.worker.stop_after_minute()
        self.stop_button.setEnabled(False)
        self._set_state("Stopping after the current minute …")
        return True

    def shutdown(self) -> None:
        """The window closes: stop the loop after this minute, without waiting for it here."""
        if self.worker is not None:
            self.worker.abandon()
            self.worker.wait()
            self.worker = None

    def _clear(self, spec: LiveSpec) -> None:
        self.spec, self.first = spec, None
        self.title.setText(heading(spec))
        self.synthetic.setVisible(spec.synthetic)
        self.caption.setText("Waiting for the first minute …")
        self.calls.show_table(Grid((), (), ()))
        self.outcomes.show_table(Grid((), (), ()))
        self.status.setText("")
        self.summary.setText("The summary appears when the run stops.")

    def _running_controls(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.inputs.setEnabled(not running)
        self.clock_inputs.setEnabled(not running)

    # What the loop reports -------------------------------------------------------------------

    def show_update(self, update: LiveUpdate) -> None:
        """Show one minute: the heading, the calls, the earlier entries, the status line."""
        present = datetime.fromisoformat(update.present)
        self.first = self.first or present
        number = int((present - self.first).total_seconds() // 60) + 1
        self.title.setText(heading(self.spec, number))
        self.caption.setText(update.caption)
        self.calls.show_table(update.calls)
        self.outcomes.show_table(update.outcomes)
        self.status.setStyleSheet(ERROR_STYLE if update.skipped else NOTE_STYLE)
        self.status.setText(update.status)
        if self.stop_button.isEnabled():
            self._set_state(f"The {present:%H:%M} minute is shown.")
        self.cycle_shown.emit(update)

    def _minute(self, present: str) -> None:
        if self.stop_button.isEnabled():
            self._set_state(f"Building the {present} minute …")
        self.minute_started.emit(present)

    def _note(self, sentence: str) -> None:
        self._set_state(sentence)
        self.note_shown.emit(sentence)

    def _done(self, summary: str) -> None:
        self._finish()
        self.summary.setText(summary)
        self._set_state("Stopped: the summary is under the tables.")
        self.finished.emit(summary)

    def _failed(self, sentence: str) -> None:
        self._finish()
        self.summary.setText("The run stopped on an error (above).")
        self.show_error(sentence)

    def _finish(self) -> None:
        self.worker.wait()
        self.pid, self.exit_code = self.worker.pid, self.worker.exit_code
        self.worker = None
        self._running_controls(False)

    def _set_state(self, sentence: str) -> None:
        self.state.setStyleSheet(NOTE_STYLE)
        self.state.setText(sentence)

    def show_error(self, sentence: str) -> None:
        """One sentence on the page; never a dialog, never a traceback."""
        self.state.setStyleSheet(ERROR_STYLE)
        self.state.setText(sentence)
        self.error_shown.emit(sentence)
