"""A replayed live session on the local Polygon, which serves the real LEAN bars only up to the
simulated present (as the real API has nothing later): ten minutes of SPY, BAC and IBM on
2013-10-08 from 14:30 UTC, every calculation. Each call printed live equals the backtest of the
same entry in a fresh warehouse with every bar served, and nothing at or after a minute's present
was asked for, stored or used."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.core.config import Settings
from backtest.live import Clock
from plugins.loader import plugin_settings
from tests.live.replay import (
    assert_same_calls,
    backtest,
    entries_of,
    polygon_options,
    polygon_plan,
    replay,
)

pytestmark = pytest.mark.realdata

START = pd.Timestamp("2013-10-08 14:30")
MINUTES = 10
SYMBOLS = ("SPY", "BAC", "IBM")


@pytest.fixture(scope="module")
def session(polygon_stand_in, tmp_path_factory):
    """The live run, then the backtest of its entries with everything served."""
    folder = tmp_path_factory.mktemp("live_equals_backtest")
    polygon_stand_in.reset()
    live = replay(
        Settings(db_path=folder / "live.duckdb"),
        polygon_plan(polygon_stand_in, SYMBOLS),
        Clock.replay(START),
        MINUTES,
        polygon_stand_in,
    )
    polygon_stand_in.reset()
    expected = backtest(
        Settings(db_path=folder / "backtest.duckdb"),
        entries_of(live.entered()),
        source="polygon",
        calculation="all",
        source_options=polygon_options(polygon_stand_in),
    )
    served_all = [call for call in polygon_stand_in.log if call.now is None]
    polygon_stand_in.reset()
    return live, expected, served_all


def test_every_live_call_equals_the_backtest_of_the_same_entry(session):
    live, expected, served_all = session
    assert served_all, "the backtest fetched from the stand-in serving every bar"
    assert [cycle.present for cycle in live.cycles] == list(
        pd.date_range(START, periods=MINUTES, freq="min")
    )
    assert not any(cycle.skipped for cycle in live.cycles)
    entered = live.entered()
    assert len(entered) == MINUTES * len(SYMBOLS) == len(expected)
    compared = assert_same_calls(entered, expected)
    calculations = set(plugin_settings("all"))
    assert set(compared) == calculations | {"consensus"}
    assert all(count == len(entered) for count in compared.values()), compared
    # not vacuous: the bar calculations called on real bars, and the consensus had votes
    for name in calculations - {"quote_imbalance"}:  # no quotes recorded for 2013
        assert any(
            signal["calculation"] == name and signal["status"] == "ok"
            for result in entered
            for signal in result["signals"]
        ), name
    assert all(result["consensus"]["participating_calculations"] >= 1 for result in entered)
    calls = {signal["direction"] for result in entered for signal in result["signals"]}
    assert {"BULLISH", "BEARISH"} <= calls


def test_a_call_stays_as_printed_while_its_entry_is_built_again(session):
    live, expected, _ = session
    built_again = [result for cycle in live.cycles for result in cycle.earlier]
    assert len(built_again) == len(SYMBOLS) * MINUTES * (MINUTES - 1) // 2
    assert_same_calls(built_again, expected)


def _range_end(path: str, query: dict[str, str]) -> pd.Timestamp | None:
    """The exclusive end of the range a stand-in request asked for (None: not a range)."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["v2", "aggs", "ticker"]:
        return pd.Timestamp(int(parts[8]) + 1, unit="ms")
    if parts[:1] == ["v3"] and "timestamp.lt" in query:
        return pd.Timestamp(int(query["timestamp.lt"]), unit="ns")
    return None


def test_no_bar_at_or_after_the_present_is_asked_for_stored_or_used(session):
    live, _, _ = session
    # asked for: every request to the stand-in ended at or before the present it was made at
    asked = [(call, _range_end(call.path, call.query)) for call in live.log]
    assert {call.path.split("/")[-1] for call, _ in asked if "/v3/quotes/" in call.path} == set(
        SYMBOLS
    )
    bar_calls = [call for call, _ in asked if call.path.startswith("/v2/aggs/")]
    assert {call.now for call in bar_calls} == set(live.seen), "bars were fetched every minute"
    for call, end in asked:
        assert call.now is not None and end is not None, call
        assert end <= call.now, (call.path, call.query, call.now)
        assert call.status == 200, call
    for present, seen in live.seen.items():
        # stored: raw.bars_1m holds the minute that just closed, and nothing from the present on
        assert seen.raw_bars_from_present == 0, present
        assert seen.raw_bars_last_minute == len(SYMBOLS), present
        # used: no real bar of a window at or after the present it was built at
        assert (seen.bars.known_until == present).all(), present
        minutes_in = (present - START) // pd.Timedelta(minutes=1) + 1
        assert seen.bars.uid.nunique() == len(SYMBOLS) * minutes_in, present
        real = seen.bars[~seen.bars.is_filled]
        assert (real.bar_time < present).all(), present
        assert len(real) > 0
    last = live.seen[live.cycles[-1].present].bars
    assert (last.groupby("uid").size() == 75).all()
