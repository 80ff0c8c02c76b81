"""A live minute that fails (Polygon answering 429) is skipped with its reason and the loop goes
on; a bar missing for the minute that just closed is said, and the call is made on the bars that
exist; a first minute that fails stops the run with one sentence (the command exits non-zero)."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.cli import main
from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.live import Clock, run_live
from tests.fixtures import query
from tests.live.replay import polygon_plan, replay
from tests.reference import expected_emas

pytestmark = pytest.mark.realdata

START = pd.Timestamp("2013-10-08 14:30")
MINUTE = pd.Timedelta(minutes=1)
SYMBOLS = ("SPY", "BAC")
RATE_LIMITED = START + MINUTE  # the second minute: every call answered 429
WITHHELD = ("SPY", START + MINUTE)  # never published: the 14:32 cycle finds no 14:31 SPY bar


@pytest.fixture(scope="module")
def troubled(polygon_stand_in, tmp_path_factory):
    """Three minutes: fine, rate-limited, then fine with a missing SPY bar."""
    settings = Settings(db_path=tmp_path_factory.mktemp("failures") / "warehouse.duckdb")
    polygon_stand_in.reset()
    polygon_stand_in.withheld.add(WITHHELD)
    polygon_stand_in.fail(429, times=1_000, matches=lambda *_: polygon_stand_in.now == RATE_LIMITED)
    run = replay(
        settings, polygon_plan(polygon_stand_in, SYMBOLS), Clock.replay(START), 3, polygon_stand_in
    )
    polygon_stand_in.reset()
    return settings, run


def test_a_rate_limited_minute_is_skipped_with_its_reason_and_the_loop_goes_on(troubled):
    settings, run = troubled
    presents = [cycle.present for cycle in run.cycles]
    assert presents == list(pd.date_range(START, periods=3, freq="min"))
    skipped = {cycle.present: cycle.skipped for cycle in run.cycles if cycle.skipped}
    assert list(skipped) == [RATE_LIMITED]
    reason = skipped[RATE_LIMITED]
    assert "HTTP 429" in reason and "rate limit" in reason, reason
    assert "\n" not in reason and "Traceback" not in reason
    [cycle] = [cycle for cycle in run.cycles if cycle.skipped]
    assert cycle.status_line() == f"14:31 skipped: {reason}"
    assert (cycle.results, cycle.latency) == ((), None)
    # a live minute does not wait out a rate limit: one retry, then the minute is given up
    rate_limited = [call for call in run.log if call.now == RATE_LIMITED]
    assert [call.status for call in rate_limited] == [429, 429]
    assert "after 2 attempts" in reason, reason
    assert "1 minute skipped (failed)" in run.summary.text()
    after = run.cycles[2]
    assert not after.skipped and after.new == len(SYMBOLS)
    # the skipped minute's entries were stored and are built with the next minute's
    assert {result["uid"] for result in after.earlier} == {
        f"{symbol}.100813.{minute:%H%M}.L" for symbol in SYMBOLS for minute in (START, RATE_LIMITED)
    }
    # nothing duplicated, nothing left pending
    uids = query(settings.db_path, "select uid from raw.requests order by uid")
    assert len(uids) == 3 * len(SYMBOLS)
    assert query(
        settings.db_path,
        """
        select count(*), count(distinct uid), count(*) filter (where index.requested_at =
               requests.requested_at)
        from bt_index as index inner join raw.requests as requests using (uid)
        """,
    ) == [(len(uids), len(uids), len(uids))]
    assert query(
        settings.db_path,
        "select count(*) = count(distinct (uid, calculation)) from bt_signals",
    ) == [(True,)]
    assert query(
        settings.db_path,
        "select count(*) = count(distinct (symbol, bar_time, data_source)) from raw.bars_1m",
    ) == [(True,)]
    assert query(settings.db_path, "select distinct count(*) from bt_bars group by uid") == [(75,)]


def test_a_missing_latest_bar_is_said_and_the_call_is_made_on_the_bars_that_exist(
    troubled, lean_bars
):
    settings, run = troubled
    cycle = run.cycles[2]
    assert cycle.present == START + 2 * MINUTE
    assert cycle.missing == ("SPY",)
    line = cycle.status_line()
    assert "no 14:31 bar for SPY (no trade in that minute, or not published yet)" in line, line
    assert "called on the bars before it" in line
    assert run.cycles[0].missing == ()
    [call] = [result for result in cycle.entered if result["symbol"] == "SPY"]
    [ema] = [signal for signal in call["signals"] if signal["calculation"] == "m1_ema"]
    assert ema["status"] == "ok"
    spy = lean_bars[lean_bars.symbol == "SPY"]
    published = spy[spy.bar_time != WITHHELD[1]]
    expected = expected_emas(published, cycle.present, 120)
    assert ema["metadata"]["bars_used"] == expected["bars_used"] == 119
    assert ema["metadata"]["ema_9"] == pytest.approx(expected["ema_9"], rel=1e-10)
    assert ema["metadata"]["ema_21"] == pytest.approx(expected["ema_21"], rel=1e-10)
    assert ema["direction"] == expected["direction"]
    [(stored,)] = query(
        settings.db_path,
        "select count(*) from raw.bars_1m where symbol = 'SPY' and bar_time = ?",
        WITHHELD[1],
    )
    assert stored == 0


def test_a_first_minute_that_fails_stops_the_run_with_one_sentence(
    polygon, settings, capsys, monkeypatch
):
    polygon.fail(429, times=1_000)
    with pytest.raises(BacktestError) as raised:
        run_live(
            settings,
            polygon_plan(polygon, ("SPY",)),
            Clock.replay(START),
            3,
            on_cycle=lambda cycle: pytest.fail(f"no minute may be shown: {cycle}"),
        )
    message = str(raised.value)
    assert message.startswith("The first live minute failed: Polygon kept answering HTTP 429")
    assert message.endswith(".") and "\n" not in message
    polygon.reset()
    # the command: a network failure (nothing listens there) is one line and a non-zero exit
    monkeypatch.setenv("POLYGON_BASE_URL", "http://127.0.0.1:9")
    capsys.readouterr()
    code = main(
        ["live", "--symbols", "SPY", "--source", "polygon", "--clock", "2013-10-08 14:30",
         "--minutes", "3", "--db", str(settings.db_path)]
    )  # fmt: skip
    shown = capsys.readouterr()
    assert code != 0
    last_line = shown.err.strip().splitlines()[-1]
    failed = "error: The first live minute failed: Cannot reach Polygon at http://127.0.0.1:9"
    assert last_line.startswith(failed), shown.err
    assert "Traceback" not in shown.err
    assert "backtest live ·" not in shown.out and "signal" not in shown.out
