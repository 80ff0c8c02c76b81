"""Starting the dashboard: the interactive window, or one offscreen screenshot of it."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtCore import QEventLoop, QTimer
from PyQt6.QtWidgets import QApplication

from backtest.core.errors import BacktestError
from backtest.gui.window import DashboardWindow

WINDOW_SIZE = (1400, 900)
SCREENSHOT_TIMEOUT_SECONDS = 900


_application: list[QApplication] = []
"""Keeps the QApplication this module created alive for the whole process."""


def application() -> QApplication:
    """This process's QApplication (created once, kept alive)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("backtest dashboard")
        _application.append(app)
    return app


def open_window(db_path: Path) -> DashboardWindow:
    """A shown dashboard window at the standard size."""
    application()
    window = DashboardWindow(db_path)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def run_gui(db_path: Path) -> int:
    """Open the window and run the event loop until it closes; the exit code."""
    app = application()
    open_window(db_path)
    return app.exec()


def wait_idle(window: DashboardWindow, seconds: float = SCREENSHOT_TIMEOUT_SECONDS) -> None:
    """Run the event loop until the window's jobs are done (or ``seconds`` pass)."""
    if not window.queue.busy:
        return
    loop = QEventLoop()
    window.queue.idle.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    window.queue.idle.disconnect(loop.quit)


def _entry_minute(symbol: str, entry_time: str, direction: str):
    """The request's entry minute (naive UTC), checked with the CLI's sentences."""
    from backtest.core.requests import RunOptions, prepare_requests, single_request

    requests = prepare_requests(single_request(symbol, entry_time, direction), RunOptions())
    return requests.entry_time.iloc[0].to_pydatetime()


def _fill_form(
    window: DashboardWindow,
    request: tuple[str, str, str],
    source: str,
    calculation: str,
    bar_paths: Sequence[str],
) -> None:
    from plugins.loader import plugin_settings

    symbol, entry_time, direction = request
    plugin_settings(calculation)
    window.form.set_request(
        symbol, _entry_minute(symbol, entry_time, direction), direction.strip().upper()
    )
    window.form.source.setCurrentText(source)
    window.form.bars.setText(";".join(map(str, bar_paths)))
    window.form.set_calculation(calculation)


def save_screenshot(
    db_path: Path,
    path: Path,
    *,
    uid: str | None = None,
    request: tuple[str, str, str] | None = None,
    source: str = "demo",
    calculation: str = "all",
    bar_paths: Sequence[str] = (),
) -> Path:
    """Show a stored backtest (``uid``) or run one (``request``: symbol, entry time,
    direction) in the full window, offscreen at 1400x900, and write it as a PNG.

    Raises:
        BacktestError: the input is refused, the run fails, or the file cannot be written.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    window = open_window(db_path)
    wait_idle(window)
    window.last_error = None
    if uid:
        window.show_stored(uid.strip())
    else:
        _fill_form(window, request, source, calculation, bar_paths)
        window.start_run()
    wait_idle(window)
    if window.last_error or window.shown is None:
        raise BacktestError(window.last_error or "The backtest did not finish in time.")
    window.history.select_uid(window.shown.uid, quiet=True)
    app.processEvents()
    saved = window.grab().save(str(path), "PNG")
    window.close()
    if not saved:
        raise BacktestError(f"--screenshot {path} cannot be written: choose a writable .png path.")
    return path
