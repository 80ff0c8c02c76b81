"""The result panels: summary metrics, the consensus, every signal, and the log.

Each panel shows one ``--output`` result object (``backtest.build.results.fetch_results``), so
the window and the JSON file always say the same thing.
"""

from __future__ import annotations

import json
from datetime import datetime

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from backtest.core.config import HORIZONS

MISSING = "–"
DIRECTION_COLOURS = {"BULLISH": "#1a7f37", "BEARISH": "#cf222e", "NEUTRAL": "#57606a"}
SIGNAL_COLUMNS = ["calculation", "direction", "strength", "confidence", "status", "metadata"]


def price_text(value: float | None) -> str:
    """A price with cents.

    >>> price_text(191.2345), price_text(None)
    ('191.23', '–')
    """
    return MISSING if value is None else f"{value:,.2f}"


def percent_text(value: float | None) -> str:
    """A signed percentage.

    >>> percent_text(-1.5), percent_text(0.25)
    ('-1.50%', '+0.25%')
    """
    return MISSING if value is None else f"{value:+.2f}%"


def number_text(value: float | None, digits: int = 1) -> str:
    """A plain number.

    >>> number_text(66.666), number_text(None)
    ('66.7', '–')
    """
    return MISSING if value is None else f"{value:,.{digits}f}"


def _as_object(value: object) -> dict:
    """A JSON column that DuckDB may return as text or as an object."""
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.1f}"
    return str(value)


def metadata_text(metadata: object) -> str:
    """A signal's metadata as ``key = value`` pairs, numbers shortened, nesting flattened.

    >>> metadata_text('{"ema_9": 191.23456, "ema_21": 190.8, "crossed": {"minutes": 4}}')
    'ema_9 = 191.2 · ema_21 = 190.8 · crossed.minutes = 4'
    """
    pairs: list[str] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
        else:
            pairs.append(f"{prefix[:-1]} = {_short(value)}")

    walk("", _as_object(metadata))
    return " · ".join(pairs)


def votes_text(breakdown: object) -> str:
    """The vote breakdown, every direction named.

    >>> votes_text('{"BULLISH": 2, "BEARISH": 1}')
    'BULLISH 2 · BEARISH 1 · NEUTRAL 0'
    """
    votes = _as_object(breakdown)
    return " · ".join(f"{side} {votes.get(side, 0)}" for side in DIRECTION_COLOURS)


def minutes_text(value: float | None, bars: int | None) -> str:
    """An excursion with the minute it was reached.

    >>> minutes_text(1.25, 7)
    '+1.25% at min 7'
    """
    return percent_text(value) if bars is None else f"{percent_text(value)} at min {bars}"


def entry_text(entry_time: str) -> str:
    """``2024-06-27T13:35:00Z`` as ``2024-06-27 13:35 UTC``."""
    moment = datetime.fromisoformat(entry_time.replace("Z", "+00:00"))
    return f"{moment:%Y-%m-%d %H:%M} UTC"


class FieldsPanel(QGroupBox):
    """A titled grid of name/value labels; ``value(name)`` is the shown text."""

    def __init__(self, title: str, names: list[str], columns: int = 2) -> None:
        super().__init__(title)
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(3)
        self.labels: dict[str, QLabel] = {}
        for index, name in enumerate(names):
            row, column = divmod(index, columns)
            caption = QLabel(name)
            caption.setStyleSheet("color: #57606a;")
            value = QLabel(MISSING)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, row, 2 * column)
            grid.addWidget(value, row, 2 * column + 1)
            self.labels[name] = value

    def value(self, name: str) -> str:
        return self.labels[name].text()

    def show_values(self, values: dict[str, str]) -> None:
        for name, label in self.labels.items():
            label.setText(values.get(name, MISSING))

    def clear(self) -> None:
        self.show_values({})


SUMMARY_FIELDS = [
    "Status",
    "Data",
    "Entry price",
    "Exit price",
    "P&L",
    "P&L %",
    "MFE",
    "MAE",
    *(f"Return {minutes}m" for minutes in HORIZONS),
]
CONSENSUS_FIELDS = [
    "Consensus",
    "Agreement",
    "Votes",
    "Calculations",
    "Aligned with trade",
    "Mean strength",
    "Mean confidence",
]


