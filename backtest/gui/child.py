"""The backtest run's own process: ``run_requests`` (the one pipeline), then reading the results.

``BacktestWorker`` runs backtests in a child process (multiprocessing's "spawn" context), so
pandas, great-expectations and dbt never hold the dashboard's interpreter lock and the child alone
has the warehouse open while it builds. The window keeps one such process (``serve_child``) for
all its runs: the second run finds the modules imported, dbt's parsed manifest in memory and
great-expectations imported (in the background, from the start), so one request takes about a
second or two instead of several. Between runs it holds nothing open. ``run_child`` runs one job
in a process of its own. The child reports over a pipe, one tuple a message:

* ``("stage", sentence, done, total)``: a stage line (0 of 0: busy, no count), or a dbt node;
* ``("done", RunOutcome)``: the run finished and its results were read;
* ``("failed", sentence)``: the run stopped; the sentence is what the window shows.

This module imports neither Qt nor the heavy modules at import time: a child starts fast.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    """A validated run: what ``run_requests`` gets, and how to show it.

    Attributes:
        frame: The request rows (symbol, entry_time, direction), already checked.
        options: Lookback and forward bars.
        source: demo, files or polygon.
        bar_paths: Bar files for the files source.
        calculation: all, or NAME[,NAME].
        label: What the run is, for the log ("AAPL.062724.1335.L" or "batch of 10,000").
    """

    frame: Any
    options: Any
    source: str = "demo"
    bar_paths: tuple[str, ...] = ()
    calculation: str = "all"
    label: str = ""


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run shows: the first result in full, the whole run as a summary."""

    uids: list[str]
    chart: Any
    summary: str
    lines: list[str] = field(default_factory=list)


def node_sentence(done: int, total: int, name: str) -> str:
    """The progress line of one finished dbt node.

    >>> node_sentence(12, 74, "int_request_windows_filled")
    'dbt build: 12 of 74 nodes (int_request_windows_filled)'
    """
    of_total = f"{done:,} of {total:,} nodes" if total else f"{done:,} nodes"
    return f"dbt build: {of_total} ({name})"


def run_backtest(db_path: Path, spec: RunSpec, send: Any) -> RunOutcome:
    """Run ``spec`` through ``run_requests`` and read what the window shows; report each stage
    and each finished dbt node with ``send(sentence, done, total)``."""
    from backtest.build.results import summarize
    from backtest.core.config import Settings
    from backtest.core.text import plural
    from backtest.core.warehouse import connect
    from backtest.engine import Progress, run_requests
    from backtest.gui.chart_data import load_chart_data
    from ingest import SourceOptions

    report = run_requests(
        Settings(db_path),
        spec.frame,
        spec.options,
        source=spec.source,
        bar_paths=list(spec.bar_paths),
        calculation=spec.calculation,
        show_progress=False,
        source_options=SourceOptions(),
        progress=Progress(
            stage=lambda sentence: send(sentence, 0, 0),
            node=lambda done, total, name: _send_node(send, done, total, name),
        ),
    )
    send("Reading the results ...", 0, 0)
    with connect(db_path, read_only=True) as con:
        summary = summarize(con, report.uids, limit=5)
        chart = load_chart_data(con, report.uids[0])
    build = report.build
    lines = [
        *report.load.summary_lines(),
        f"dbt build: {plural(build.models, 'model')}, {plural(build.tests, 'test')} "
        f"in {build.seconds:.1f} s{', project parsed' if build.parsed else ''}",
    ]
    return RunOutcome(report.uids, chart, summary.text, lines)


def _send_node(send: Any, done: int, total: int, name: str) -> None:
    """One finished dbt node; the total never falls below the nodes done (dbt's announced total
    can miss a node that finishes last)."""
    total = max(total, done)
    send(node_sentence(done, total, name), done, total)


def failure_sentence(title: str, error: BaseException) -> str:
    """One sentence for an unexpected failure (a ``BacktestError`` is its own sentence)."""
    from backtest.core.errors import BacktestError

    if isinstance(error, BacktestError):
        return str(error)
    return (
        f"{title} failed unexpectedly ({type(error).__name__}: {error}); "
        "the stored results are unchanged."
    )


def serve_child(jobs: Any, pipe: Any) -> None:
    """A long-lived child's entry point: run each ``(db_path, spec, title)`` received on ``jobs``
    as ``run_child`` does, until ``None`` arrives or the window's end of ``jobs`` closes."""
    from ingest.validation import warm_up_in_background

    logging.basicConfig(level=logging.WARNING)
    warm_up_in_background()
    try:
        while True:
            try:
                job = jobs.recv()
            except (EOFError, OSError, KeyboardInterrupt):
                return
            if job is None or _run_one(pipe, *job):  # interrupted: the window ends this process
                return
    finally:
        pipe.close()


def run_child(pipe: Any, db_path: str, spec: RunSpec, title: str) -> None:
    """A one-job child's entry point: run, then send ``done`` or ``failed`` on ``pipe``."""
    logging.basicConfig(level=logging.WARNING)
    try:
        _run_one(pipe, db_path, spec, title)
    finally:
        pipe.close()


def _run_one(pipe: Any, db_path: str, spec: RunSpec, title: str) -> bool:
    """Run one job, reporting its stages, then ``done`` or ``failed``, on ``pipe``; True when it
    was interrupted."""

    def send(sentence: str, done: int, total: int) -> None:
        pipe.send(("stage", sentence, done, total))

    interrupted = False
    try:
        outcome = run_backtest(Path(db_path), spec, send)
        message: tuple = ("done", outcome)
    except KeyboardInterrupt:  # stopped by the window: it no longer listens
        interrupted = True
        message = ("failed", f"{title} was interrupted; the stored results are unchanged.")
    except Exception as error:
        LOG.exception("%s failed", title)
        message = ("failed", failure_sentence(title, error))
    with contextlib.suppress(OSError):  # the window stopped listening (it was closed)
        pipe.send(message)
    return interrupted
