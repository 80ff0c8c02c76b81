"""The ``backtest`` command line: one module per group of commands, each with ``add_parsers``
and its ``COMMANDS``; this module only assembles them and turns errors into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import duckdb

from backtest.cli import bench, export, gui, ingest, live, plugins, report, run, sql
from backtest.core.errors import BacktestError

GROUPS = (run, ingest, sql, report, live, export, plugins, bench, gui)
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


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is Ctrl-C: a ``KeyboardInterrupt``, or what DuckDB raises instead when
    it comes during one of its queries (the query is stopped, the interrupt becomes an error).

    >>> is_interrupt(RuntimeError("Query interrupted")), is_interrupt(RuntimeError("other"))
    (True, False)
    """
    if isinstance(error, KeyboardInterrupt | duckdb.InterruptException):
        return True
    return type(error) is RuntimeError and str(error) == "Query interrupted"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a ``BacktestError`` is one sentence and its exit code, Ctrl-C is 130."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BacktestError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (KeyboardInterrupt, RuntimeError, duckdb.InterruptException) as error:
        if not is_interrupt(error):
            raise
        print(
            "interrupted: results stored before this run are intact; run it again to finish.",
            file=sys.stderr,
        )
        return 130