def summary_values(result: dict) -> dict[str, str]:
    """The summary panel's texts for one result object."""
    forward = result["forward"]
    return {
        "Status": result["status"],
        "Data": result.get("data_source") or MISSING,
        "Entry price": price_text(forward["entry_price"]),
        "Exit price": price_text(forward["exit_price"]),
        "P&L": number_text(forward["pnl"], 4),
        "P&L %": percent_text(forward["pnl_pct"]),
        "MFE": minutes_text(forward["max_favorable_excursion_pct"], forward["bars_to_mfe"]),
        "MAE": minutes_text(forward["max_adverse_excursion_pct"], forward["bars_to_mae"]),
        **{f"Return {m}m": percent_text(forward[f"return_{m}m"]) for m in HORIZONS},
    }


def consensus_values(result: dict) -> dict[str, str]:
    """The consensus panel's texts for one result object."""
    consensus, aligned = result["consensus"], result["forward"]["aligned_with_trade"]
    participating = consensus["participating_calculations"]
    return {
        "Consensus": consensus["consensus_direction"] or MISSING,
        "Agreement": f"{number_text(consensus['agreement_score'])}%",
        "Votes": votes_text(consensus["vote_breakdown"]),
        "Calculations": f"{participating} of {consensus['total_calculations']} participating",
        "Aligned with trade": MISSING if aligned is None else ("yes" if aligned else "no"),
        "Mean strength": number_text(consensus["average_strength"]),
        "Mean confidence": number_text(consensus["average_confidence"]),
    }


def signal_cells(signal: dict) -> list[str]:
    """One row of the signals table."""
    detail = signal.get("error") or metadata_text(signal.get("metadata"))
    return [
        signal["calculation"],
        signal["direction"] or MISSING,
        number_text(signal["strength"]),
        number_text(signal["confidence"]),
        signal["status"],
        detail,
    ]


class SignalsTable(QTableWidget):
    """Every calculation's signal: direction, strength, confidence, status, and its metadata
    (or error) readable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(SIGNAL_COLUMNS), parent)
        self.setHorizontalHeaderLabels(["calculation", "direction", "strength", "confidence",
                                        "status", "metadata / error"])  # fmt: skip
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def show_signals(self, signals: list[dict]) -> None:
        self.setRowCount(len(signals))
        for row, signal in enumerate(signals):
            for column, text in enumerate(signal_cells(signal)):
                item = QTableWidgetItem(text)
                if column == 1 and text in DIRECTION_COLOURS:
                    item.setForeground(_colour(DIRECTION_COLOURS[text]))
                if column == 5:
                    item.setToolTip(text)
                self.setItem(row, column, item)

    def cell_text(self, row: int, column: int) -> str:
        return self.item(row, column).text()


SYNTHETIC_TEXT = "SYNTHETIC demo data"


def synthetic_badge() -> QLabel:
    """The yellow SYNTHETIC label shown over results built from demo bars (hidden at first)."""
    badge = QLabel(SYNTHETIC_TEXT)
    badge.setToolTip("Demo bars are generated by ingest/demo.py, not market prices.")
    badge.setStyleSheet(
        "background: #fff8c5; color: #9a6700; border: 1px solid #d4a72c; "
        "border-radius: 3px; padding: 2px 6px; font-weight: 700;"
    )
    badge.setVisible(False)
    return badge


def _colour(name: str):
    from PyQt6.QtGui import QColor

    return QColor(name)


class LogPanel(QPlainTextEdit):
    """What happened, one timestamped line per event; errors are sentences, never tracebacks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(2_000)
        self.setFont(QFont("DejaVu Sans Mono", 9))

    def add(self, message: str, error: bool = False) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self.appendPlainText(f"{stamp} {'error: ' if error else ''}{message}")

    def lines(self) -> list[str]:
        return self.toPlainText().splitlines()
