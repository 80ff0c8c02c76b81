"""Helpers of the live suite: a replayed live run that records what each minute saw, and the
comparison of live calls with a backtest's."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from backtest.build.results import CONSENSUS_KEYS, fetch_results
from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.core.warehouse import connect
from backtest.engine import run_requests
from backtest.live import Clock, Cycle, LivePlan, LiveSummary, run_live
from ingest import SourceOptions
from ingest.polygon import PolygonOptions
from tests.fixtures import API_KEY
from tests.ingest.polygon_server import Logged, PolygonStandIn

SIGNAL_FIELDS = ("direction", "strength", "confidence", "status")
BARS_SQL = """
select bars.uid, bars.bar_offset, bars.bar_time, bars.open, bars.high, bars.low, bars.close,
       bars.volume, bars.is_filled, requests.known_until
from bt_bars as bars
inner join raw.requests as requests using (uid)
where bars.uid in (select unnest($uids))
order by bars.uid, bars.bar_offset
"""


@dataclass
class Seen:
    """The warehouse right after one live minute."""

    raw_bars_from_present: int
    """Rows of raw.bars_1m stamped at or after the present."""
    raw_bars_last_minute: int
    """Rows of raw.bars_1m stamped the minute before the present (the bar that just closed)."""
    bars: pd.DataFrame
    """bt_bars of the uids this minute built, with their request's ``known_until``."""


@dataclass
class Replay:
    """A live run and what it left behind each minute."""

    summary: LiveSummary
    seen: dict[pd.Timestamp, Seen] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    began: dict[pd.Timestamp, float] = field(default_factory=dict)
    """Wall moment (``time.time()``) each minute's cycle began at."""
    ended: dict[pd.Timestamp, float] = field(default_factory=dict)

    @property
    def cycles(self) -> list[Cycle]:
        return self.summary.cycles

    def entered(self) -> list[dict]:
        """The calls of every minute, as printed when they were made."""
        return [result for cycle in self.cycles for result in cycle.entered]


def polygon_options(stand_in: PolygonStandIn) -> SourceOptions:
    """Source settings reaching the local Polygon (no environment needed)."""
    return SourceOptions(polygon=PolygonOptions(api_key=API_KEY, base_url=stand_in.url))


def polygon_plan(stand_in: PolygonStandIn, symbols: tuple[str, ...], **plan) -> LivePlan:
    """A live plan on the local Polygon."""
    return LivePlan(
        symbols=symbols, source="polygon", source_options=polygon_options(stand_in), **plan
    )


def replay(
    settings: Settings,
    plan: LivePlan,
    clock: Clock,
    minutes: int,
    stand_in: PolygonStandIn | None = None,
    on_minute=lambda _present: None,
    stop: threading.Event | None = None,
) -> Replay:
    """Run ``backtest live`` for ``minutes`` on ``clock``; the stand-in (if any) serves only what
    existed at each present, and the warehouse is looked at after every minute."""
    recorded = Replay(LiveSummary())
    first = len(stand_in.log) if stand_in is not None else 0

    def minute(present: pd.Timestamp) -> None:
        recorded.began[present] = time.time()
        if stand_in is not None:
            stand_in.now = present
        on_minute(present)

    def cycle(done: Cycle) -> None:
        recorded.ended[done.present] = time.time()
        recorded.seen[done.present] = _look(settings, done)

    recorded.summary = run_live(
        settings,
        plan,
        clock,
        minutes,
        on_cycle=cycle,
        on_note=recorded.notes.append,
        on_minute=minute,
        stop=stop,
    )
    if stand_in is not None:
        stand_in.now = None
        recorded.log = list(stand_in.log[first:])
    return recorded


def _look(settings: Settings, cycle: Cycle) -> Seen:
    uids = [result["uid"] for result in cycle.results]
    present, last = cycle.present, cycle.present - pd.Timedelta(minutes=1)
    with connect(settings.db_path) as con:
        counts = con.execute(
            "select count(*) filter (where bar_time >= $present), "
            "count(*) filter (where bar_time = $last) from raw.bars_1m",
            {"present": present, "last": last},
        ).fetchone()
        bars = con.execute(BARS_SQL, {"uids": uids}).df()
    return Seen(counts[0], counts[1], bars)


def backtest(
    settings: Settings, entries: list[tuple[str, pd.Timestamp, str]], **run
) -> dict[str, dict]:
    """The backtest of ``entries`` (symbol, entry minute, direction): results by uid."""
    frame = pd.DataFrame(
        [(symbol, str(entry), side) for symbol, entry, side in entries],
        columns=["symbol", "entry_time", "direction"],
    )
    report = run_requests(settings, frame, RunOptions(), show_progress=False, **run)
    with connect(settings.db_path) as con:
        return {result["uid"]: result for result in fetch_results(con, report.uids)}


def entries_of(results: list[dict]) -> list[tuple[str, pd.Timestamp, str]]:
    """(symbol, entry minute in naive UTC, direction) of results."""
    return [
        (
            result["symbol"],
            pd.Timestamp(result["entry_time"]).tz_convert("UTC").tz_localize(None),
            result["direction"],
        )
        for result in results
    ]


def same(live, expected) -> bool:
    """Equal, numbers to 1e-9 relative; JSON objects and lists compared item by item."""
    if isinstance(live, dict) and isinstance(expected, dict):
        return live.keys() == expected.keys() and all(same(live[k], expected[k]) for k in live)
    if isinstance(live, list) and isinstance(expected, list):
        return len(live) == len(expected) and all(map(same, live, expected))
    numbers = (int, float)
    if isinstance(live, numbers) and isinstance(expected, numbers):
        if isinstance(live, bool) or isinstance(expected, bool):
            return live is expected
        return math.isclose(live, expected, rel_tol=1e-9, abs_tol=1e-12)
    return live == expected


def assert_same_calls(live: list[dict], expected: dict[str, dict]) -> Counter:
    """Every live call (each calculation's direction, strength, confidence, status and
    metadata, and the consensus) equals the backtest's of its uid; rows compared per
    calculation."""
    compared: Counter = Counter()
    for result in live:
        uid = result["uid"]
        assert uid in expected, f"{uid} has no backtest"
        wanted = {signal["calculation"]: signal for signal in expected[uid]["signals"]}
        got = {signal["calculation"]: signal for signal in result["signals"]}
        assert got.keys() == wanted.keys(), uid
        for name, signal in got.items():
            for key in (*SIGNAL_FIELDS, "points", "metadata"):
                assert same(signal[key], wanted[name][key]), (uid, name, key, signal, wanted[name])
            compared[name] += 1
        for key in CONSENSUS_KEYS:
            live_value, backtest_value = result["consensus"][key], expected[uid]["consensus"][key]
            assert same(live_value, backtest_value), (uid, key, live_value, backtest_value)
        compared["consensus"] += 1
    return compared
