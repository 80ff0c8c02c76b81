"""Work off the UI thread: backtests, pushes and warehouse reads as queued ``QRunnable`` jobs.

Every job runs in one worker thread of its own ``JobQueue``, one at a time, so a build, an
export and a read never use the warehouse together (dbt cannot run twice in one process, and
DuckDB opens a file with one configuration per process). A job reports through Qt signals
(``stage``, ``finished``, ``failed``) that Qt delivers on the UI thread; only the UI thread
touches widgets. Heavy modules (pandas, DuckDB, dbt, great-expectations) are imported here, in
the worker thread, when a job first needs them; a backtest runs in a child process of its own
(``BacktestWorker``), so its build never holds this process's interpreter lock or warehouse.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

from backtest.core.errors import BacktestError
from backtest.gui.child import RunOutcome, RunSpec, run_child, serve_child

LOG = logging.getLogger(__name__)
HISTORY_LIMIT = 500


class WorkerSignals(QObject):
    """What a job tells the window: its stage, then exactly one of finished or failed."""

    stage = pyqtSignal(str, int, int)
    """A sentence, the step done and the steps in all (0 of 0: busy, no count)."""
    finished = pyqtSignal(object)
    failed = pyqtSignal(str)


class Job(QRunnable):
    """A unit of work for the ``JobQueue``; subclasses implement ``work``.

    Args:
        title: What the job does, for the log ("Backtest of AAPL.062724.1335.L").
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.title = title
        self.signals = WorkerSignals()

    def work(self) -> Any:
        raise NotImplementedError

    def stage(self, message: str, done: int = 0, total: int = 0) -> None:
        self.signals.stage.emit(message, done, total)

    def run(self) -> None:
        """Run ``work``; a failure becomes one sentence on ``failed``, never a traceback."""
        try:
            result = self.work()
        except BacktestError as error:
            self.signals.failed.emit(str(error))
        except Exception as error:
            LOG.exception("%s failed", self.title)
            self.signals.failed.emit(
                f"{self.title} failed unexpectedly ({type(error).__name__}: {error}); "
                "the stored results are unchanged."
            )
        else:
            self.signals.finished.emit(result)


class JobQueue(QObject):
    """Runs jobs one after another in one worker thread, in the order submitted.

    ``idle`` is emitted when the last job has finished and nothing waits.
    """

    idle = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._waiting: deque[Job] = deque()
        self._current: Job | None = None

    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> Job | None:
        return self._current

    @property
    def waiting(self) -> list[Job]:
        return list(self._waiting)

    def submit(self, job: Job) -> None:
        """Start ``job`` now when nothing runs, else after the jobs already submitted."""
        job.signals.finished.connect(self._done)
        job.signals.failed.connect(self._done)
        self._waiting.append(job)
        self._next()

    def drop_waiting(self) -> list[Job]:
        """Forget the jobs that have not started; return them."""
        dropped = list(self._waiting)
        self._waiting.clear()
        return dropped

    def wait(self, milliseconds: int = -1) -> bool:
        """Block until the running job ends (for shutdown and tests); False on timeout."""
        return self._pool.waitForDone(milliseconds)

    def _next(self) -> None:
        if self._current is None and self._waiting:
            self._current = self._waiting.popleft()
            self._pool.start(self._current)

    def _done(self, _outcome: object) -> None:
        self._current = None
        self._next()
        if self._current is None:
            self.idle.emit()


def _load_chart(con: Any, uid: str) -> Any:
    """The stored backtest ``uid`` with its bars (``BacktestError`` when it is not stored)."""
    from backtest.gui.chart_data import load_chart_data

    return load_chart_data(con, uid)


