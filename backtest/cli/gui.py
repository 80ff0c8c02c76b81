"""``gui``: the dashboard window, or one offscreen screenshot of it (``--screenshot``).

Qt and the dashboard are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from backtest.cli.common import add_command
from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.core.warehouse import require_existing
from ingest.sources import SOURCES


def add_parsers(commands) -> None:
    """Add ``gui``."""
    gui = add_command(commands, "gui", cmd_gui, db=True)
    gui.add_argument(
        "--screenshot", metavar="PNG", help="write the window as a PNG, then exit (headless)"
    )
    shown = gui.add_argument_group("what the screenshot shows (with --screenshot)")
    shown.add_argument("--uid", help="a stored backtest, e.g. AAPL.062724.1335.L")
    shown.add_argument("--symbol", help="or run this request: ticker, e.g. AAPL")
    shown.add_argument("--entry-time", help='entry minute in UTC, e.g. "2024-06-27 13:35:00"')
    shown.add_argument("--direction", help="LONG or SHORT")
    shown.add_argument("--source", default="demo", choices=SOURCES, help="(default demo)")
    shown.add_argument("--bars", action="append", default=[], metavar="PATH", help="bar files")
    shown.add_argument("--calculation", default="all", help="all (default) or NAME[,NAME]")


def _screenshot_subject(args: argparse.Namespace) -> tuple[str, str, str] | None:
    """The request to run for the screenshot, or None when ``--uid`` names a stored one."""
    given = [args.symbol, args.entry_time, args.direction]
    if args.uid and any(given):
        raise BacktestError("Give either --uid or --symbol/--entry-time/--direction, not both.")
    if args.uid:
        return None
    if not all(given):
        raise BacktestError(
            "--screenshot needs --uid UID, or --symbol, --entry-time and --direction."
        )
    return args.symbol, args.entry_time, args.direction


def _checked_png(screenshot: str) -> Path:
    path = Path(screenshot).expanduser().absolute()
    if path.suffix.lower() != ".png":
        raise BacktestError(f"--screenshot {screenshot} is not a .png file name: end it in .png.")
    if not path.parent.is_dir():
        raise BacktestError(
            f"--screenshot {screenshot}: the folder {path.parent} does not exist; create it first."
        )
    return path


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the dashboard window (PyQt6).

    Open the dashboard on the warehouse: run backtests from a form, watch their progress,
    read results, the chart, the history and the cache, push to Supabase. With --screenshot,
    render the window offscreen at 1400x900 to a PNG and exit."""
    if not args.screenshot:
        if args.uid or args.symbol:
            raise BacktestError("--uid and --symbol choose what --screenshot shows: add it.")
        from backtest.gui import run_gui

        return run_gui(Settings.from_env(args.db, args.wait).db_path)
    path = _checked_png(args.screenshot)
    request = _screenshot_subject(args)
    settings = Settings.from_env(args.db, args.wait, for_reading=request is None)
    if request is None:
        require_existing(settings.db_path)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from backtest.gui import save_screenshot

    save_screenshot(
        settings.db_path,
        path,
        uid=args.uid,
        request=request,
        source=args.source,
        calculation=args.calculation,
        bar_paths=args.bars,
    )
    print(f"Screenshot written to {path}")
    return 0


COMMANDS = {"gui": cmd_gui}
