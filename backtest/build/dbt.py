"""Running ``dbt build`` in-process on the project at the repository root.

Each build runs on the manifest ``backtest.build.manifest`` keeps (dbt parses only when the
project, the plugin settings or the warehouse's name changed), keeps the views an earlier build
on that manifest made (``backtest.build.views``), runs one build at a time per process, and
releases dbt's hold on the warehouse file when it ends."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from backtest.build.manifest import STATS, parsed_manifest
from backtest.build.views import kept_views, mark_views, view_models
from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.warehouse import connect

FAILED_STATUSES = {"error", "fail", "runtime error"}
CHUNK_VAR = "backtest_chunk_size"
"""The dbt var bounding the pending requests one build computes (``int_requests_pending``)."""
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BuildReport:
    """What one dbt build did."""

    models: int
    tests: int
    seconds: float
    manifest_seconds: float = 0.0
    """Of ``seconds``, getting the parsed manifest: a stored copy (milliseconds) or a parse."""
    parsed: bool = False
    """Whether dbt parsed the project for this build (no stored manifest matched)."""


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
    """A dbt event callback counting finished nodes against the total dbt announces (dbt's
    threads finish nodes at once: the count and its report happen under one lock, in order)."""
    finished, total = 0, 0
    counting = threading.Lock()

    def on_event(event) -> None:
        nonlocal finished, total
        with counting:
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
            _close_when_free(DuckDBConnectionManager._ENV)
            DuckDBConnectionManager._ENV = None


def _close_when_free(environment, seconds: float = 10.0) -> None:
    """Close a dbt-duckdb environment. A build stopped by Ctrl-C can leave one of dbt's threads
    in a query on its connection, which DuckDB refuses to close while busy: that query is
    interrupted (its work is uncommitted) and the close waits for the thread to let go."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            environment.close()
            return
        except duckdb.ResourceInUseException:
            if time.monotonic() > deadline:
                raise
            environment.conn.interrupt()
            time.sleep(0.02)


def _common_arguments(plugin_settings: dict | None, chunk_size: int | None = None) -> list[str]:
    """What a parse and a build share: the project, the logs, the target folder and the vars
    (the plugin settings; the most pending requests one build computes, ``chunk_size``).

    Anonymous usage statistics (dbt posts events over the network, synchronously, during the
    build) are off unless ``DBT_SEND_ANONYMOUS_USAGE_STATS`` says otherwise.
    """
    args = [
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
        str(target_path()),
    ]
    if "DBT_SEND_ANONYMOUS_USAGE_STATS" not in os.environ:
        args.append("--no-send-anonymous-usage-stats")
    variables = {}
    if plugin_settings is not None:
        variables["backtest_plugins"] = plugin_settings
    if chunk_size is not None:
        variables[CHUNK_VAR] = chunk_size
    if variables:
        args += ["--vars", json.dumps(variables, sort_keys=True)]
    return args


def target_path() -> Path:
    """dbt's target folder: ``DBT_TARGET_PATH`` or ``target/`` in the repository root."""
    return Path(os.environ.get("DBT_TARGET_PATH", str(PROJECT_ROOT / "target")))


def parse_arguments(
    plugin_settings: dict | None = None, chunk_size: int | None = None
) -> list[str]:
    """The ``dbt parse`` arguments for the manifest the builds with these settings use.

    >>> parse_arguments()[0], parse_arguments()[-1]
    ('parse', '--no-write-json')
    """
    return ["parse", *_common_arguments(plugin_settings, chunk_size), "--no-write-json"]


def build_arguments(
    plugin_settings: dict | None = None,
    full_refresh: bool = False,
    full_checks: bool = False,
    kept: Sequence[str] = (),
    chunk_size: int | None = None,
) -> list[str]:
    """The ``dbt build`` arguments for the project at the repository root.

    A pipeline build (not ``full_checks``) leaves out the unit tests, the tests that scan whole
    tables and the ``kept`` models (views it need not re-create), and writes no JSON artifacts
    (``run_results.json``).

    >>> build_arguments(full_refresh=True)[-4:]
    ['--exclude-resource-type', 'unit_test', '--exclude', 'tag:full_scan,resource_type:test']
    """
    args = ["build", *_common_arguments(plugin_settings, chunk_size)]
    if full_refresh:
        args.append("--full-refresh")
    if not full_checks:
        args += ["--no-write-json", "--exclude-resource-type", "unit_test", "--exclude"]
        args += ["tag:full_scan,resource_type:test", *kept]
    return args


