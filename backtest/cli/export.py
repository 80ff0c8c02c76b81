"""``export`` and ``run --store-supabase``: replicate the bt_* tables to Supabase.

Only argparse is imported here at module level; each command imports what it needs when run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backtest.cli.common import add_command
from backtest.core.errors import BacktestError
from backtest.core.progress import ProgressBar
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


class _ExportProgress:
    """A progress bar per table and operation on a terminal: rows sent of the total and the
    time since that table's delivery began; nothing when stderr is a file or a pipe."""

    def __init__(self) -> None:
        self.bar: ProgressBar | None = None

    def __call__(self, done) -> None:
        label = f"{done.table} {done.operation}"
        if self.bar is None or self.bar.label != label:
            self.close()
            self.bar = ProgressBar(label, total=done.total, unit="row")
        self.bar.update(done.done, done.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


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
    progress = _ExportProgress()
    try:
        report = export_tables(
            settings.db_path,
            target,
            full=args.full,
            init_schema=args.init_schema,
            progress=progress,
            store_hooks=store_hooks(),
        )
    finally:
        progress.close()
    print(report.summary())
    return 0


def store_supabase(db_path: Path) -> int:
    """Export after ``backtest run --store-supabase``: 0, or the error's exit code.

    The local results are already stored and written when this runs; a failed export only
    prints its sentence and makes the exit code non-zero.
    """
    from backtest.export import ExportTarget, export_tables

    progress = _ExportProgress()
    try:
        report = export_tables(
            db_path, ExportTarget.from_env(), progress=progress, store_hooks=store_hooks()
        )
    except BacktestError as error:
        progress.close()
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    progress.close()
    print(report.summary().splitlines()[-1])
    return 0


COMMANDS = {"export": cmd_export}
