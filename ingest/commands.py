"""The ingest stage's command line: ``ingest``, ``cache`` and ``validate``, and the source flags.

``backtest/cli.py`` adds these parsers and the flags of ``run``; the handlers print and return an
exit code, and raise ``BacktestError`` for anything a user can fix.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from backtest.config import DEFAULT_FORWARD_BARS, DEFAULT_LOOKBACK_HOURS, Settings
from backtest.errors import BacktestError
from backtest.requests import RunOptions, duplicates_note, parse_entry_times
from backtest.text import plural
from backtest.warehouse import connect, require_existing
from ingest.files import (
    LABELS,
    LAYOUTS,
    TIME_UNITS,
    FileOptions,
    expand_paths,
    parse_column_mapping,
)
from ingest.planning import KINDS
from ingest.polygon import PolygonOptions, resolve_api_key
from ingest.sources import SOURCES, SourceOptions

RequestFrame = Callable[[argparse.Namespace], tuple[pd.DataFrame, bool]]


def add_source_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that say how to read bar files and how to call Polygon."""
    files = parser.add_argument_group("bar files (--source files)")
    files.add_argument(
        "--trades",
        action="append",
        default=[],
        metavar="PATH",
        help="trades file symbol,timestamp,price,size (repeatable)",
    )
    files.add_argument(
        "--quotes",
        action="append",
        default=[],
        metavar="PATH",
        help="quotes file symbol,timestamp,bid_price,bid_size,ask_price,ask_size (repeatable)",
    )
    files.add_argument(
        "--bars-layout",
        choices=LAYOUTS,
        default="auto",
        help="auto (default: by header, NinjaTrader first line or LEAN zip name), "
        "table, ninjatrader or lean",
    )
    files.add_argument(
        "--bars-tz",
        metavar="ZONE",
        help="time zone of naive stamps, e.g. America/New_York (default UTC; LEAN: "
        "New York); stamps with an offset are converted as given",
    )
    files.add_argument(
        "--bars-label",
        choices=LABELS,
        help="which edge of its minute a bar is stamped with: start (default) or "
        "end (NinjaTrader's default); end-labelled bars move back one minute",
    )
    files.add_argument(
        "--bars-columns",
        metavar="MAP",
        help="map file columns, e.g. Date=timestamp,Last=close (names are matched "
        "case-insensitively; Open/High/Low/Close/Volume, Datetime, time, "
        "window_start, ticker are recognised without it)",
    )
    files.add_argument(
        "--bars-time-unit",
        choices=TIME_UNITS,
        help="unit of numeric epoch stamps (default: guessed from their size)",
    )
    files.add_argument(
        "--bars-time-format",
        metavar="FORMAT",
        help="strftime format of text stamps, e.g. '%%m/%%d/%%Y %%H:%%M'",
    )
    files.add_argument(
        "--bars-symbol", metavar="TICKER", help="ticker of files without a symbol/ticker column"
    )
    files.add_argument(
        "--bars-symbol-pattern",
        metavar="REGEX",
        help="take the ticker from the file name, e.g. '^([A-Z]+)_' for AAPL_Minute.csv",
    )
    polygon = parser.add_argument_group("Polygon (--source polygon; key in POLYGON_API_KEY)")
    polygon.add_argument(
        "--raw",
        action="store_true",
        help="unadjusted aggregates (default: split-adjusted, Polygon's default)",
    )
    polygon.add_argument(
        "--kinds",
        default="bars",
        metavar="KINDS",
        help="data to load: bars (default), or e.g. bars,trades,quotes",
    )


def source_options(args: argparse.Namespace) -> SourceOptions:
    """The source flags as ``SourceOptions``; a missing bar file or API key fails here, first."""
    kinds = frozenset(kind.strip().lower() for kind in args.kinds.split(",") if kind.strip())
    unknown = sorted(kinds - set(KINDS))
    if unknown:
        raise BacktestError(f"--kinds {','.join(unknown)} is unknown: use bars, trades or quotes.")
    files = FileOptions(
        layout=args.bars_layout,
        tz=args.bars_tz,
        label=args.bars_label,
        columns=parse_column_mapping(args.bars_columns or ""),
        time_unit=args.bars_time_unit,
        time_format=args.bars_time_format,
        symbol=args.bars_symbol,
        symbol_pattern=args.bars_symbol_pattern,
    )
    options = SourceOptions(
        files=files,
        polygon=PolygonOptions(adjusted=not args.raw),
        kinds=kinds,
        tick_files={"trades": tuple(args.trades), "quotes": tuple(args.quotes)},
        allow_synthetic=getattr(args, "allow_synthetic", False),
    )
    source = getattr(args, "source", None)
    if source == "files":
        expand_paths(args.bars)
    elif source == "polygon":
        resolve_api_key(options.polygon)
    return options


