"""The history panel (every stored backtest in ``bt_index``) and the cache statistics viewer."""

from __future__ import annotations

from PyQt6.QtCore import QDate, Qt, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backtest.gui.panels import MISSING
from backtest.gui.workers import HistoryFilter

ANY = "any"
HEADERS = ["uid", "symbol", "entry (UTC)", "side", "status", "consensus", "agree %", "pnl %"]
NUMERIC_COLUMNS = {6, 7}


def _item(value: object, column: int) -> QTableWidgetItem:
    """A cell that sorts numbers as numbers and shows a dash for null."""
    item = QTableWidgetItem()
    if value is None:
        item.setText(MISSING)
    elif column in NUMERIC_COLUMNS:
        item.setData(Qt.ItemDataRole.DisplayRole, round(float(value), 2))
    else:
        item.setText(str(value))
    return item


class HistoryPanel(QWidget):
    """Stored backtests, newest first, filtered by symbol, status, consensus and entry date;
    sortable by any column. ``refresh_wanted`` asks the window to read them again;
    ``selected`` names the UID picked."""

    refresh_wanted = pyqtSignal()
    selected = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addLayout(self._filters())
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.count = QLabel("No warehouse read yet.")
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        self.table.itemSelectionChanged.connect(self._selection_changed)

    def _filters(self) -> QGridLayout:
        grid = QGridLayout()
        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("symbol")
        self.status = QComboBox()
        self.status.addItems([ANY, "complete", "partial", "no_data"])
        self.consensus = QComboBox()
        self.consensus.addItems([ANY, "BULLISH", "BEARISH", "NEUTRAL"])
        self.use_dates = QCheckBox("from")
        self.start = QDateEdit(QDate(2024, 1, 1))
        self.end = QDateEdit(QDate.currentDate())
        for editor in (self.start, self.end):
            editor.setDisplayFormat("yyyy-MM-dd")
            editor.setCalendarPopup(True)
        self.refresh = QPushButton("Refresh")
        grid.addWidget(self.symbol, 0, 0)
        grid.addWidget(self.status, 0, 1)
        grid.addWidget(self.consensus, 0, 2)
        grid.addWidget(self.refresh, 0, 3)
        dates = QHBoxLayout()
        dates.addWidget(self.use_dates)
        dates.addWidget(self.start)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.end)
        dates.addStretch(1)
        grid.addLayout(dates, 1, 0, 1, 4)
        self.refresh.clicked.connect(self.refresh_wanted)
        self.symbol.returnPressed.connect(self.refresh_wanted)
        for box in (self.status, self.consensus):
            box.currentIndexChanged.connect(self.refresh_wanted)
        self.use_dates.toggled.connect(self.refresh_wanted)
        return grid

    def filters(self) -> HistoryFilter:
        """The filters as set."""
        dated = self.use_dates.isChecked()
        return HistoryFilter(
            symbol=self.symbol.text(),
            status=None if self.status.currentText() == ANY else self.status.currentText(),
            consensus=None if self.consensus.currentText() == ANY else self.consensus.currentText(),
            start=self.start.date().toString("yyyy-MM-dd") if dated else None,
            end=self.end.date().toString("yyyy-MM-dd") if dated else None,
        )

    def show_rows(self, rows: list[tuple], total: int) -> None:
        """Fill the table (the rows read by ``workers.read_history``)."""
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values[: len(HEADERS)]):
                self.table.setItem(row, column, _item(value, column))
        self.table.setSortingEnabled(True)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        shown = f"{len(rows):,} of {total:,}" if total > len(rows) else f"{total:,}"
        self.count.setText(f"{shown} stored backtests")

    def uids(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    def select_uid(self, uid: str, quiet: bool = False) -> None:
        """Select the row of ``uid``, which shows it (``quiet``: only mark it)."""
        for row, shown in enumerate(self.uids()):
            if shown == uid:
                self.table.blockSignals(quiet)
                self.table.selectRow(row)
                self.table.blockSignals(False)
                return

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.selected.emit(self.table.item(rows[0].row(), 0).text())


class CachePanel(QWidget):
    """What ``backtest cache`` reports, and clearing one symbol's cached data."""

    refresh_wanted = pyqtSignal()
    clear_wanted = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFont("DejaVu Sans Mono", 9))
        self.text.setPlainText("Press Refresh to read the cache statistics.")
        controls = QHBoxLayout()
        self.refresh = QPushButton("Refresh")
        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("symbol to clear")
        self.clear = QPushButton("Clear symbol")
        controls.addWidget(self.refresh)
        controls.addStretch(1)
        controls.addWidget(self.symbol)
        controls.addWidget(self.clear)
        layout.addLayout(controls)
        layout.addWidget(self.text, 1)
        self.refresh.clicked.connect(self.refresh_wanted)
        self.clear.clicked.connect(self._clear)

    def _clear(self) -> None:
        symbol = self.symbol.text().strip().upper()
        if symbol:
            self.clear_wanted.emit(symbol)

    def show_text(self, text: str | None) -> None:
        self.text.setPlainText(text or "The warehouse does not exist yet: run a backtest first.")
