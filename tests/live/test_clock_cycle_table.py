"""Units of ``backtest live`` without a warehouse: the clock (``--clock``, wall moments, where an
overrun loop resumes), the cycle's intake (``--symbols``, ``--direction``, which entries are due
each minute) and the table (which earlier entries are shown, which returns are known yet)."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from backtest.core.config import HORIZONS
from backtest.core.errors import BacktestError
from backtest.live import Clock, Cycle, LivePlan, parse_clock, parse_directions, parse_symbols
from backtest.live.cycle import Entries
from backtest.live.table import calls_grid, outcome_grid, render

T = pd.Timestamp("2024-06-27 13:30")
MINUTE = pd.Timedelta(minutes=1)


# the clock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-27 13:30", T),
        (" 2024-06-27T13:30:00 ", T),
        ("2024-06-27 09:30-04:00", T),  # an offset is converted to naive UTC
        ("2024-06-27 13:30:00+00:00", T),
    ],
)
def test_parse_clock_reads_a_whole_minute_as_naive_utc(text, expected):
    parsed = parse_clock(text)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("yesterday", "is not a date and time"),
        ("", "is not a date and time"),
        ("2024-13-40 10:00", "is not a date and time"),
        ("2024-06-27 13:30:20", "is not on a whole minute"),
        ("2024-06-27 13:30:00.5", "is not on a whole minute"),
    ],
)
def test_parse_clock_errors_are_one_sentence_naming_the_input_and_the_form(text, problem):
    with pytest.raises(BacktestError) as raised:
        parse_clock(text)
    message = str(raised.value)
    assert message.startswith(f"--clock {text} {problem}")
    assert '"YYYY-MM-DD HH:MM" (UTC).' in message
    assert "\n" not in message


@pytest.mark.parametrize("speed", [0, -1.5])
def test_a_replay_speed_must_be_above_zero(speed):
    with pytest.raises(BacktestError, match=r"--speed .* must be above 0: 1 is real time\."):
        Clock.replay(T, speed)


def test_wall_moments_of_an_unpaced_a_paced_and_the_real_clock():
    unpaced = Clock.replay(T)
    assert not unpaced.is_paced
    assert unpaced.wall(T + 5 * MINUTE) is None
    paced = Clock(start=T, speed=2.0, origin=1_000.0)  # two simulated minutes a wall minute
    assert paced.wall(T) == 1_000.0
    assert paced.wall(T + MINUTE) == 1_030.0
    assert paced.wall(T + 10 * MINUTE) == 1_300.0
    real = Clock(start=T, speed=1.0, real=True)
    assert real.wall(T) == (T - pd.Timestamp("1970-01-01")).total_seconds()
    live = Clock.live()
    assert live.real and live.start == live.start.floor("min")
    assert 0 <= live.wall(live.start) - time.time() <= 60


def test_a_clock_restarted_after_the_warm_up_puts_its_first_minute_then():
    paced = Clock(start=T, speed=60.0, origin=1_000.0)
    before = time.time()
    again = paced.restarted()
    assert (again.start, again.speed) == (T, 60.0) and paced.origin == 1_000.0
    assert before <= again.wall(T) <= time.time()  # not 1_000 s after the epoch any more
    assert Clock.replay(T).restarted().wall(T) is None
    live = Clock(start=T, speed=1.0, real=True).restarted()
    assert live.real and live.start == live.start.floor("min")
    assert 0 <= (live.start - pd.Timestamp(before, unit="s")).total_seconds() <= 60


def test_latest_passed_resumes_at_the_latest_closed_minute_after_an_overrun():
    # one simulated minute a wall second, started 10.5 s ago: minute 10 has begun, 11 has not
    clock = Clock(start=T, speed=60.0, origin=time.time() - 10.5)
    assert clock.latest_passed(T) == T + 10 * MINUTE
    assert clock.latest_passed(T + 10 * MINUTE) == T + 11 * MINUTE  # at least the next one
    on_time = Clock(start=T, speed=60.0, origin=time.time())
    assert on_time.latest_passed(T) == T + MINUTE
    assert Clock.replay(T).latest_passed(T) == T + MINUTE  # unpaced: never skips


def test_wait_for_waits_until_the_wall_moment_and_stops_at_once_when_told():
    stop = threading.Event()
    assert Clock.replay(T).wait_for(T, 0.0, stop)
    clock = Clock(start=T, speed=600.0)  # a simulated minute is 0.1 s
    started = time.monotonic()
    assert clock.wait_for(T + 2 * MINUTE, 0.05, stop)
    assert 0.2 <= time.monotonic() - started < 2
    stop.set()
    started = time.monotonic()
    assert not clock.wait_for(T + 600 * MINUTE, 0.0, stop)  # a minute a minute away: no wait
    assert not Clock.replay(T).wait_for(T, 0.0, stop)
    assert time.monotonic() - started < 1


# the cycle's intake


def test_parse_symbols_upper_cases_drops_repeats_and_keeps_the_order():
    assert parse_symbols("aapl, MSFT,aapl,") == ("AAPL", "MSFT")
    assert parse_symbols("BRK.B") == ("BRK.B",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "--symbols is empty: name at least one ticker"),
        (" , ,", "--symbols is empty: name at least one ticker"),
        ("AAPL,NOT A TICKER", "Symbol 'NOT A TICKER'"),
        ("AAPL,$$$", "Symbol '$$$'"),
    ],
)
def test_parse_symbols_errors(text, problem):
    with pytest.raises(BacktestError) as raised:
        parse_symbols(text)
    assert str(raised.value).startswith(problem)


@pytest.mark.parametrize(
    ("text", "sides"),
    [("LONG", ("LONG",)), ("short", ("SHORT",)), (" Both ", ("LONG", "SHORT"))],
)
def test_parse_directions(text, sides):
    assert parse_directions(text) == sides


@pytest.mark.parametrize("text", ["", "up", "LONG,SHORT"])
def test_parse_directions_errors(text):
    with pytest.raises(
        BacktestError, match=r"--direction .* is unknown: use LONG, SHORT or BOTH\."
    ):
        parse_directions(text)


def _keys(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [
        (row.symbol, f"{row.entry_time:%H:%M}", row.direction)
        for row in frame.itertuples(index=False)
    ]


def test_entries_are_due_from_their_minute_until_their_forward_window_has_closed():
    entries = Entries(LivePlan(symbols=("AAPL", "MSFT"), directions=("LONG", "SHORT")))
    first = entries.due(T)
    assert _keys(first) == [
        ("AAPL", "13:30", "LONG"),
        ("AAPL", "13:30", "SHORT"),
        ("MSFT", "13:30", "LONG"),
        ("MSFT", "13:30", "SHORT"),
    ]
    assert _keys(entries.due(T + MINUTE))[4:] == _keys(first)  # new ones first, then earlier
    third = entries.due(T + 2 * MINUTE)
    assert [key[1] for key in _keys(third)] == ["13:32"] * 4 + ["13:31"] * 4 + ["13:30"] * 4
    at_sixty = entries.due(T + 60 * MINUTE)  # 13:30's last forward bar (14:29) has just closed
    assert ("AAPL", "13:30", "LONG") in _keys(at_sixty)
    assert len(at_sixty) == 4 * 4  # 14:30 new, 13:32, 13:31, 13:30
    at_sixty_one = entries.due(T + 61 * MINUTE)
    assert {key[1] for key in _keys(at_sixty_one)} == {"14:31", "14:30", "13:32", "13:31"}
    assert entries.due(T + 200 * MINUTE).entry_time.eq(T + 200 * MINUTE).all()


def test_the_same_minute_due_twice_is_not_entered_twice():
    entries = Entries(LivePlan(symbols=("AAPL",)))
    entries.due(T)
    entries.due(T)
    assert _keys(entries.due(T + MINUTE)) == [("AAPL", "13:31", "LONG"), ("AAPL", "13:30", "LONG")]


def test_status_lines_of_a_built_and_a_skipped_minute():
    built = Cycle(
        T + 2 * MINUTE,
        results=({},) * 5,
        new=2,
        latency=1.234,
        missing=("MSFT", "SPY"),
    )
    assert built.status_line() == (
        "13:32 signal 1.23 s after the close · 5 requests built (2 new, 3 earlier) · no 13:31 "
        "bar for MSFT, SPY (no trade in that minute, or not published yet): called on the bars "
        "before it"
    )
    assert Cycle(T, results=({},), new=1, latency=0.5).status_line() == (
        "13:30 signal 0.50 s after the close · 1 request built (1 new, 0 earlier)"
    )
    assert Cycle(T, skipped="Polygon answered 429.").status_line() == (
        "13:30 skipped: Polygon answered 429."
    )


# the table


def _result(
    symbol: str, entry: pd.Timestamp, returns: dict | None = None, pnl_pct: float | None = None
) -> dict:
    forward = dict.fromkeys((f"return_{minutes}m" for minutes in HORIZONS), None)
    forward.update(returns or {})
    return {
        "uid": f"{symbol}.{entry:%m%d%y.%H%M}.L",
        "symbol": symbol,
        "entry_time": f"{entry} +00:00",
        "direction": "LONG",
        "status": "partial",
        "signals": [
            {"calculation": "m1_ema", "status": "ok", "direction": "BEARISH", "strength": 61.6},
            {"calculation": "quote_imbalance", "status": "no_data", "direction": None},
        ],
        "consensus": {"consensus_direction": "BEARISH", "agreement_score": 100.0},
        "forward": {**forward, "pnl_pct": pnl_pct},
    }


def test_earlier_entries_are_shown_at_the_ages_5_15_30_60_only_with_the_returns_reached():
    present = T + 60 * MINUTE
    ages = range(1, 62)
    full = {f"return_{minutes}m": minutes / 100 for minutes in HORIZONS}
    earlier = tuple(_result("AAPL", present - age * MINUTE, full, -0.25) for age in ages)
    cycle = Cycle(present, results=(_result("AAPL", present), *earlier), new=1, latency=1.0)
    grid = outcome_grid(cycle)
    assert grid.headers[3:6] == ("age", "status", "consensus")
    assert grid.headers[6:] == ("5m", "15m", "30m", "60m", "P&L so far")
    rows = {row[3]: row for row in grid.rows}
    assert list(rows) == ["5m", "15m", "30m", "60m"]
    assert rows["5m"][2] == "14:25"
    assert rows["5m"][6:] == ("+0.05%", "", "", "", "-0.25%")
    assert rows["15m"][6:] == ("+0.05%", "+0.15%", "", "", "-0.25%")
    assert rows["30m"][6:] == ("+0.05%", "+0.15%", "+0.30%", "", "-0.25%")
    assert rows["60m"][2] == "13:30"
    assert rows["60m"][6:] == ("+0.05%", "+0.15%", "+0.30%", "+0.60%", "-0.25%")
    assert rows["5m"][4:6] == ("partial", "BEARISH 100%")


def test_a_horizon_not_measured_yet_is_a_dash_and_none_is_shown_before_five_minutes():
    present = T + 5 * MINUTE
    young = tuple(_result("MSFT", present - age * MINUTE) for age in (1, 2, 3, 4, 5))
    grid = outcome_grid(Cycle(present, results=(_result("MSFT", present), *young), new=1))
    [row] = grid.rows
    assert row[3] == "5m"
    assert row[6:] == ("-", "", "", "", "-")


def test_calls_grid_and_render():
    cycle = Cycle(
        T, results=(_result("AAPL", T), _result("MSFT", T)), new=2, latency=2.5, missing=("MSFT",)
    )
    grid = calls_grid(cycle)
    assert grid.headers == (
        "symbol", "side", "entry UTC", "New York", "m1_ema", "quote_imbalance", "consensus",
    )  # fmt: skip
    assert grid.rows[0][:4] == ("AAPL", "LONG", "13:30", "09:30")
    assert grid.rows[0][4:] == ("BEARISH 62", "no_data", "BEARISH 100%")
    text = render(cycle, "heading")
    assert text.splitlines()[0] == "heading"
    assert "Calls for the minute from 13:30 UTC (09:30 New York), on the bars before it:" in text
    assert "Earlier entries so far" not in text
    assert text.splitlines()[-1] == cycle.status_line()
    skipped = Cycle(T, skipped="Polygon kept answering HTTP 429.")
    assert render(skipped, "heading") == "heading\n13:30 skipped: Polygon kept answering HTTP 429."
