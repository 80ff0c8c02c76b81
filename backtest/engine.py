"""One run: requests in, bars loaded, dbt built, results out. Set-based from end to end."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from backtest.build.dbt import BuildReport, NodeProgress, pending_requests, run_dbt_build
from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions, duplicates_note, prepare_requests
from backtest.core.text import plural, stage_printer
from backtest.core.warehouse import hold, stored_calculation_names
from ingest import LoadReport, SourceOptions, ingest_batch
from plugins.loader import (
    build_plugin_settings,
    calculation_selection,
    combined_requirements,
    plugin_settings,
)
from plugins.storage import refresh_adapter_tables

CHUNK_ENV = "BACKTEST_CHUNK_SIZE"
DEFAULT_CHUNK_SIZE = 100_000


@dataclass(frozen=True)
class Progress:
    """Where a run reports what it is doing: stage lines, and each finished dbt node."""

    stage: Callable[[str], None]
    node: NodeProgress


@dataclass(frozen=True)
class RunReport:
    """What a run did, for the summary."""

    uids: list[str]
    load: LoadReport
    build: BuildReport
    data_source: str
    duplicates_note: str = ""
    """"N rows, M duplicates of earlier rows ignored", or empty when no row repeated another."""
    ingest_seconds: float = 0.0
    """Wall time of the ingest (requests stored, data loaded); the build's is in ``build``."""


def chunk_size() -> int:
    """The most pending requests one dbt build computes (``BACKTEST_CHUNK_SIZE``, default
    100,000): a larger batch is built in several builds, so memory stays bounded."""
    raw = os.environ.get(CHUNK_ENV, "").strip()
    try:
        size = int(raw) if raw else DEFAULT_CHUNK_SIZE
    except ValueError:
        size = 0
    if size < 1:
        raise BacktestError(f"{CHUNK_ENV}={raw!r} is not a positive number of requests.")
    return size


def _combined(reports: list[BuildReport], seconds: float) -> BuildReport:
    return BuildReport(
        models=sum(report.models for report in reports),
        tests=sum(report.tests for report in reports),
        seconds=seconds,
        manifest_seconds=sum(report.manifest_seconds for report in reports),
        parsed=any(report.parsed for report in reports),
    )


def build_warehouse(
    settings: Settings,
    full_refresh: bool = False,
    show_progress: bool = True,
    full_checks: bool = False,
    on_node: NodeProgress | None = None,
    say: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build the pending requests (every stored one on a full refresh), each with its own
    calculations: the enabled plugins, or those its run named with ``--calculation``.
    ``on_node(done, total, name)`` follows the build node by node.

    More pending requests than ``chunk_size()`` are built in chunks of that size, the first by
    uid first, one dbt build each on the same parsed manifest, until nothing is pending (``say``
    reports each chunk); the whole-table checks of ``full_checks`` run with the last one.
    """
    size = chunk_size()
    started = time.monotonic()
    with hold(settings.db_path) as con:
        named = stored_calculation_names(con)
        plugins = build_plugin_settings(named)
        pending = pending_requests(con, full_refresh)
        chunks = max(1, -(-pending // size))
        reports = []
        for chunk in range(chunks):
            if chunks > 1 and say is not None:
                first = chunk * size + 1
                last = min(pending, first + size - 1)
                say(
                    f"  chunk {chunk + 1} of {chunks}: requests {first:,}-{last:,} "
                    f"of {pending:,} [{time.monotonic() - started:,.0f} s]"
                )
            reports.append(
                run_dbt_build(
                    settings.db_path,
                    plugin_settings=plugins,
                    full_refresh=full_refresh and chunk == 0,
                    show_progress=show_progress,
                    full_checks=full_checks and chunk == chunks - 1,
                    on_node=on_node,
                    chunk_size=size,
                )
            )
        refresh_adapter_tables(con, plugins)
        return _combined(reports, time.monotonic() - started)


def run_requests(
    settings: Settings,
    frame: pd.DataFrame,
    options: RunOptions,
    *,
    source: str = "demo",
    bar_paths: Sequence[str | Path] = (),
    calculation: str = "all",
    full_refresh: bool = False,
    show_progress: bool = True,
    source_options: SourceOptions | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Validate, ingest and build a set of requests; return the UIDs and counts.

    The warehouse is held from the first load to the end of the build, so no other process can
    come between them; ``calculation`` narrows this run's requests only. ``progress`` (a
    dashboard) receives the stage lines and the build's nodes instead of the terminal. A
    ``source_options.now`` (a live run's present) makes these requests live: no data at or after
    it is loaded or used.
    """
    needs = combined_requirements(plugin_settings(calculation))
    requests = prepare_requests(frame, options)
    intake = duplicates_note(**requests.attrs)
    source_options = source_options or SourceOptions()
    requests = requests.assign(
        data_lookback_minutes=needs.lookback_minutes,
        calculations=calculation_selection(calculation),
        known_until=source_options.now,
    )
    source_options = replace(source_options, kinds=source_options.kinds | needs.kinds)
    say = progress.stage if progress else stage_printer(show_progress)
    on_node = progress.node if progress else None
    with hold(settings.db_path):
        say(f"Loading bars for {plural(len(requests), 'request')} from the {source} source ...")
        started = time.monotonic()
        requests, load = ingest_batch(
            settings.db_path, requests, source, bar_paths, source_options, say
        )
        ingested = time.monotonic() - started
        say(f"Building {plural(len(requests), 'request')} with dbt ...")
        build = build_warehouse(settings, full_refresh, show_progress, on_node=on_node, say=say)
    return RunReport(
        uids=requests.uid.tolist(),
        load=load,
        build=build,
        data_source=requests.data_source.iloc[0],
        duplicates_note=intake,
        ingest_seconds=ingested,
    )
