"""One live minute: the requests of the coming minute and of the entries still unfolding, through
the one pipeline (``run_requests``: ingest up to the present, dbt build), and their results.

A live entry is an ordinary request whose entry is the present. Its calculations see only the
bars before it, which exist now; its forward window fills in as the next 60 minutes close, so it
is submitted again every minute until its last forward bar has closed, and each build replaces
its rows by UID (``no_data``, then ``partial``, then final). Nothing is duplicated, and nothing
here computes a signal: the warehouse's models do, as for any backtest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd

from backtest.build.results import fetch_results
from backtest.core.config import DEFAULT_LOOKBACK_HOURS, WINDOW_END_OFFSET, Settings
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions, prepare_requests
from backtest.core.text import plural
from backtest.core.warehouse import connect
from backtest.engine import Progress, run_requests
from ingest import SourceOptions

MINUTE = pd.Timedelta(minutes=1)
UNFOLDING = pd.Timedelta(minutes=WINDOW_END_OFFSET + 1)
"""How long after its entry a live entry is built again: until its last forward bar closed."""
DIRECTIONS = {"LONG": ("LONG",), "SHORT": ("SHORT",), "BOTH": ("LONG", "SHORT")}
QUIET = Progress(stage=lambda _line: None, node=lambda _done, _total, _name: None)


def parse_directions(text: str) -> tuple[str, ...]:
    """``--direction`` as the sides each symbol is entered on.

    >>> parse_directions("both")
    ('LONG', 'SHORT')
    """
    key = text.strip().upper()
    if key not in DIRECTIONS:
        raise BacktestError(f"--direction {text} is unknown: use LONG, SHORT or BOTH.")
    return DIRECTIONS[key]


def parse_symbols(text: str) -> tuple[str, ...]:
    """``--symbols`` as tickers, checked as requests are; duplicates once, order kept.

    >>> parse_symbols("aapl, MSFT,aapl")
    ('AAPL', 'MSFT')
    """
    names = [name.strip().upper() for name in text.split(",") if name.strip()]
    if not names:
        raise BacktestError("--symbols is empty: name at least one ticker, e.g. AAPL,MSFT.")
    frame = pd.DataFrame({"symbol": names, "entry_time": "2024-01-02 15:00", "direction": "LONG"})
    prepare_requests(frame, RunOptions())
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class LivePlan:
    """What a live run enters every minute, and from where its data comes.

    Attributes:
        symbols: the tickers entered each minute.
        directions: the sides each is entered on.
        calculation: ``all`` or the comma-separated calculations that vote.
        source: ``demo``, ``files`` or ``polygon``.
        source_options: how to read files or reach Polygon.
        bar_paths: the files source's ``--bars``.
        options: lookback and forward bars of every entry.
        delay: seconds after a minute's close before its bars are asked for (a live vendor
            publishes a bar a moment after its minute).
    """

    symbols: tuple[str, ...]
    directions: tuple[str, ...] = ("LONG",)
    calculation: str = "all"
    source: str = "demo"
    source_options: SourceOptions = field(default_factory=SourceOptions)
    bar_paths: tuple[str | Path, ...] = ()
    options: RunOptions = field(default_factory=RunOptions)
    delay: float = 0.0

    @classmethod
    def from_text(
        cls,
        symbols: str,
        direction: str = "LONG",
        *,
        calculation: str = "all",
        source: str = "demo",
        source_options: SourceOptions | None = None,
        bar_paths: Sequence[str | Path] = (),
        lookback_hours: float = DEFAULT_LOOKBACK_HOURS,
        delay: float | None = None,
        wall_clock: bool = False,
    ) -> LivePlan:
        """The plan of what a user typed (the command line, the dashboard): ``symbols`` and
        ``direction`` as ``--symbols`` and ``--direction``; ``delay`` None waits 1 s after each
        close for Polygon on the wall clock (``wall_clock``), else none.

        >>> plan = LivePlan.from_text("aapl,msft", "both", source="polygon", wall_clock=True)
        >>> plan.symbols, plan.directions, plan.delay
        (('AAPL', 'MSFT'), ('LONG', 'SHORT'), 1.0)
        """
        if delay is None:
            delay = 1.0 if source == "polygon" and wall_clock else 0.0
        return cls(
            symbols=parse_symbols(symbols),
            directions=parse_directions(direction),
            calculation=calculation,
            source=source,
            source_options=source_options or SourceOptions(),
            bar_paths=tuple(bar_paths),
            options=RunOptions(lookback_hours=lookback_hours),
            delay=delay,
        )

    def entries(self, present: pd.Timestamp) -> pd.DataFrame:
        """The requests entered at ``present``: each symbol on each side."""
        return pd.DataFrame(
            [(symbol, present, side) for symbol in self.symbols for side in self.directions],
            columns=["symbol", "entry_time", "direction"],
        )


@dataclass(frozen=True)
class Cycle:
    """What one live minute did and found.

    Attributes:
        present: the minute boundary: the minute before it closed, the entry is this one.
        results: the ``--output`` objects of every request built, new entries first.
        new: how many of them were entered this minute.
        latency: seconds from the minute's close to the results (None for a skipped cycle).
        missing: the symbols with no bar for the minute that just closed.
        skipped: the sentence saying why this minute was skipped, or empty.
        data_source: the label of the bars the results were built from.
    """

    present: pd.Timestamp
    results: tuple[dict, ...] = ()
    new: int = 0
    latency: float | None = None
    missing: tuple[str, ...] = ()
    skipped: str = ""
    data_source: str = ""
    ingest_seconds: float = 0.0
    build_seconds: float = 0.0

    @property
    def entered(self) -> tuple[dict, ...]:
        return self.results[: self.new]

    @property
    def earlier(self) -> tuple[dict, ...]:
        return self.results[self.new :]

    def status_line(self) -> str:
        """One line: when the signal came, what was built, what was missing."""
        stamp = f"{self.present:%H:%M}"
        if self.skipped:
            return f"{stamp} skipped: {self.skipped}"
        built = (
            f"{plural(len(self.results), 'request')} built ({self.new} new, "
            f"{len(self.results) - self.new} earlier)"
        )
        missing = ""
        if self.missing:
            last = self.present - MINUTE
            missing = (
                f" · no {last:%H:%M} bar for {', '.join(self.missing)} (no trade in that minute, "
                "or not published yet): called on the bars before it"
            )
        return f"{stamp} signal {self.latency:.2f} s after the close · {built}{missing}"


class Entries:
    """The live entries still unfolding: submitted again each minute until their forward
    window has closed."""

    def __init__(self, plan: LivePlan) -> None:
        self.plan = plan
        self.frame = pd.DataFrame(
            {
                "symbol": pd.Series(dtype=object),
                "entry_time": pd.Series(dtype="datetime64[ns]"),
                "direction": pd.Series(dtype=object),
            }
        )

    def pick_up(self, con: duckdb.DuckDBPyConnection, present: pd.Timestamp) -> int:
        """Adopt the stored requests of the plan's symbols and sides whose forward window is
        still open at ``present`` (a live run stopped and started again); their count."""
        stored = con.execute(
            """
            select symbol, entry_time, direction from raw.requests
            where symbol in (select unnest($symbols)) and direction in (select unnest($sides))
              and entry_time < $present and entry_time >= $present - $unfolding
            order by entry_time, symbol, direction
            """,
            {
                "symbols": list(self.plan.symbols),
                "sides": list(self.plan.directions),
                "present": present,
                "unfolding": UNFOLDING.to_pytimedelta(),
            },
        ).df()
        stored = stored.astype({"entry_time": "datetime64[ns]"})
        self.frame = pd.concat([self.frame, stored], ignore_index=True)
        return len(stored)

    def due(self, present: pd.Timestamp) -> pd.DataFrame:
        """The new entries of ``present`` first, then the earlier ones still unfolding (the
        newest first); the ones whose window closed before ``present`` are let go."""
        self.frame = self.frame[self.frame.entry_time + UNFOLDING >= present]
        earlier = self.frame[self.frame.entry_time < present].sort_values(
            ["entry_time", "symbol", "direction"], ascending=[False, True, True]
        )
        entered = self.plan.entries(present)
        self.frame = pd.concat([self.frame, entered], ignore_index=True).drop_duplicates(
            ["symbol", "entry_time", "direction"]
        )
        return pd.concat([entered, earlier], ignore_index=True)


def at_present(options: SourceOptions, present: pd.Timestamp) -> SourceOptions:
    """The source settings of one live minute: data up to ``present``; a Polygon that keeps
    what it received (asking only for the newest) and does not wait out a rate limit (the
    minute is skipped and the next one asks again)."""
    polygon = replace(options.polygon, live=True, retries=1, rate_limit_retries=0, timeout=10.0)
    return replace(options, now=present, polygon=polygon)


def missing_bars(
    con: duckdb.DuckDBPyConnection, symbols: Sequence[str], data_source: str, minute: pd.Timestamp
) -> tuple[str, ...]:
    """The ``symbols`` with no ``data_source`` bar stamped ``minute``."""
    held = con.execute(
        "select distinct symbol from raw.bars_1m where bar_time = $minute "
        "and data_source = $source and symbol in (select unnest($symbols))",
        {"minute": minute, "source": data_source, "symbols": list(symbols)},
    ).fetchall()
    return tuple(sorted(set(symbols) - {row[0] for row in held}))


def run_cycle(
    settings: Settings, plan: LivePlan, entries: Entries, present: pd.Timestamp, closed: float
) -> Cycle:
    """Build the entries due at ``present`` with data up to it; ``closed`` is the wall moment
    the minute closed (``time.time()``), for the latency."""
    due = entries.due(present)
    try:
        report = run_requests(
            settings,
            due.astype({"entry_time": "string"}),
            plan.options,
            source=plan.source,
            bar_paths=plan.bar_paths,
            calculation=plan.calculation,
            show_progress=False,
            source_options=at_present(plan.source_options, present),
            progress=QUIET,
        )
    except BacktestError as error:
        return Cycle(present, skipped=str(error))
    with connect(settings.db_path) as con:
        results = fetch_results(con, report.uids)
        missing = missing_bars(con, plan.symbols, report.data_source, present - MINUTE)
    return Cycle(
        present,
        results=tuple(results),
        new=len(plan.symbols) * len(plan.directions),
        latency=time.time() - closed,
        missing=missing,
        data_source=report.data_source,
        ingest_seconds=report.ingest_seconds,
        build_seconds=report.build.seconds,
    )
