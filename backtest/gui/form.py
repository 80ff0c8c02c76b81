"""The request form: the seed's inputs, checked by the same code (and sentences) as the CLI."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PyQt6.QtCore import QDateTime, Qt, QTimeZone, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)

from backtest.core.config import (
    DEFAULT_FORWARD_BARS,
    DEFAULT_LOOKBACK_HOURS,
    MAX_LOOKBACK_HOURS,
)
from backtest.core.errors import BacktestError
from backtest.gui.workers import RunSpec

NEW_YORK = ZoneInfo("America/New_York")
SOURCES = ("demo", "files", "polygon")
POLYGON_KEY = "POLYGON_API_KEY"
DEFAULT_ENTRY = datetime(2024, 6, 27, 13, 35)


@dataclass(frozen=True)
class FormValues:
    """What the form holds, as text, before any check."""

    symbol: str
    entry_time: str
    direction: str
    calculation: str
    source: str
    bar_paths: tuple[str, ...]
    lookback_hours: float
    forward_bars: int


def new_york_text(entry: datetime) -> str:
    """The New York wall-clock time of a naive UTC minute.

    >>> new_york_text(datetime(2024, 6, 27, 13, 35))
    '09:35 New York (EDT)'
    """
    local = entry.replace(tzinfo=UTC).astimezone(NEW_YORK)
    return f"{local:%H:%M} New York ({local.tzname()})"


def check_source(source: str, bar_paths: tuple[str, ...]) -> None:
    """What ``backtest run`` checks of the source before any work, with its sentences."""
    if source == "files":
        from ingest.files import expand_paths

        expand_paths(bar_paths)
    elif source == "polygon":
        from ingest.polygon import PolygonOptions, resolve_api_key

        resolve_api_key(PolygonOptions())


@functools.cache
def _calculation_refusal(calculation: str) -> str | None:
    """The sentence refusing ``calculation`` (all, or NAME[,NAME]), or None when it is fine.

    Remembered per selection: reading the plugins' settings parses their YAML (tens of
    milliseconds), too slow for the UI thread on every click. The window asks for ``"all"`` off
    the UI thread at start (``warm_calculation_check``).
    """
    from plugins.loader import plugin_settings

    try:
        plugin_settings(calculation)
    except BacktestError as error:
        return str(error)
    return None


def warm_calculation_check(calculation: str = "all") -> None:
    """Check ``calculation`` once now (from a worker thread), so the form's check is instant."""
    _calculation_refusal(calculation)


def _checked_run(frame, values: FormValues, label: str) -> RunSpec:
    from backtest.core.requests import RunOptions, prepare_requests

    options = RunOptions(values.lookback_hours, values.forward_bars)
    prepare_requests(frame, options)
    refusal = _calculation_refusal(values.calculation)
    if refusal is not None:
        raise BacktestError(refusal)
    check_source(values.source, values.bar_paths)
    return RunSpec(frame, options, values.source, values.bar_paths, values.calculation, label)


def validate_single(values: FormValues) -> RunSpec:
    """The form's one request as a run, or ``BacktestError`` with the CLI's sentence."""
    from backtest.core.requests import single_request

    if not values.symbol.strip():
        raise BacktestError("A single request needs a symbol, e.g. AAPL.")
    frame = single_request(values.symbol, values.entry_time, values.direction)
    return _checked_run(frame, values, values.symbol.strip().upper())


def validate_batch(values: FormValues, requests_csv: str) -> RunSpec:
    """A requests CSV with the form's other settings, or ``BacktestError``."""
    from backtest.core.requests import read_requests_file
    from backtest.core.text import plural

    frame = read_requests_file(requests_csv)
    spec = _checked_run(frame, values, "")
    return RunSpec(
        frame,
        spec.options,
        spec.source,
        spec.bar_paths,
        spec.calculation,
        f"a batch of {plural(len(frame), 'request')}",
    )


def source_picker() -> QComboBox:
    """The source choice (demo, files, polygon); polygon is offered only with an API key."""
    picker = QComboBox()
    picker.addItems(SOURCES)
    item = picker.model().item(SOURCES.index("polygon"))
    has_key = bool(os.environ.get(POLYGON_KEY, "").strip())
    item.setEnabled(has_key)
    item.setToolTip("" if has_key else f"set {POLYGON_KEY} to use Polygon")
    return picker


class BarFiles(QWidget):
    """The files source's bar files: paths (``;`` between them) and a Browse button, enabled
    while ``source`` is ``files``."""

    def __init__(self, source: QComboBox, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.line = QLineEdit()
        self.line.setPlaceholderText("bar files (files source); ';' between paths")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._choose)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.browse)
        source.currentTextChanged.connect(self._source_changed)
        self._source_changed(source.currentText())

    def paths(self) -> tuple[str, ...]:
        return tuple(path.strip() for path in self.line.text().split(";") if path.strip())

    def _source_changed(self, source: str) -> None:
        self.line.setEnabled(source == "files")
        self.browse.setEnabled(source == "files")

    def _choose(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Bar files", "", "Bars (*.csv *.csv.gz *.parquet *.parquet.gz *.txt *.zip)"
        )
        if paths:
            self.line.setText(";".join(paths))