class BacktestProcess:
    """The child process a window's backtests run in, one after another, kept between runs.

    Started by the first run (``serve_child``); the next runs find it warm (modules imported,
    dbt's manifest in memory, great-expectations imported in the background), and it holds the
    warehouse only while a run builds. A stopped run ends it; the next run starts a new one.
    """

    def __init__(self) -> None:
        self._process: Any = None
        self._jobs: Any = None
        self._messages: Any = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The running process's id (None when none runs)."""
        return self._process.pid if self.alive else None

    @property
    def process(self) -> Any:
        """The running process (None when none runs)."""
        return self._process if self.alive else None

    def submit(self, db_path: Path, spec: RunSpec, title: str) -> tuple[Any, Any]:
        """Send a job (starting the process when none runs); the process and its messages."""
        if not self.alive:
            self.forget()
            context = multiprocessing.get_context("spawn")
            receive_jobs, self._jobs = context.Pipe(duplex=False)
            self._messages, send = context.Pipe(duplex=False)
            self._process = context.Process(
                target=serve_child, args=(receive_jobs, send), name="backtests", daemon=True
            )
            self._process.start()
            receive_jobs.close()
            send.close()
        self._jobs.send((str(db_path), spec, title))
        return self._process, self._messages

    def forget(self) -> None:
        """Drop the ended (or being ended) process; the next job starts a new one."""
        for connection in (self._jobs, self._messages):
            if connection is not None:
                connection.close()
        self._process = self._jobs = self._messages = None

    def close(self, seconds: float = 10.0) -> Any:
        """Let the idle process exit (the window closes) without waiting here: a thread reaps
        it, and ends it if it lingers past ``seconds``. Returns the process (None if none)."""
        process = self._process if self.alive else None
        if process is not None:
            with contextlib.suppress(OSError):
                self._jobs.send(None)
            threading.Thread(
                target=_reap, args=(process, seconds), name="backtests reaper", daemon=True
            ).start()
        self.forget()
        return process


def _reap(process: Any, seconds: float) -> None:
    process.join(seconds)
    if process.is_alive():
        process.kill()
        process.join()


