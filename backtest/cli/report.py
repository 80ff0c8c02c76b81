"""``backtest report``: one self-contained HTML tear sheet of stored backtests.

The warehouse is opened read-only; plotly and the report are imported only when the command
runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backtest.build.results import check_output_path
from backtest.cli.common import add_command
from backtest.core.config import Settings
from backtest.core.text import plural, stage_printer
from backtest.core.warehouse import require_existing

DEFAULT_OUTPUT = "report.html"


def add_parsers(commands) -> None:
    """Add ``report``."""
    report = add_command(commands, "report", cmd_report, db=True)
    report.add_argument(
        "--output",
        metavar="HTML",
        default=DEFAULT_OUTPUT,
        help=f"the file to write, relative to the current folder (default {DEFAULT_OUTPUT})",
    )
    report.add_argument(
        "--where",
        metavar="SQL",
        help="a SQL condition on the columns of bt_index and bt_aggregated choosing the "
        "requests, e.g. \"symbol = 'AAPL' and entry_time >= '2024-06-01'\" (default: all)",
    )
    report.add_argument("--title", help="the page's title (default: Backtest report)")


def size_text(size_bytes: int) -> str:
    """
    >>> size_text(4_912_345), size_text(812)
    ('4.9 MB', '0.8 kB')
    """
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1_000_000:.1f} MB"
    return f"{size_bytes / 1_000:.1f} kB"


def write_html_report(
    db_path: Path, output: Path, where: str | None = None, title: str | None = None
) -> str:
    """Write the report and return the line that says where it is."""
    from backtest.report import write_report

    notify = stage_printer(indent="  ")
    written = write_report(require_existing(db_path), output, where, title, notify=notify)
    return (
        f"Report written to {written.path} ({size_text(written.size_bytes)}, "
        f"{plural(written.charts, 'chart')}, {plural(written.selection.requests, 'request')}, "
        f"{written.seconds:.1f}s)"
    )


def cmd_report(args: argparse.Namespace) -> int:
    """Write one offline HTML report (charts) of the stored backtests.

    Write one self-contained HTML file (plotly inlined: it opens without any network) with
    the average path after the entries and its confidence band, hit rates against their
    baseline, rank IC, return distributions, excursions, P&L by time of day, cumulative P&L
    with drawdown, agreement between calculations, data quality and the best and worst entries.
    Example: backtest report --where "symbol = 'AAPL' and direction = 'LONG'"
    """
    output = check_output_path(args.output, example="report.html")
    settings = Settings.from_env(args.db, args.wait, for_reading=True)
    print(write_html_report(settings.db_path, output, args.where, args.title))
    return 0


COMMANDS = {"report": cmd_report}
