"""``export`` and ``run --store-supabase``: replicate the bt_* tables to Supabase.

Only argparse is imported here at module level; each command imports what it needs when run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backtest.cli.common import add_command
from backtest.core.errors import BacktestError
from backtest.core.text import plural
from plugins.loader import store_hooks


def add_parsers(commands) -> None:
    """Add ``export``."""
    export = add_command(commands, "export", cmd_export, db=True)
    export.add_argument(
        "--transport",
        choices=["postgres", "rest"],
        help="postgres (COPY + upsert) or rest (supabase client); default: postgres when "
        "SUPABASE_DB_URL is set, else rest",
    )
    export.add_argument(
        "--db-url", metavar="URL", help="Postgres connection string (default $SUPABASE_DB_URL)"
    )
    export.add_argument(
        "--supabase-url", metavar="URL", help="project URL for rest (default $SUPABASE_URL)"
    )
    export.add_argument(
        "--supabase-key",
        metavar="KEY",
        help="API key for rest (default "
        "$SUPABASE_KEY; prefer the variable, flags end up in shell history)",
    )
    export.add_argument(
        "--init-schema",
        action="store_true",
        help="create missing tables first (postgres only; never drops data)",
    )
    export.add_argument(
        "--full",
        "--force",
        dest="full",
        action="store_true",
        help="send every row again, not only the changed ones",
    )
    export.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="rows per batch: one transaction or request each "
        "(default 50000 for postgres, 1000 for rest)",
    )
    export.add_argument(
        "--print-schema",
        action="store_true",
        help="print the Postgres DDL (e.g. for the Supabase SQL editor) and exit",
    )


def _progress_printer(stream=sys.stderr):
    def show(done) -> None:
        line = f"\r  {done.table}: {done.operation} {done.done:,}/{plural(done.total, 'row')}"
        stream.write(line.ljust(78))
        stream.flush()

    return show if stream.isatty() else None


def _clear_progress(stream=sys.stderr) -> None:
    if stream.isatty():
        stream.write("\r" + " " * 78 + "\r")


def cmd_export(args: argparse.Namespace) -> int:
    """Export the bt_* tables to Supabase (Postgres or REST).

    Send the rows of bt_index, bt_bars, bt_signals, bt_aggregated and every plugin's
    bt_<name> table that changed since the last export to Supabase. The target comes from
    SUPABASE_DB_URL (Postgres) or SUPABASE_URL + SUPABASE_KEY (REST), or flags."""
    from backtest.core.config import Settings
    from backtest.export import ExportTarget, export_tables, schema_script

    if args.print_schema:
        print(schema_script(), end="")
        return 0
    settings = Settings.from_env(args.db)
    target = ExportTarget.from_env(
        args.transport, args.db_url, args.supabase_url, args.supabase_key, args.batch_size
    )
    try:
        report = export_tables(
            settings.db_path,
            target,
            full=args.full,
            init_schema=args.init_schema,
            progress=_progress_printer(),
            store_hooks=store_hooks(),
        )
    finally:
        _clear_progress()
    print(report.summary())
    return 0


def store_supabase(db_path: Path) -> int:
    """Export after ``backtest run --store-supabase``: 0, or the error's exit code.

    The local results are already stored and written when this runs; a failed export only
    prints its sentence and makes the exit code non-zero.
    """
    from backtest.export import ExportTarget, export_tables

    try:
        report = export_tables(
            db_path,
            ExportTarget.from_env(),
            progress=_progress_printer(),
            store_hooks=store_hooks(),
        )
    except BacktestError as error:
        _clear_progress()
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    _clear_progress()
    print(report.summary().splitlines()[-1])
    return 0


COMMANDS = {"export": cmd_export}
