"""The live loop's sense of time: the wall clock, or a replay of a past session.

Every time here is a minute boundary in naive UTC, the *present* of one cycle: the minute
before it has just closed, its bars may exist, and the coming minute (the present itself) is
the live entry. A clock maps each present to the wall moment it happens at, so the loop can
wait for it and measure how long after it the signal was printed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import pandas as pd

from backtest.core.errors import BacktestError

MINUTE = pd.Timedelta(minutes=1)
EPOCH = pd.Timestamp("1970-01-01")


def parse_clock(text: str) -> pd.Timestamp:
    """``--clock`` as the first present: a whole minute in UTC.

    >>> parse_clock("2024-06-27 13:30")
    Timestamp('2024-06-27 13:30:00')
    >>> parse_clock("2024-06-27 13:30:20")
    Traceback (most recent call last):
    ...
    backtest.core.errors.BacktestError: --clock 2024-06-27 13:30:20 is not on a whole minute: \
write it as "YYYY-MM-DD HH:MM" (UTC).
    """
    try:
        moment = pd.Timestamp(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment is pd.NaT:
        raise BacktestError(
            f'--clock {text} is not a date and time: write it as "YYYY-MM-DD HH:MM" (UTC).'
        )
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    if moment != moment.floor("min"):
        raise BacktestError(
            f'--clock {text} is not on a whole minute: write it as "YYYY-MM-DD HH:MM" (UTC).'
        )
    return moment


@dataclass
class Clock:
    """Where each present falls on the wall clock.

    Attributes:
        start: the first present.
        speed: simulated minutes per wall minute; None runs each cycle as soon as the one before
            it is done (a replay as fast as it goes).
        real: the wall clock itself (live): the present is the current minute.
    """

    start: pd.Timestamp
    speed: float | None = None
    real: bool = False
    origin: float = field(default_factory=time.time)
    """The wall moment (``time.time()``) the replay's first present falls on."""

    @classmethod
    def live(cls) -> Clock:
        """The wall clock: the first present is the next minute boundary."""
        now = pd.Timestamp(time.time(), unit="s")
        return cls(start=now.ceil("min"), speed=1.0, real=True)

    @classmethod
    def replay(cls, start: pd.Timestamp, speed: float | None = None) -> Clock:
        """A past session from ``start``; ``speed`` 1 paces it in real time, 2 twice as fast."""
        if speed is not None and speed <= 0:
            raise BacktestError(f"--speed {speed:g} must be above 0: 1 is real time.")
        return cls(start=start, speed=speed)

    def restarted(self) -> Clock:
        """The same clock started now (after a warm-up): the wall clock's next minute, or the
        replay's first present falling now."""
        if self.real:
            return Clock.live()
        return replace(self, origin=time.time())

    @property
    def is_paced(self) -> bool:
        return self.speed is not None

    def wall(self, present: pd.Timestamp) -> float | None:
        """The wall moment ``present`` happens at; None for an unpaced replay."""
        if self.real:
            return (present - EPOCH) / pd.Timedelta(seconds=1)
        if self.speed is None:
            return None
        return self.origin + (present - self.start) / pd.Timedelta(seconds=1) / self.speed

    def latest_passed(self, after: pd.Timestamp) -> pd.Timestamp:
        """The latest present after ``after`` whose wall moment has passed (``after`` + 1 minute
        at least): where a loop that overran resumes."""
        present = after + MINUTE
        while (wall := self.wall(present + MINUTE)) is not None and wall <= time.time():
            present += MINUTE
        return present

    def wait_for(self, present: pd.Timestamp, delay: float, stop: threading.Event) -> bool:
        """Wait until ``delay`` seconds after ``present``'s wall moment; False if stopped first."""
        wall = self.wall(present)
        if wall is None:
            return not stop.is_set()
        return not stop.wait(max(0.0, wall + delay - time.time()))
