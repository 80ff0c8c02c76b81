"""Automatic export in the background, for the dashboard: export after each build.

Example::

    with auto_export(settings.db_path, ExportTarget.from_env()) as exporter:
        exporter.run(run_requests, settings, frame, RunOptions())  # build, then export
        exporter.wait_idle(timeout=60)
        print(exporter.last_error or exporter.last_report.summary())
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from backtest.core.errors import BacktestError
from backtest.export.exporter import ExportReport, export_tables
from backtest.export.target import ExportTarget

Result = TypeVar("Result")


class AutoExporter:
    """Runs exports in one background thread, each time ``notify()`` is called.

    Requests that arrive while an export runs are merged into one follow-up export. A failed
    export does not stop the thread: its sentence is kept in ``last_error`` and the next
    export delivers what is left. ``lock`` is held during every export; hold it around a build
    (or use ``run``) so that a build and an export never use the warehouse at the same time.

    Args:
        db_path: The warehouse file.
        target: Where to export.
        on_done: Called in the background thread after each export with its report, or with
            None and the error sentence.
    """

    def __init__(
        self,
        db_path: Path,
        target: ExportTarget,
        on_done: Callable[[ExportReport | None, str | None], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.target = target
        self.on_done = on_done
        self.lock = threading.Lock()
        self.last_report: ExportReport | None = None
        self.last_error: str | None = None
        self.exports = 0
        self._requested = 0
        self._finished = 0
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="backtest-auto-export", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive (it stops only on ``close``)."""
        return self._thread.is_alive()

    def notify(self) -> None:
        """Ask for an export (returns at once)."""
        with self._changed:
            self._requested += 1
            self._changed.notify_all()

    def run(self, build: Callable[..., Result], *args, **kwargs) -> Result:
        """Run ``build(*args, **kwargs)`` while no export runs, then ask for an export."""
        with self.lock:
            result = build(*args, **kwargs)
        self.notify()
        return result

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every export asked for so far has finished; False on timeout."""
        with self._changed:
            wanted = self._requested
            return self._changed.wait_for(lambda: self._finished >= wanted, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Finish the exports already asked for, then stop the thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout)

    def _export_once(self) -> None:
        try:
            with self.lock:
                report = export_tables(self.db_path, self.target)
        except Exception as error:
            self.last_error = (
                str(error)
                if isinstance(error, BacktestError)
                else f"The export failed unexpectedly ({type(error).__name__}: {error})."
            )
            if self.on_done:
                self.on_done(None, self.last_error)
            return
        self.last_report, self.last_error = report, None
        self.exports += 1
        if self.on_done:
            self.on_done(report, None)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._requested > self._finished or self._closing)
                if self._requested == self._finished:
                    return
                target = self._requested
            self._export_once()
            with self._changed:
                self._finished = target
                self._changed.notify_all()


@contextmanager
def auto_export(db_path: Path, target: ExportTarget) -> Iterator[AutoExporter]:
    """An ``AutoExporter`` that is closed (pending exports finished) on leaving the block."""
    exporter = AutoExporter(db_path, target)
    try:
        yield exporter
    finally:
        exporter.close()
