"""The live loop: a cycle each minute, on the wall clock or a replay clock, until told to stop.

Before the first minute the loop warms up (great-expectations imported, dbt's manifest parsed,
anything left pending built), so every minute pays only its own work. A cycle that fails (a
rate limit, a network failure) is reported and the loop goes on with the next minute. A cycle
that overruns its minute says so and the loop resumes at the latest minute that has closed,
skipping the ones in between, instead of drifting further behind. ``stop`` ends the loop after
the current minute. A first minute that fails stops the run with its sentence: nothing has
worked yet, so the cause (a symbol, a key, the clock) is for the user to mend.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.warehouse import connect
from backtest.engine import build_warehouse
from backtest.live.clock import MINUTE, Clock
from backtest.live.cycle import Cycle, Entries, LivePlan, run_cycle
from ingest.validation import warm_up

TARGET_SECONDS = 5.0
"""The signal is meant to be printed within this many seconds of its minute's close."""


@dataclass
class LiveSummary:
    """What a live run did: its cycles, the minutes it skipped, and how fast it was."""

    cycles: list[Cycle] = field(default_factory=list)
    overrun: list[pd.Timestamp] = field(default_factory=list)
    """Minutes skipped because the cycle before them overran."""
    picked_up: int = 0
    """Earlier live entries found in the warehouse and carried on."""

    @property
    def latencies(self) -> list[float]:
        return [cycle.latency for cycle in self.cycles if cycle.latency is not None]

    def text(self) -> str:
        """The closing lines: minutes run and skipped, and the latency figures.

        >>> summary = LiveSummary([Cycle(pd.Timestamp("2024-06-27 13:30"), latency=1.5),
        ...                        Cycle(pd.Timestamp("2024-06-27 13:31"), skipped="429")])
        >>> print(summary.text())
        2 minutes live (13:30-13:31 UTC): 1 signal printed, 1 minute skipped (failed), \
0 skipped (overrun)
        Signal after the minute's close: median 1.50 s, 95th percentile 1.50 s, max 1.50 s \
(target 5 s: 1 of 1 within)
        """
        if not self.cycles:
            return "No minute was run."
        first, last = self.cycles[0].present, self.cycles[-1].present
        failed = sum(1 for cycle in self.cycles if cycle.skipped)
        lines = [
            f"{plural(len(self.cycles) + len(self.overrun), 'minute')} live "
            f"({first:%H:%M}-{last:%H:%M} UTC): {plural(len(self.latencies), 'signal')} printed, "
            f"{plural(failed, 'minute')} skipped (failed), {len(self.overrun)} skipped (overrun)"
        ]
        if self.latencies:
            ordered = sorted(self.latencies)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            within = sum(1 for seconds in ordered if seconds <= TARGET_SECONDS)
            lines.append(
                f"Signal after the minute's close: median {statistics.median(ordered):.2f} s, "
                f"95th percentile {p95:.2f} s, max {ordered[-1]:.2f} s "
                f"(target {TARGET_SECONDS:g} s: {within} of {len(ordered)} within)"
            )
        return "\n".join(lines)


def warm(settings: Settings) -> None:
    """Pay the one-off costs before the first minute: great-expectations' import, dbt's parse,
    and a build of anything a stopped run left pending."""
    warm_up()
    build_warehouse(settings, show_progress=False)


def run_live(
    settings: Settings,
    plan: LivePlan,
    clock: Clock,
    minutes: int | None = None,
    *,
    on_cycle: Callable[[Cycle], None],
    on_note: Callable[[str], None] = lambda _line: None,
    on_minute: Callable[[pd.Timestamp], None] = lambda _present: None,
    stop: threading.Event | None = None,
) -> LiveSummary:
    """Run a cycle for each minute from ``clock.start`` (``minutes`` of them, or until ``stop``)
    and hand each to ``on_cycle``; ``on_note`` hears about overruns, ``on_minute`` of each
    present as its cycle begins. A paced replay's clock starts after the warm-up, as the wall
    clock's first minute is the first to close after it."""
    stop = stop or threading.Event()
    warm(settings)
    clock = clock.restarted()  # the first minute falls after the warm-up
    summary = LiveSummary()
    entries = Entries(plan)
    with connect(settings.db_path) as con:
        summary.picked_up = entries.pick_up(con, clock.start)
    end = clock.start + minutes * MINUTE if minutes is not None else None
    present = clock.start
    while (end is None or present < end) and clock.wait_for(present, plan.delay, stop):
        closed = clock.wall(present) or time.time()
        on_minute(present)
        cycle = run_cycle(settings, plan, entries, present, closed)
        if cycle.skipped and not summary.cycles:
            raise BacktestError(f"The first live minute failed: {cycle.skipped}")
        summary.cycles.append(cycle)
        on_cycle(cycle)
        if stop.is_set():
            break
        present = _next_present(clock, present, summary, on_note, end)
    return summary


def _next_present(
    clock: Clock,
    present: pd.Timestamp,
    summary: LiveSummary,
    on_note: Callable[[str], None],
    end: pd.Timestamp | None,
) -> pd.Timestamp:
    """The minute after ``present``, or, when its cycle overran, the latest that has closed."""
    following = clock.latest_passed(present)
    skipped = pd.date_range(present + MINUTE, following - MINUTE, freq="min")
    if end is not None:
        skipped = skipped[skipped < end]
    if len(skipped):
        summary.overrun.extend(skipped)
        took = time.time() - (clock.wall(present) or 0.0)
        on_note(
            f"The {present:%H:%M} cycle overran its minute ({took:.1f} s): "
            f"{plural(len(skipped), 'minute')} skipped ({skipped[0]:%H:%M}"
            f"{f'-{skipped[-1]:%H:%M}' if len(skipped) > 1 else ''}), "
            f"next {following:%H:%M}."
        )
    return following