def add_request_flags(parser: argparse.ArgumentParser) -> None:
    """The request and source flags shared by ``run`` and ``ingest``."""
    one = parser.add_argument_group("one request")
    one.add_argument("--symbol", help="ticker, e.g. AAPL")
    one.add_argument("--entry-time", help='entry minute in UTC, e.g. "2024-06-27 13:35:00"')
    one.add_argument("--direction", help="LONG or SHORT")
    parser.add_argument(
        "--requests", metavar="CSV", help="a batch: CSV with columns symbol,entry_time,direction"
    )
    parser.add_argument(
        "--source",
        default="demo",
        choices=SOURCES,
        help="where data comes from (default demo: synthetic bars, refused on a warehouse "
        "that holds real data unless --allow-synthetic)",
    )
    parser.add_argument(
        "--allow-synthetic",
        action="store_true",
        help="let the demo source add SYNTHETIC bars and results to a warehouse holding real "
        "data (each request still reads only its own source's bars)",
    )
    parser.add_argument(
        "--bars",
        action="append",
        default=[],
        metavar="PATH",
        help="bar file, directory or glob for --source files; repeatable",
    )
    parser.add_argument(
        "--lookback-hours",
        type=float,
        default=DEFAULT_LOOKBACK_HOURS,
        help="history a signal may see before the entry (default 2)",
    )
    parser.add_argument(
        "--forward-bars",
        type=int,
        default=DEFAULT_FORWARD_BARS,
        help="bars measured after the entry, 1-60 (default 60)",
    )


def add_ingest_parsers(commands, add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``ingest``, ``cache`` and ``validate`` subcommands."""
    ingest = commands.add_parser(
        "ingest",
        help="load the data requests need, without building",
        description="Store the requests and load the bars (and, with --kinds, trades and quotes) "
        "they need. Polygon data comes through the cache: only what the warehouse lacks is "
        "fetched. Run `backtest build` afterwards to compute results.",
    )
    add_request_flags(ingest)
    add_source_flags(ingest)
    add_db(ingest)
    cache = commands.add_parser(
        "cache",
        help="show what the cache holds, or clear a symbol or a range",
        description="Statistics of the warehouse as a cache (symbols, days, bars, trades, quotes, "
        "covered ranges, size on disk, API calls made and saved); --clear removes data and "
        "coverage so the next run fetches it again.",
    )
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
    validate = commands.add_parser(
        "validate",
        help="show the great-expectations result for a symbol or a batch",
        description="Render the great-expectations suite result of stored batches (the latest "
        "holding --symbol, or --batch ID; without either, list recent batches), or validate "
        "bar files now with --bars (nothing is loaded).",
    )
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


def ingest_commands(request_frame: RequestFrame) -> dict[str, Callable[[argparse.Namespace], int]]:
    """The handlers, given the CLI's function that reads the request flags."""

    def cmd_ingest(args: argparse.Namespace) -> int:
        from backtest.engine import ingest_requests
        from backtest.requests import prepare_requests

        settings = Settings.from_env(args.db)
        options = source_options(args)
        frame, _ = request_frame(args)
        requests = prepare_requests(frame, RunOptions(args.lookback_hours, args.forward_bars))
        duplicates = duplicates_note(**requests.attrs)
        if duplicates:
            print(f"Requests: {duplicates}.")
        _, report = ingest_requests(settings, requests, args.source, args.bars, options, print)
        print("\n".join(report.summary_lines()))
        if report.rejected:
            were = "was" if report.rejected == 1 else "were"
            print(
                f"{plural(report.rejected, 'invalid bar')} {were} not loaded: see raw.bar_rejects."
            )
        print(
            f"Stored {plural(len(requests), 'request')}; run `backtest build` to compute "
            f"results. Warehouse: {settings.db_path}"
        )
        return 0

    def cmd_cache(args: argparse.Namespace) -> int:
        from ingest.cache import cache_stats, clear_cache

        if args.clear is None and (args.clear_from or args.clear_to):
            raise BacktestError(
                "--from/--to choose what --clear removes: add --clear SYMBOL or --clear all."
            )
        db_path = existing_warehouse(args)
        with reading(db_path, read_only=args.clear is None) as con:
            if args.clear is not None:
                symbol = None if args.clear.lower() == "all" else args.clear.strip().upper()
                kinds = [kind.strip() for kind in args.kind.split(",") if kind.strip()]
                start = _time_flag(args.clear_from, "--from")
                end = _time_flag(args.clear_to, "--to")
                report = clear_cache(con, symbol, start, end, kinds)
                print(report.render(symbol or "all symbols"))
            print(cache_stats(con, db_path).render())
        return 0

    def cmd_validate(args: argparse.Namespace) -> int:
        from ingest.cache import render_batch_header, stored_validations
        from ingest.files import read_bar_files
        from ingest.validation import render_result, validate_bars

        if args.bars:
            outcome = validate_bars(read_bar_files(args.bars, source_options(args).files))
            print(
                json.dumps(outcome.result, indent=2) if args.json else render_result(outcome.result)
            )
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

    return {"ingest": cmd_ingest, "cache": cmd_cache, "validate": cmd_validate}
