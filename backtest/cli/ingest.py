"""``ingest``, ``cache`` and ``validate``: load data without building, and look at the cache."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from backtest.cli.common import (
    add_command,
    add_db,
    add_request_flags,
    add_source_flags,
    request_frame,
    source_options,
)
from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions, duplicates_note, parse_entry_times
from backtest.core.text import plural
from backtest.core.warehouse import connect, hold, require_existing
from ingest import ingest_batch
from ingest.planning import KINDS, parse_kinds


def add_parsers(commands) -> None:
    """Add the ``ingest``, ``cache`` and ``validate`` subcommands."""
    ingest = add_command(commands, "ingest", cmd_ingest)
    add_request_flags(ingest)
    add_source_flags(ingest)
    add_db(ingest)
    cache = add_command(commands, "cache", cmd_cache)
    cache.add_argument(
        "--clear",
        metavar="SYMBOL|all",
        help="clear one symbol's cached data, or all symbols' (with --from/--to)",
    )
    cache.add_argument(
        "--from",
        dest="clear_from",
        metavar="TIME",
        help="start of the range to clear, UTC (default: the beginning)",
    )
    cache.add_argument(
        "--to",
        dest="clear_to",
        metavar="TIME",
        help="end of the range to clear, exclusive, UTC (default: the end)",
    )
    cache.add_argument(
        "--kind",
        default=",".join(KINDS),
        metavar="KINDS",
        help="which data to clear (default bars,trades,quotes)",
    )
    add_db(cache)
    validate = add_command(commands, "validate", cmd_validate)
    validate.add_argument("--symbol", help="the latest batches holding this ticker")
    validate.add_argument("--batch", type=int, metavar="ID", help="one stored batch by id")
    validate.add_argument(
        "--last",
        type=int,
        default=1,
        metavar="N",
        help="how many batches to show (default 1; 20 when listing)",
    )
    validate.add_argument(
        "--bars",
        action="append",
        default=[],
        metavar="PATH",
        help="validate these bar files now (file, directory or glob)",
    )
    validate.add_argument(
        "--json", action="store_true", help="print the great-expectations result as JSON"
    )
    add_source_flags(validate)
    add_db(validate)


def _time_flag(text: str | None, flag: str) -> pd.Timestamp | None:
    if text is None:
        return None
    parsed = parse_entry_times(pd.Series([text])).iloc[0]
    if pd.isna(parsed):
        raise BacktestError(
            f"{flag} '{text}' is not a date and time: write ISO-8601 (UTC), "
            "e.g. 2024-06-27 or 2024-06-27 13:35:00."
        )
    return parsed


def existing_warehouse(args: argparse.Namespace) -> Path:
    """The warehouse a reading command (or ``cache --clear``) names with ``--db``, refused in
    one sentence when it does not exist; nothing is created."""
    return require_existing(Settings.from_env(args.db, args.wait, for_reading=True).db_path)


@contextmanager
def reading(path: Path, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect`` for the cache and validate commands: a file that is not a backtest
    warehouse (a table it lacks) is one sentence, not a traceback."""
    with connect(path, read_only=read_only) as con:
        try:
            yield con
        except duckdb.CatalogException as error:
            raise BacktestError(
                f"Warehouse {path} lacks a table backtest reads ({str(error).splitlines()[0]}): "
                "check --db, or load data with `backtest ingest` to create it."
            ) from None


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load the data requests need, without building.

    Store the requests and load the bars (and, with --kinds, trades and quotes) they need.
    Polygon data comes through the cache: only what the warehouse lacks is fetched. Run
    `backtest build` afterwards to compute results."""
    from backtest.core.requests import prepare_requests

    settings = Settings.from_env(args.db)
    options = source_options(args)
    frame, _ = request_frame(args)
    requests = prepare_requests(frame, RunOptions(args.lookback_hours, args.forward_bars))
    duplicates = duplicates_note(**requests.attrs)
    if duplicates:
        print(f"Requests: {duplicates}.")
    with hold(settings.db_path):
        _, report = ingest_batch(settings.db_path, requests, args.source, args.bars, options, print)
    print("\n".join(report.summary_lines()))
    if report.rejected:
        were = "was" if report.rejected == 1 else "were"
        print(f"{plural(report.rejected, 'invalid bar')} {were} not loaded: see raw.bar_rejects.")
    print(
        f"Stored {plural(len(requests), 'request')}; run `backtest build` to compute "
        f"results. Warehouse: {settings.db_path}"
    )
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """Show what the cache holds, or clear a symbol or a range.

    Statistics of the warehouse as a cache (symbols, days, bars, trades, quotes, covered
    ranges, size on disk, API calls made and saved); --clear removes data and coverage so the
    next run fetches it again."""
    from ingest.cache import cache_stats, clear_cache

    if args.clear is None and (args.clear_from or args.clear_to):
        raise BacktestError(
            "--from/--to choose what --clear removes: add --clear SYMBOL or --clear all."
        )
    db_path = existing_warehouse(args)
    with reading(db_path, read_only=args.clear is None) as con:
        if args.clear is not None:
            symbol = None if args.clear.lower() == "all" else args.clear.strip().upper()
            start = _time_flag(args.clear_from, "--from")
            end = _time_flag(args.clear_to, "--to")
            report = clear_cache(con, symbol, start, end, parse_kinds(args.kind, flag="--kind"))
            print(report.render(symbol or "all symbols"))
        print(cache_stats(con, db_path).render())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Show the great-expectations result for a symbol or a batch.

    Render the great-expectations suite result of stored batches (the latest holding
    --symbol, or --batch ID; without either, list recent batches), or validate bar files now
    with --bars (nothing is loaded)."""
    from ingest.cache import render_batch_header, stored_validations
    from ingest.files import read_bar_files
    from ingest.validation import render_result, validate_bars

    if args.bars:
        outcome = validate_bars(read_bar_files(args.bars, source_options(args).files))
        print(json.dumps(outcome.result, indent=2) if args.json else render_result(outcome.result))
        return 0 if outcome.success else 1
    with reading(existing_warehouse(args)) as con:
        listing = args.symbol is None and args.batch is None
        batches = stored_validations(
            con, args.symbol, args.batch, 20 if listing and args.last == 1 else args.last
        )
    if not batches:
        what = (
            f"batch {args.batch}"
            if args.batch is not None
            else f"symbol {args.symbol}"
            if args.symbol
            else "any batch"
        )
        raise BacktestError(
            f"No validation result is stored for {what}: load data with "
            "`backtest ingest` or `backtest run` first."
        )
    failed = not all(batch["is_success"] for batch in batches)
    if listing:
        print("\n".join(render_batch_header(batch) for batch in batches))
        return 1 if failed else 0
    if args.json:
        print(json.dumps([batch["result"] for batch in batches], indent=2, default=str))
    else:
        print(
            "\n\n".join(
                f"{render_batch_header(batch)}\n{render_result(batch['result'])}"
                for batch in batches
            )
        )
    return 1 if failed else 0


COMMANDS = {"ingest": cmd_ingest, "cache": cmd_cache, "validate": cmd_validate}
