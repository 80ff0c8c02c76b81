"""A replay on a warehouse that already holds the whole day (a backtest loaded it first): the live
entries still use no bar at or after the present they were built at (``known_until``), their
forward metrics are those of the bars before it only, and as the clock advances an entry goes
no_data -> partial -> complete, a stopped run's entries being picked up by the next one."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.core.config import Settings
from backtest.live import Clock
from tests.fixtures import query
from tests.live.replay import backtest, polygon_options, polygon_plan, replay, same
from tests.reference import expected_forward, expected_status, expected_window

pytestmark = pytest.mark.realdata

START = pd.Timestamp("2013-10-08 14:30")
HOUR = pd.Timedelta(minutes=60)
SYMBOLS = ("SPY", "BAC")
LOOKBACK_MINUTES = 120


@pytest.fixture(scope="module")
def day(polygon_stand_in, tmp_path_factory):
    """The whole day loaded by a backtest; then live from 14:30 for 3 minutes, and a second live
    run on the same warehouse at 15:30 for 1 minute."""
    settings = Settings(db_path=tmp_path_factory.mktemp("known_until") / "warehouse.duckdb")
    polygon_stand_in.reset()
    evening = [(symbol, pd.Timestamp("2013-10-08 18:00"), "LONG") for symbol in SYMBOLS]
    options = polygon_options(polygon_stand_in)
    backtest(settings, evening, source="polygon", calculation="all", source_options=options)
    plan = polygon_plan(polygon_stand_in, SYMBOLS)
    first = replay(settings, plan, Clock.replay(START), 3, polygon_stand_in)
    later = replay(settings, plan, Clock.replay(START + HOUR), 1, polygon_stand_in)
    polygon_stand_in.reset()
    return settings, first, later


def _cycles(day):
    _, first, later = day
    return [(cycle, first.seen[cycle.present]) for cycle in first.cycles] + [
        (cycle, later.seen[cycle.present]) for cycle in later.cycles
    ]


def _entry(result: dict) -> pd.Timestamp:
    return pd.Timestamp(result["entry_time"]).tz_convert("UTC").tz_localize(None)


def test_windows_end_at_the_present_although_the_warehouse_holds_the_whole_day(day, lean_bars):
    settings, _, _ = day
    [(first_bar, last_bar)] = query(
        settings.db_path,
        "select min(bar_time), max(bar_time) from raw.bars_1m where symbol = 'SPY'",
    )
    assert first_bar <= START - pd.Timedelta(hours=2) and last_bar >= START + 5 * HOUR
    checked = {"no_data": 0, "partial": 0, "complete": 0}
    for cycle, seen in _cycles(day):
        present = cycle.present
        assert seen.raw_bars_from_present > 0, "the warehouse holds bars after the present"
        assert (seen.bars.known_until == present).all()
        real = seen.bars[~seen.bars.is_filled]
        assert (real.bar_time < present).all(), present
        known = lean_bars[lean_bars.bar_time < present]  # what existed at the present
        for result in cycle.results:
            symbol_bars = known[known.symbol == result["symbol"]]
            window = expected_window(symbol_bars, _entry(result), LOOKBACK_MINUTES)
            stored = seen.bars[seen.bars.uid == result["uid"]].reset_index(drop=True)
            assert stored.bar_offset.tolist() == list(range(-15, 60))
            assert (stored.is_filled == window.is_filled).all(), (present, result["uid"])
            for column in ["open", "high", "low", "close", "volume"]:
                assert same(stored[column].tolist(), window[column].tolist()), column
            status = expected_status(window)
            assert result["status"] == status, (present, result["uid"])
            forward = result["forward"]
            if status == "no_data":
                assert forward["entry_price"] is None and forward["pnl"] is None
            else:
                for metric, value in expected_forward(window, result["direction"]).items():
                    assert same(forward[metric], value), (present, result["uid"], metric)
            checked[status] += 1
    assert all(checked.values()), checked  # every status was met and compared


def test_an_entry_goes_no_data_partial_complete_as_the_clock_advances(day, lean_bars):
    _, first, later = day
    assert later.summary.picked_up == len(SYMBOLS) * 3  # 14:30, 14:31, 14:32 still unfolding
    [at_1530] = later.cycles
    assert at_1530.present == START + HOUR
    for symbol in SYMBOLS:
        uid = f"{symbol}.100813.1430.L"
        statuses = [
            result["status"]
            for cycle in [*first.cycles, at_1530]
            for result in cycle.results
            if result["uid"] == uid
        ]
        assert statuses == ["no_data", "partial", "partial", "complete"], uid
        [final] = [result for result in at_1530.results if result["uid"] == uid]
        bars = lean_bars[lean_bars.symbol == symbol]  # the whole bar file
        window = expected_window(bars, START, LOOKBACK_MINUTES)
        assert not window.is_filled.any()
        for metric, value in expected_forward(window, "LONG").items():
            assert same(final["forward"][metric], value), (uid, metric)
    # 14:31 and 14:32 lack their 15:30 and 15:31 bars yet; 15:30 has no forward bar at all
    at_1530_statuses = {(_entry(result), result["status"]) for result in at_1530.results}
    assert at_1530_statuses == {
        (START, "complete"),
        (START + pd.Timedelta(minutes=1), "partial"),
        (START + pd.Timedelta(minutes=2), "partial"),
        (START + HOUR, "no_data"),
    }
    # at 15:30: its own new entries, and the stored ones of the first run, picked up
    assert {_entry(result) for result in at_1530.entered} == {START + HOUR}
    assert len(at_1530.earlier) == len(SYMBOLS) * 3
