"""One run: requests in, bars loaded, dbt built, results out. Set-based from end to end."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from backtest.build import BuildReport, run_dbt_build
from backtest.config import Settings
from backtest.requests import RunOptions, prepare_requests
from ingest import IngestReport, LoadReport, SourceOptions, ingest_batch
from plugins.loader import combined_requirements, plugin_settings


@dataclass(frozen=True)
class RunReport:
    """What a run did, for the summary."""

    uids: list[str]
    load: LoadReport
    build: BuildReport
    data_source: str


def _stage_printer(enabled: bool) -> Callable[[str], None]:
    """Progress lines on a terminal; nothing when stderr is a file or pipe (logs stay clean)."""
    enabled = enabled and sys.stderr.isatty()

    def say(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return say


def ingest_requests(
    settings: Settings,
    requests: pd.DataFrame,
    source: str,
    bar_paths: Sequence[str | Path] = (),
    source_options: SourceOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, IngestReport]:
    """Store the requests and load the data they need (see ``ingest.ingest_batch``)."""
    return ingest_batch(settings.db_path, requests, source, bar_paths, source_options, notify)


def run_requests(
    settings: Settings,
    frame: pd.DataFrame,
    options: RunOptions,
    source: str = "demo",
    bar_paths: Sequence[str | Path] = (),
    calculation: str = "all",
    full_refresh: bool = False,
    show_progress: bool = True,
    source_options: SourceOptions | None = None,
) -> RunReport:
    """Validate, ingest and build a set of requests; return the UIDs and counts."""
    plugins = plugin_settings(calculation)
    needs = combined_requirements(plugins)
    requests = prepare_requests(frame, options).assign(data_lookback_minutes=needs.lookback_minutes)
    source_options = source_options or SourceOptions()
    source_options = replace(source_options, kinds=source_options.kinds | needs.kinds)
    say = _stage_printer(show_progress)
    say(f"Loading bars for {len(requests):,} requests from the {source} source ...")
    requests, load = ingest_requests(settings, requests, source, bar_paths, source_options, say)
    say(f"Building {len(requests):,} requests with dbt ...")
    build = run_dbt_build(
        settings.db_path,
        plugin_settings=None if calculation == "all" else plugins,
        full_refresh=full_refresh,
        show_progress=show_progress,
    )
    return RunReport(
        uids=requests.uid.tolist(),
        load=load,
        build=build,
        data_source=requests.data_source.iloc[0],
    )
