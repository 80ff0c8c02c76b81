"""Running ``dbt build`` in-process on the project at the repository root."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from backtest.core.text import plural

FAILED_STATUSES = {"error", "fail", "runtime error"}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BuildReport:
    """What one dbt build did."""

    models: int
    tests: int
    seconds: float


NodeProgress = Callable[[int, int, str], None]
"""Called as each dbt node (model or test) finishes: ``(done, total, node name)``."""


def terminal_progress(stream=sys.stderr) -> NodeProgress:
    """One rewritten line on a terminal: "dbt build: 12 of 74 nodes done (name)"."""

    def show(done: int, total: int, name: str) -> None:
        of_total = f"{done:,} of {plural(total, 'node')}" if total else plural(done, "node")
        stream.write(f"\r  dbt build: {of_total} done ({name[:40]})".ljust(78))
        stream.flush()

    return show


def _node_events(on_node: NodeProgress) -> Callable:
    """A dbt event callback counting finished nodes against the total dbt announces."""
    finished, total = 0, 0

    def on_event(event) -> None:
        nonlocal finished, total
        total = max(total, int(getattr(event.data, "total", 0) or 0))
        if event.info.name == "NodeFinished":
            finished += 1
            total = max(total, finished)  # dbt's count may leave out a node it then runs
            on_node(finished, total, event.data.node_info.node_name)

    return on_event


def _failure_sentence(results) -> str:
    failed = [result for result in results if str(result.status).lower() in FAILED_STATUSES]
    if not failed:
        return "dbt build did not complete"
    first = failed[0]
    text = ANSI_ESCAPE.sub("", str(first.message or ""))
    if "Traceback" in text:  # a Python model: its last line names the error
        text = text.strip().splitlines()[-1]
    message = " ".join(text.split())[:300]
    return f"dbt build failed at {first.node.name} ({message})"


def _interrupted(outcome) -> bool:
    """Whether dbt stopped because of Ctrl-C (it reports that as an exception or as results)."""
    if isinstance(outcome.exception, KeyboardInterrupt):
        return True
    messages = (str(result.message or "") for result in (outcome.result or []))
    return any("KeyboardInterrupt" in message for message in messages)


def _release_warehouse() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process after a run.

    dbt-duckdb caches one environment per process; left open, it holds the warehouse file with
    its own configuration and no other connection (read-only or another tool's) can open it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def build_arguments(
    plugin_settings: dict | None = None, full_refresh: bool = False, full_checks: bool = False
) -> list[str]:
    """The ``dbt build`` arguments for the project at the repository root.

    >>> build_arguments(full_refresh=True)[-3:]
    ['unit_test', '--exclude', 'tag:full_scan,resource_type:test']
    """
    args = [
        "build",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--log-path",
        os.environ.get("DBT_LOG_PATH", str(PROJECT_ROOT / "logs")),
        "--target-path",
        os.environ.get("DBT_TARGET_PATH", str(PROJECT_ROOT / "target")),
    ]
    if plugin_settings is not None:
        args += ["--vars", json.dumps({"backtest_plugins": plugin_settings})]
    if full_refresh:
        args.append("--full-refresh")
    if not full_checks:
        args += ["--exclude-resource-type", "unit_test", "--exclude"]
        args.append("tag:full_scan,resource_type:test")
    return args


def _invoke(args: list[str], on_node: NodeProgress | None):
    """Run dbt in-process; always release its hold on the warehouse afterwards."""
    from dbt.cli.main import dbtRunner

    callbacks = [_node_events(on_node)] if on_node else []
    try:
        return dbtRunner(callbacks=callbacks).invoke(args)
    finally:
        _release_warehouse()


def _report(outcome, seconds: float) -> BuildReport:
    """What the build did, or one sentence on why it stopped (Ctrl-C stays an interrupt)."""
    if _interrupted(outcome):
        raise KeyboardInterrupt
    if outcome.exception is not None:
        raise BacktestError(
            f"dbt could not run ({outcome.exception}): see logs/dbt.log; "
            "earlier results are unchanged."
        )
    results = list(outcome.result or [])
    if not outcome.success:
        raise BacktestError(
            f"{_failure_sentence(results)}: see logs/dbt.log; earlier results are unchanged."
        )
    models = sum(1 for result in results if result.node.resource_type == "model")
    return BuildReport(models=models, tests=len(results) - models, seconds=seconds)


def run_dbt_build(
    db_path: Path,
    plugin_settings: dict | None = None,
    full_refresh: bool = False,
    show_progress: bool = True,
    full_checks: bool = False,
    on_node: NodeProgress | None = None,
) -> BuildReport:
    """Build every model and test against ``db_path``; raise ``BacktestError`` on failure.

    Args:
        db_path: The warehouse file (exported as ``BACKTEST_DB`` for profiles.yml).
        plugin_settings: Overrides ``vars.backtest_plugins`` for this build when given.
        full_refresh: Rebuild every request instead of only the pending ones.
        show_progress: Print a one-line progress counter to stderr (on a terminal).
        full_checks: Also run the dbt unit tests and the data tests that scan whole tables
            (raw bars, the bt_* marts), whose cost grows with history. Pipeline builds leave them
            out and test the pending slice (the intermediate and signal models); a plain
            `dbt build` and `backtest build` run everything.
        on_node: Called as each node finishes (a dashboard's progress bar); replaces the
            terminal counter.
    """
    os.environ["BACKTEST_DB"] = str(db_path)
    args = build_arguments(plugin_settings, full_refresh, full_checks)
    started = time.monotonic()
    on_terminal = show_progress and on_node is None and sys.stderr.isatty()
    outcome = _invoke(args, terminal_progress() if on_terminal else on_node)
    if on_terminal:
        sys.stderr.write("\r" + " " * 78 + "\r")
    return _report(outcome, time.monotonic() - started)