_one_build = threading.Lock()
"""dbt does not support two invocations at once in one process."""


@dataclass(frozen=True)
class _Invocation:
    outcome: object
    manifest_seconds: float
    parsed: bool


def _kept(db_path: Path, views: dict, key: str) -> list[str]:
    """The views this build may keep; none when the warehouse cannot say (a cost, not an error)."""
    try:
        with connect(db_path) as con:
            return kept_views(con, views, key)
    except (duckdb.Error, BacktestError):
        return []


def _mark(db_path: Path, views: dict, key: str) -> None:
    """Mark the views the build made; a mark that cannot be written only costs the next build."""
    try:
        with connect(db_path) as con:
            mark_views(con, views, key)
    except (duckdb.Error, BacktestError):
        return


def _invoke(
    arguments: Callable[[Sequence[str]], list[str]],
    parse_args: list[str],
    on_node: NodeProgress | None,
    db_path: Path,
    keep_views: bool,
) -> _Invocation:
    """Run dbt in-process on the stored manifest (parsing only when the project, the vars or the
    warehouse changed); always release its hold on the warehouse afterwards.

    ``arguments(kept)`` are the build's arguments leaving out the ``kept`` view models: with
    ``keep_views``, those a build on the same manifest made (``backtest.build.views``). A build
    that succeeds marks the views it made.
    """
    from dbt.cli.main import dbtRunner

    callbacks = [_node_events(on_node)] if on_node else []
    with _one_build:
        try:
            started, parses = time.monotonic(), STATS.parses
            manifest, failed, key = parsed_manifest(
                parse_args, target_path(), lambda parse: dbtRunner().invoke(parse)
            )
            seconds, parsed = time.monotonic() - started, STATS.parses > parses
            if failed is not None:
                return _Invocation(failed, seconds, parsed)
            views = view_models(manifest)
            kept = _kept(db_path, views, key) if keep_views else []
            runner = dbtRunner(manifest=manifest, callbacks=callbacks)
            outcome = runner.invoke(arguments(kept))
            _release_warehouse()
            if outcome.success:
                _mark(db_path, views, key)
            return _Invocation(outcome, seconds, parsed)
        finally:
            _release_warehouse()


def _report(invocation: _Invocation, seconds: float) -> BuildReport:
    """What the build did, or one sentence on why it stopped (Ctrl-C stays an interrupt)."""
    outcome = invocation.outcome
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
    return BuildReport(
        models=models,
        tests=len(results) - models,
        seconds=seconds,
        manifest_seconds=invocation.manifest_seconds,
        parsed=invocation.parsed,
    )


def run_dbt_build(
    db_path: Path,
    plugin_settings: dict | None = None,
    full_refresh: bool = False,
    show_progress: bool = True,
    full_checks: bool = False,
    on_node: NodeProgress | None = None,
    chunk_size: int | None = None,
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
        chunk_size: Compute at most this many pending requests (the first by uid); the
            others stay pending for the next build (``pending_requests``).
    """
    os.environ["BACKTEST_DB"] = str(db_path)
    started = time.monotonic()
    on_terminal = show_progress and on_node is None and sys.stderr.isatty()
    progress = terminal_progress() if on_terminal else on_node
    invocation = _invoke(
        lambda kept: build_arguments(plugin_settings, full_refresh, full_checks, kept, chunk_size),
        parse_arguments(plugin_settings, chunk_size),
        progress,
        db_path,
        keep_views=not (full_refresh or full_checks),
    )
    if on_terminal:
        sys.stderr.write("\r" + " " * 78 + "\r")
    return _report(invocation, time.monotonic() - started)


def pending_requests(con: duckdb.DuckDBPyConnection, full_refresh: bool = False) -> int:
    """How many stored requests the next build computes with no chunk bound: those whose
    (uid, requested_at) is not in ``bt_index`` (every one on a full refresh or a first build),
    as ``int_requests_pending`` selects them."""
    built = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = current_schema() and table_name = 'bt_index'"
    ).fetchone()[0]
    if full_refresh or not built:
        return con.execute("select count(*) from raw.requests").fetchone()[0]
    return con.execute(
        """
        select count(*) from raw.requests as requests
        where not exists (
            select 1 from bt_index as built
            where built.uid = requests.uid and built.requested_at = requests.requested_at
        )
        """
    ).fetchone()[0]
