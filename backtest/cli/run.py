"""``run``, ``demo`` and ``build``: backtest requests, the example set, or what is pending."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from backtest.cli.common import (
    SYNTHETIC_BANNER,
    add_command,
    add_db,
    add_request_flags,
    add_source_flags,
    build_line,
    request_frame,
    source_options,
)
from backtest.cli.export import store_supabase
from backtest.cli.report import write_html_report
from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.core.text import plural
from backtest.core.warehouse import connect


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    add_request_flags(parser)
    parser.add_argument(
        "--calculation",
        default="all",
        help="all (default) or NAME[,NAME]: the calculations that vote",
    )
    add_db(parser)
    parser.add_argument(
        "--store-supabase",
        action="store_true",
        help="also export the results to Supabase after the build",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="write results to FILE.json (one object for one request, an array for a batch) "
        "or FILE.parquet (one row per request)",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every stored request, not only the ones of this run",
    )
    add_source_flags(parser)


def add_parsers(commands) -> None:
    """Add ``run``, ``demo`` and ``build``."""
    run = add_command(commands, "run", cmd_run)
    _add_run_flags(run)
    demo = commands.add_parser(
        "demo",
        help="run a set of example requests on synthetic demo bars",
        description=f"Backtest twelve example requests. {SYNTHETIC_BANNER}",
    )
    add_db(demo)
    build = add_command(commands, "build", cmd_build, db=True)
    build.add_argument("--full-refresh", action="store_true", help="recompute every request")


def _report(settings: Settings, uids: list[str], output: Path | None, single: bool) -> int:
    from backtest.build.results import summarize, write_output

    with connect(settings.db_path) as con:
        summary = summarize(con, uids)
        print(summary.text)
        if output:
            write_output(con, uids, output, single, show_progress=True)
            print(f"Results written to {output}")
    print(f"Warehouse: {settings.db_path}")
    if summary.found_nothing:
        what = uids[0] if single else "any request"
        print(
            f"error: no bars were found for {what} in the chosen source: check the symbol, "
            "the entry time (UTC) and --source.",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Backtest one request or a CSV of requests.

    Load the bars each request needs, run dbt build, print a summary."""
    from backtest.build.results import check_results_path
    from backtest.engine import run_requests

    output = check_results_path(args.output) if args.output else None
    settings = Settings.from_env(args.db, args.wait)
    frame, single = request_frame(args)
    options = RunOptions(args.lookback_hours, args.forward_bars)
    sources = source_options(args)
    report = run_requests(
        settings,
        frame,
        options,
        source=args.source,
        bar_paths=args.bars,
        calculation=args.calculation,
        full_refresh=args.full_refresh,
        source_options=sources,
    )
    load = report.load
    if report.duplicates_note:
        print(f"Requests: {report.duplicates_note}.")
    print("\n".join(load.summary_lines()))
    print(f"{build_line(report.build)} in {report.build.seconds:.1f}s")
    if load.rejected:
        were = "was" if load.rejected == 1 else "were"
        print(
            f"{plural(load.rejected, 'invalid bar')} {were} not loaded: see raw.bar_rejects "
            "for the reasons."
        )
    code = _report(settings, report.uids, output, single)
    if args.store_supabase:
        return store_supabase(settings.db_path) or code
    return code


DEMO_REQUESTS = [
    ("AAPL", "2024-06-27 13:30:00", "LONG"),
    ("AAPL", "2024-06-27 13:35:00", "LONG"),
    ("AAPL", "2024-06-27 17:00:00", "SHORT"),
    ("MSFT", "2024-06-27 14:15:00", "LONG"),
    ("MSFT", "2024-06-27 19:05:00", "SHORT"),
    ("NVDA", "2024-06-27 13:45:00", "SHORT"),
    ("NVDA", "2024-06-27 16:30:00", "LONG"),
    ("SPY", "2024-06-27 13:35:00", "LONG"),
    ("SPY", "2024-06-27 18:00:00", "SHORT"),
    ("TSLA", "2024-06-28 14:00:00", "LONG"),
    ("TSLA", "2024-06-28 19:30:00", "SHORT"),
    ("QQQ", "2024-06-28 15:10:00", "LONG"),
]


def cmd_demo(args: argparse.Namespace) -> int:
    from backtest.engine import run_requests

    settings = Settings.from_env(args.db, args.wait)
    print(SYNTHETIC_BANNER)
    frame = pd.DataFrame(DEMO_REQUESTS, columns=["symbol", "entry_time", "direction"])
    report = run_requests(settings, frame, RunOptions(), source="demo")
    backtested = plural(len(report.uids), "demo request")
    print(f"Backtested {backtested} ({build_line(report.build)}).\n")
    code = _report(settings, report.uids, None, single=False)
    print(write_html_report(settings.db_path, demo_report_path(settings.db_path)))
    return code


def demo_report_path(db_path: Path) -> Path:
    """The demo's HTML report, next to its warehouse.

    >>> demo_report_path(Path("/repo/warehouse/backtest.duckdb"))
    PosixPath('/repo/warehouse/backtest-report.html')
    """
    return db_path.with_name(f"{db_path.stem}-report.html")


def cmd_build(args: argparse.Namespace) -> int:
    """Run dbt build on the warehouse (pending requests only).

    Run dbt build in-process; --full-refresh recomputes every request."""
    from backtest.engine import build_warehouse

    settings = Settings.from_env(args.db, args.wait)
    report = build_warehouse(settings, full_refresh=args.full_refresh, full_checks=True)
    print(f"{build_line(report)} in {report.seconds:.1f}s ({settings.db_path})")
    return 0


COMMANDS = {"run": cmd_run, "demo": cmd_demo, "build": cmd_build}