class BacktestWorker(Job):
    """Runs backtests through the one pipeline (``run_requests``: ingest, then dbt build) in a
    child process (``backtest.gui.child``), and re-emits what the child reports as signals.

    This job's thread only waits on the child's pipe, so the UI thread keeps the interpreter
    lock; the child alone has the warehouse open while it runs. With a ``process`` (the window's
    ``BacktestProcess``) the run goes to that long-lived child; without, to a child of its own
    that ends with the run. ``stop`` ends the child at once (the warehouse's runs are
    crash-safe: an interrupted run leaves the stored results as they were).
    """

    POLL_SECONDS = 0.05
    STOP_GRACE_SECONDS = 10.0

    def __init__(self, db_path: Path, spec: RunSpec, process: BacktestProcess | None = None):
        super().__init__(f"Backtest of {spec.label}")
        self.db_path = Path(db_path)
        self.spec = spec
        self.process = process
        self._stop = threading.Event()
        self.exit_code: int | None = None

    def stop(self) -> None:
        """Terminate the child (from any thread); the job then fails with one sentence."""
        self._stop.set()

    def work(self) -> RunOutcome:
        if self.process is not None:
            process, receive = self.process.submit(self.db_path, self.spec, self.title)
            try:
                return self._follow(process, receive)
            finally:
                if self._stop.is_set() or not process.is_alive():  # the next run starts afresh
                    self._end(process)
                    self.process.forget()
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=run_child,
            args=(send, str(self.db_path), self.spec, self.title),
            name=f"backtest-{self.spec.label}",
        )
        process.start()
        send.close()
        try:
            return self._follow(process, receive)
        finally:
            receive.close()
            self._end(process)

    def _follow(self, process: Any, receive: Any) -> RunOutcome:
        """Re-emit the child's stages until it sends its outcome (or dies, or is stopped)."""
        while not self._stop.is_set():
            if not receive.poll(self.POLL_SECONDS):
                if not process.is_alive() and not receive.poll(0):
                    break
                continue
            try:
                message = receive.recv()
            except EOFError:
                break
            kind = message[0]
            if kind == "stage":
                self.stage(*message[1:])
            elif kind == "done":
                self.stage("Done", 1, 1)
                return message[1]
            else:
                raise BacktestError(message[1])
        if self._stop.is_set():
            raise BacktestError(
                f"{self.title} was stopped; the warehouse keeps the results stored before it."
            )
        process.join(self.STOP_GRACE_SECONDS)
        raise BacktestError(
            f"{self.title} stopped unexpectedly (its process exited with code "
            f"{process.exitcode}); the stored results are unchanged."
        )

    def _end(self, process: Any) -> None:
        """Let the child exit after its last message. When stopped (or stuck), interrupt it
        as Ctrl-C would (dbt and DuckDB clean up), then terminate it, then kill it."""
        if not self._stop.is_set():
            process.join(self.STOP_GRACE_SECONDS)
        if process.is_alive():
            os.kill(process.pid, signal.SIGINT)
            process.join(self.STOP_GRACE_SECONDS / 2)
        if process.is_alive():
            process.terminate()
            process.join(self.STOP_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        self.exit_code = process.exitcode
        process.close()


class PushWorker(Job):
    """Pushes the warehouse's changed ``bt_*`` rows to Supabase with the existing export.

    Args:
        db_path: The warehouse file.
        target: An ``ExportTarget``; None reads it from the environment (or .env) when run.
    """

    def __init__(self, db_path: Path, target: Any = None) -> None:
        super().__init__("Push to Supabase")
        self.db_path = Path(db_path)
        self.target = target

    def _progress(self, done: Any) -> None:
        self.stage(f"Pushing {done.table}: {done.done:,} of {done.total:,} rows", 0, 0)

    def work(self) -> str:
        from backtest.export import ExportTarget, export_tables
        from plugins.loader import store_hooks

        target = self.target or ExportTarget.from_env()
        self.stage(f"Pushing to {target.identity}")
        report = export_tables(
            self.db_path,
            target,
            init_schema=target.transport == "postgres",
            progress=self._progress,
            store_hooks=store_hooks(),
        )
        return report.summary()


class ReadWorker(Job):
    """Runs ``read(con)`` on a connection to the warehouse (read-only unless ``writes``).

    A warehouse that does not exist yet, or lacks the result tables, gives ``empty``; with
    ``empty`` None, it is an error sentence instead.
    """

    def __init__(
        self,
        title: str,
        db_path: Path,
        read: Callable[[Any], Any],
        empty: Any = None,
        writes: bool = False,
    ) -> None:
        super().__init__(title)
        self.db_path = Path(db_path)
        self.read = read
        self.empty = empty
        self.writes = writes

    def work(self) -> Any:
        import duckdb

        from backtest.core.warehouse import connect

        if not self.db_path.exists() and self.empty is not None:
            return self.empty
        with connect(self.db_path, read_only=not self.writes) as con:
            try:
                return self.read(con)
            except duckdb.CatalogException:
                if self.empty is None:
                    raise BacktestError(
                        f"Warehouse {self.db_path} holds no backtest results yet: run a "
                        "backtest first, or check --db."
                    ) from None
                return self.empty


class TaskWorker(Job):
    """Runs ``task()`` off the UI thread (e.g. discovering the plugins, which imports pandas)."""

    def __init__(self, title: str, task: Callable[[], Any]) -> None:
        super().__init__(title)
        self.task = task

    def work(self) -> Any:
        return self.task()


@dataclass(frozen=True)
class HistoryFilter:
    """The history panel's filters; None or empty means any."""

    symbol: str = ""
    status: str | None = None
    consensus: str | None = None
    start: str | None = None
    end: str | None = None


HISTORY_SQL = """
select request.uid, request.symbol, strftime(request.entry_time, '%Y-%m-%d %H:%M') as entry,
       request.direction, request.status, aggregated.consensus_direction,
       aggregated.agreement_score, aggregated.pnl_pct, request.data_source
from bt_index as request
left join bt_aggregated as aggregated on aggregated.uid = request.uid
where ($symbol = '' or request.symbol = $symbol)
  and ($status is null or request.status = $status)
  and ($consensus is null or aggregated.consensus_direction = $consensus)
  and ($start is null or request.entry_time >= cast($start as timestamp))
  and ($end is null or request.entry_time < cast($end as timestamp) + interval 1 day)
order by request.entry_time desc, request.uid
"""


def read_history(con: Any, wanted: HistoryFilter) -> tuple[list[tuple], int]:
    """The stored backtests matching ``wanted`` (newest entry first, at most HISTORY_LIMIT),
    and how many match in all."""
    parameters = {
        "symbol": wanted.symbol.strip().upper(),
        "status": wanted.status,
        "consensus": wanted.consensus,
        "start": wanted.start,
        "end": wanted.end,
    }
    total = con.execute(f"select count(*) from ({HISTORY_SQL})", parameters).fetchone()[0]
    rows = con.execute(f"{HISTORY_SQL} limit {HISTORY_LIMIT}", parameters).fetchall()
    return rows, int(total)


def load_stored(con: Any, uid: str) -> Any:
    """The stored backtest ``uid`` for the window, read without recomputing anything."""
    return _load_chart(con, uid)


def read_cache_stats(db_path: Path) -> Callable[[Any], str]:
    """A reader giving what ``backtest cache`` prints."""

    def read(con: Any) -> str:
        from ingest.cache import cache_stats

        return cache_stats(con, db_path).render()

    return read


def clear_symbol(db_path: Path, symbol: str) -> Callable[[Any], str]:
    """A writer clearing one symbol's cached data, then giving the statistics."""

    def clear(con: Any) -> str:
        from ingest.cache import cache_stats, clear_cache

        report = clear_cache(con, symbol)
        return f"{report.render(symbol)}\n\n{cache_stats(con, db_path).render()}"

    return clear
