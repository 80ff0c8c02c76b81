"""The live loop's own process: ``run_live`` on a plan, each minute's table sent to the window.

Like a backtest (``backtest.gui.child``), the live loop runs in a child process (multiprocessing's
"spawn" context), so pandas, great-expectations and dbt never hold the dashboard's interpreter
lock, and the child alone builds into the warehouse. It reports over a pipe, one tuple a message,
as plain picklable data (the window needs none of ``backtest.live`` to read it):

* ``("note", sentence)``: warming up, or a minute skipped because the one before overran;
* ``("minute", "HH:MM")``: the minute whose cycle begins;
* ``("cycle", LiveUpdate)``: one minute's tables and status line;
* ``("done", summary)``: the loop ended (its minutes ran, or it was stopped): the summary text;
* ``("failed", sentence)``: the loop stopped on an error; the sentence is what the window shows.

``stop`` (a multiprocessing ``Event``) is the loop's own ``stop``: set, it ends the loop after
the current minute, as the command line's first Ctrl-C does.

This module imports neither Qt nor the heavy modules at import time: a child starts fast.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtest.core.tables import Grid
from backtest.gui.child import failure_sentence

LOG = logging.getLogger(__name__)
WARMING_UP = "Warming up (great-expectations, dbt) …"


@dataclass(frozen=True)
class LiveSpec:
    """A checked live run: what ``run_live`` gets.

    Attributes:
        plan: The ``LivePlan`` (symbols, sides, calculation, source).
        start: The replay's first minute (naive UTC ``Timestamp``); None for the wall clock.
        minutes: How many minutes to run; None until stopped.
        speed: Simulated minutes per wall minute of a replay; None as fast as it goes.
    """

    plan: Any
    start: Any = None
    minutes: int | None = None
    speed: float | None = None

    @property
    def synthetic(self) -> bool:
        return self.plan.source == "demo"


@dataclass(frozen=True)
class LiveUpdate:
    """What the window shows of one live minute: the same cells the command line prints.

    Attributes:
        present: The minute the calls are for, ``YYYY-MM-DD HH:MM`` UTC.
        caption: The line above the calls (the minute in UTC and New York).
        calls: The calls for the coming minute (``calls_grid``).
        outcomes: The entries 5, 15, 30 and 60 minutes old (``outcome_grid``).
        status: The minute's status line: latency, requests built, missing bars.
        skipped: Whether the minute failed (its status line says why).
    """

    present: str
    caption: str
    calls: Grid
    outcomes: Grid
    status: str
    skipped: bool


def live_update(cycle: Any) -> LiveUpdate:
    """One ``Cycle`` as plain data for the window."""
    from backtest.live.table import calls_caption, calls_grid, outcome_grid

    return LiveUpdate(
        present=f"{cycle.present:%Y-%m-%d %H:%M}",
        caption=calls_caption(cycle),
        calls=calls_grid(cycle),
        outcomes=outcome_grid(cycle),
        status=cycle.status_line(),
        skipped=bool(cycle.skipped),
    )


def clock_of(spec: LiveSpec) -> Any:
    """The spec's clock, made in the child: a paced replay counts from when it starts here."""
    from backtest.live import Clock

    return Clock.live() if spec.start is None else Clock.replay(spec.start, spec.speed)


def run_live_child(pipe: Any, db_path: str, spec: LiveSpec, stop: Any) -> None:
    """The child's entry point: run the loop, sending each minute, then ``done`` or ``failed``."""
    logging.basicConfig(level=logging.WARNING)
    try:
        message = ("done", _run(pipe, Path(db_path), spec, stop))
    except KeyboardInterrupt:
        message = ("failed", "The live run was interrupted; the stored results are unchanged.")
    except Exception as error:
        LOG.exception("The live run failed")
        message = ("failed", failure_sentence("The live run", error))
    with contextlib.suppress(OSError):  # the window stopped listening (it was closed)
        pipe.send(message)
    pipe.close()


def _run(pipe: Any, db_path: Path, spec: LiveSpec, stop: Any) -> str:
    from backtest.core.config import Settings
    from backtest.live import run_live

    pipe.send(("note", WARMING_UP))
    summary = run_live(
        Settings(db_path),
        spec.plan,
        clock_of(spec),
        spec.minutes,
        on_cycle=lambda cycle: pipe.send(("cycle", live_update(cycle))),
        on_note=lambda sentence: pipe.send(("note", sentence)),
        on_minute=lambda present: pipe.send(("minute", f"{present:%H:%M}")),
        stop=stop,
    )
    return summary.text()
