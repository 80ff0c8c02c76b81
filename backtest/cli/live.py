"""``live``: calls for the coming minute, every minute, on the wall clock or a replayed session."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd

from backtest.cli.common import (
    SYNTHETIC_BANNER,
    add_command,
    add_data_flags,
    add_source_flags,
    source_options,
)
from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.live import (
    Clock,
    Cycle,
    LivePlan,
    parse_clock,
    render,
    run_live,
)

CLEAR_SCREEN = "\x1b[2J\x1b[H"


def add_parsers(commands) -> None:
    """Add ``live``."""
    live = add_command(commands, "live", cmd_live, db=True)
    live.add_argument(
        "--symbols", required=True, help="tickers entered each minute, e.g. AAPL,MSFT"
    )
    live.add_argument(
        "--direction", default="LONG", help="LONG (default), SHORT or BOTH: the side(s) entered"
    )
    live.add_argument(
        "--calculation", default="all", help="all (default) or NAME[,NAME]: the calculations"
    )
    add_data_flags(
        live, "demo (default, SYNTHETIC, no key), polygon (POLYGON_API_KEY) or files (--bars)"
    )
    replay = live.add_argument_group("replay clock")
    replay.add_argument(
        "--clock",
        metavar='"YYYY-MM-DD HH:MM"',
        help="replay a past session from this minute (UTC) as if it were live",
    )
    replay.add_argument(
        "--minutes", type=int, metavar="N", help="stop after N minutes (default: until Ctrl-C)"
    )
    replay.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="pace the replay: 1 = real time, 10 = ten minutes a minute "
        "(default: each minute as soon as the last is done)",
    )
    live.add_argument(
        "--delay",
        type=float,
        metavar="SECONDS",
        help="wait after each minute's close before asking for its bar "
        "(default 1 for polygon on the wall clock, else 0)",
    )
    add_source_flags(live)


@contextmanager
def _ctrl_c_stops(stop: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """The first Ctrl-C stops the loop after the current minute; a second one at once.

    The second raises ``KeyboardInterrupt`` wherever the program is; where that is lost (Python
    drops one raised inside a finalizer), it is raised again when the loop ends, so the run
    still ends as interrupted (exit 130, no summary)."""
    again = threading.Event()

    def handler(signum, frame) -> None:
        if stop.is_set():
            again.set()
            raise KeyboardInterrupt
        stop.set()
        say("Stopping after this minute (Ctrl-C again to stop at once) ...")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if again.is_set():
        raise KeyboardInterrupt


def _clock(args: argparse.Namespace) -> Clock:
    if args.minutes is not None and args.minutes < 1:
        raise BacktestError(f"--minutes {args.minutes} must be at least 1.")
    if args.clock is None:
        if args.speed is not None:
            raise BacktestError("--speed paces a replay: give --clock too, or leave it out.")
        return Clock.live()
    return Clock.replay(parse_clock(args.clock), args.speed)


def _plan(args: argparse.Namespace, clock: Clock) -> LivePlan:
    return LivePlan.from_text(
        args.symbols,
        args.direction,
        calculation=args.calculation,
        source=args.source,
        source_options=source_options(args),
        bar_paths=args.bars,
        lookback_hours=args.lookback_hours,
        delay=args.delay,
        wall_clock=clock.real,
    )


def _heading(plan: LivePlan, clock: Clock, minutes: int | None) -> Callable[[Cycle], str]:
    """The line above each minute's table; minutes count from the first one run (the wall
    clock's first minute is the one after the warm-up)."""
    what = (
        "wall clock"
        if clock.real
        else f"replay of {clock.start:%Y-%m-%d} from {clock.start:%H:%M} UTC"
    )
    source = f"{plan.source} source" + (" (SYNTHETIC bars)" if plan.source == "demo" else "")
    first: list[pd.Timestamp] = []

    def heading(cycle: Cycle) -> str:
        first[:] = first or [cycle.present]
        number = int((cycle.present - first[0]) / pd.Timedelta(minutes=1)) + 1
        of = f" of {minutes}" if minutes else ""
        return f"backtest live · {what} · {source} · minute {number}{of} · Ctrl-C stops"

    return heading


def cmd_live(args: argparse.Namespace) -> int:
    """Live signals: every minute, a call per symbol for the coming minute.

    Shortly after each minute closes: load the newest bars (only what the warehouse lacks),
    enter each symbol for the coming minute, build it with dbt like any backtest, and print
    each calculation's call, the consensus, and how the entries of 5, 15, 30 and 60 minutes ago
    turned out so far (they are built again as their forward bars arrive). --clock replays a
    past session as if it were live: as fast as it goes, or paced with --speed. The first
    Ctrl-C stops after the current minute."""
    clock = _clock(args)
    plan = _plan(args, clock)
    settings = Settings.from_env(args.db, args.wait)
    interactive = sys.stdout.isatty()
    heading = _heading(plan, clock, args.minutes)
    if plan.source == "demo":
        print(SYNTHETIC_BANNER)
    print(f"Warming up (great-expectations, dbt) for {settings.db_path} ...", flush=True)

    def show(cycle: Cycle) -> None:
        table = render(cycle, heading(cycle))
        print((CLEAR_SCREEN if interactive else "\n") + table, flush=True)

    stop = threading.Event()
    with _ctrl_c_stops(stop, lambda line: print(line, file=sys.stderr, flush=True)):
        summary = run_live(
            settings,
            plan,
            clock,
            args.minutes,
            on_cycle=show,
            on_note=lambda line: print(line, file=sys.stderr, flush=True),
            stop=stop,
        )
    print()
    print(summary.text())
    print(f"Warehouse: {settings.db_path}")
    return 0


COMMANDS = {"live": cmd_live}
