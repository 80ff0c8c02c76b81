"""One run: requests in, bars loaded, dbt built, results out. Set-based from end to end."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backtest.build import BuildReport, run_dbt_build
from backtest.config import Settings
from backtest.requests import RunOptions, prepare_requests
from backtest.warehouse import connect, upsert_requests
from ingest import LoadReport, fetch_bars, load_bars, plan_windows
from plugins.loader import plugin_settings


@dataclass(frozen=True)
class RunReport:
    """What a run did, for the summary."""

    uids: list[str]
    load: LoadReport
    build: BuildReport
    data_source: str


def _stage_printer(enabled: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return say


def ingest_requests(
    settings: Settings,
    requests: pd.DataFrame,
    source: str,
    bar_paths: Sequence[str | Path] = (),
) -> tuple[pd.DataFrame, LoadReport]:
    """Store the requests and load the bars they need, in one transaction."""
    bars, data_source = fetch_bars(source, plan_windows(requests), bar_paths)
    requests = requests.assign(data_source=data_source)
    with connect(settings.db_path) as con:
        con.begin()
        upsert_requests(con, requests)
        report = load_bars(con, bars, data_source)
        con.commit()
    return requests, report


def run_requests(
    settings: Settings,
    frame: pd.DataFrame,
    options: RunOptions,
    source: str = "demo",
    bar_paths: Sequence[str | Path] = (),
    calculation: str = "all",
    full_refresh: bool = False,
    show_progress: bool = True,
) -> RunReport:
    """Validate, ingest and build a set of requests; return the UIDs and counts."""
    plugins = plugin_settings(calculation)
    requests = prepare_requests(frame, options)
    say = _stage_printer(show_progress)
    say(f"Loading bars for {len(requests):,} requests from the {source} source ...")
    requests, load = ingest_requests(settings, requests, source, bar_paths)
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
