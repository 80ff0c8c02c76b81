"""The ``backtest`` command line: one module per group of commands, each with ``add_parsers``
and its ``COMMANDS``; this module only assembles them and turns errors into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backtest.cli import bench, export, gui, ingest, plugins, report, run, sql
from backtest.core.errors import BacktestError

GROUPS = (run, ingest, sql, report, export, plugins, bench, gui)
COMMANDS = {name: handler for group in GROUPS for name, handler in group.COMMANDS.items()}


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog="backtest",
        description="Intraday backtests of trading signals: DuckDB warehouse, dbt models, plugins.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a ``BacktestError`` is one sentence and its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BacktestError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            "interrupted: results stored before this run are intact; run it again to finish.",
            file=sys.stderr,
        )
        return 130