class CalculationList(QListWidget):
    """The calculations, each checkable; ``calculation()`` is ``all`` or ``NAME[,NAME]``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._enabled: set[str] = set()
        self.setMaximumHeight(96)

    def set_plugins(self, names: list[str], enabled: set[str]) -> None:
        """List the calculations; the project's enabled ones start checked."""
        self.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = name in enabled
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.addItem(item)
        self._enabled = enabled

    def calculation(self) -> str:
        """``all`` when the checked calculations are the enabled ones, else their names."""
        items = [self.item(row) for row in range(self.count())]
        checked = {item.text() for item in items if item.checkState() == Qt.CheckState.Checked}
        if not items or checked == self._enabled:
            return "all"
        if not checked:
            raise BacktestError("No calculation is checked: check at least one, or all.")
        return ",".join(sorted(checked))

    def set_calculation(self, selection: str) -> None:
        """Check ``all`` (the enabled calculations) or the names of ``NAME[,NAME]``."""
        names = {name.strip() for name in selection.split(",") if name.strip()}
        wanted = self._enabled if selection.strip().lower() == "all" else names
        for row in range(self.count()):
            item = self.item(row)
            checked = item.text() in wanted
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)


class RequestForm(QWidget):
    """Symbol, direction, entry minute (UTC, New York shown), calculations, source, lookback,
    forward bars, and the Run backtest / Run batch buttons."""

    run_clicked = pyqtSignal()
    batch_clicked = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.symbol = QLineEdit("AAPL")
        self.symbol.setPlaceholderText("ticker, e.g. AAPL")
        self.direction = QComboBox()
        self.direction.addItems(["LONG", "SHORT"])
        self.entry = self._entry_editor()
        self.new_york = QLabel()
        self.calculations = CalculationList()
        self.source = source_picker()
        self.bar_files = BarFiles(self.source)
        self.bars, self.browse = self.bar_files.line, self.bar_files.browse
        self.lookback = QDoubleSpinBox()
        self.lookback.setRange(0.25, MAX_LOOKBACK_HOURS)
        self.lookback.setSingleStep(0.25)
        self.lookback.setValue(DEFAULT_LOOKBACK_HOURS)
        self.forward = QSpinBox()
        self.forward.setRange(1, 60)
        self.forward.setValue(DEFAULT_FORWARD_BARS)
        self.run_button = QPushButton("Run backtest")
        self.run_button.setDefault(True)
        self.batch_button = QPushButton("Run batch…")
        layout.addRow("Symbol", self.symbol)
        layout.addRow("Direction", self.direction)
        layout.addRow("Entry UTC", self.entry)
        layout.addRow("", self.new_york)
        layout.addRow("Signals", self.calculations)
        layout.addRow("Source", self.source)
        layout.addRow("Bar files", self.bar_files)
        layout.addRow("Lookback h", self.lookback)
        layout.addRow("Forward bars", self.forward)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.batch_button)
        layout.addRow(buttons)
        self.entry.dateTimeChanged.connect(self._show_new_york)
        self.run_button.clicked.connect(self.run_clicked)
        self.batch_button.clicked.connect(self._choose_batch)
        self._show_new_york()

    def _entry_editor(self) -> QDateTimeEdit:
        entry = QDateTimeEdit()
        entry.setTimeZone(QTimeZone.utc())
        entry.setDisplayFormat("yyyy-MM-dd HH:mm")
        entry.setCalendarPopup(True)
        self.set_entry(entry, DEFAULT_ENTRY)
        return entry

    @staticmethod
    def set_entry(editor: QDateTimeEdit, entry: datetime) -> None:
        """Show the naive UTC minute ``entry`` in ``editor``."""
        utc = QDateTime.fromSecsSinceEpoch(int(entry.replace(tzinfo=UTC).timestamp()))
        editor.setDateTime(utc.toTimeZone(QTimeZone.utc()))

    def entry_datetime(self) -> datetime:
        """The chosen entry minute, naive UTC."""
        seconds = self.entry.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None, second=0)

    def _show_new_york(self) -> None:
        self.new_york.setText(new_york_text(self.entry_datetime()))

    def _choose_batch(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Requests CSV", "", "CSV (*.csv)")
        if path:
            self.batch_clicked.emit(path)

    def set_plugins(self, names: list[str], enabled: set[str]) -> None:
        """List the calculations; the project's enabled ones start checked."""
        self.calculations.set_plugins(names, enabled)

    def calculation(self) -> str:
        """``all`` when the checked calculations are the enabled ones, else their names."""
        return self.calculations.calculation()

    def set_calculation(self, selection: str) -> None:
        """Check ``all`` (the enabled calculations) or the names of ``NAME[,NAME]``."""
        self.calculations.set_calculation(selection)

    def set_request(self, symbol: str, entry: datetime, direction: str) -> None:
        """Fill symbol, entry minute (naive UTC) and direction."""
        self.symbol.setText(symbol)
        self.set_entry(self.entry, entry)
        self.direction.setCurrentText(direction)

    def values(self) -> FormValues:
        """The form's content, unchecked (``calculation`` may raise ``BacktestError``)."""
        paths = self.bar_files.paths()
        return FormValues(
            symbol=self.symbol.text(),
            entry_time=f"{self.entry_datetime():%Y-%m-%d %H:%M:%S}",
            direction=self.direction.currentText(),
            calculation=self.calculation(),
            source=self.source.currentText(),
            bar_paths=paths,
            lookback_hours=self.lookback.value(),
            forward_bars=self.forward.value(),
        )
