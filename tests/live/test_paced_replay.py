"""A paced replay whose minutes are shorter than a cycle: each cycle overruns, says so, and the
loop resumes at the latest minute that has begun, so it never drifts behind the clock and ends
within its minutes. The first minute's latency is measured from the replay's start, after the
warm-up, not from before it."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from backtest.core.config import Settings
from backtest.live import Clock, LivePlan
from tests.live.replay import replay

START = pd.Timestamp("2024-06-27 14:00")
MINUTE = pd.Timedelta(minutes=1)
SPEED = 600.0  # a simulated minute lasts 0.1 s of wall time
MINUTES = 100


@pytest.fixture(scope="module")
def paced(tmp_path_factory):
    settings = Settings(db_path=tmp_path_factory.mktemp("paced") / "warehouse.duckdb")
    plan = LivePlan(symbols=("AAPL",), calculation="m1_ema")  # demo bars: the loop is on trial
    run = replay(settings, plan, Clock.replay(START, SPEED), MINUTES)
    return run, time.time()


def test_every_overrun_is_reported_and_the_minutes_it_skipped_are_counted(paced):
    run, _ = paced
    presents = [cycle.present for cycle in run.cycles]
    assert len(presents) >= 2
    assert presents == sorted(set(presents))  # strictly increasing
    assert run.summary.overrun, "a cycle longer than 0.1 s overran its minute"
    assert len(run.notes) == len(presents) - 1 or len(run.notes) == len(presents)
    for note in run.notes:
        assert " cycle overran its minute (" in note and "skipped" in note, note
    # every minute of the replay was either run or counted as skipped, once, none beyond it
    covered = sorted(presents + list(run.summary.overrun))
    assert covered == list(pd.date_range(START, periods=MINUTES, freq="min"))
    assert f"{len(run.summary.overrun)} skipped (overrun)" in run.summary.text()
    assert not any(cycle.skipped for cycle in run.cycles)


def _walls(run) -> dict[pd.Timestamp, float]:
    """The wall moment the loop gave each present: when its cycle ended less its latency (the
    latency is measured from that moment)."""
    return {cycle.present: run.ended[cycle.present] - cycle.latency for cycle in run.cycles}


def test_the_loop_keeps_to_the_clock_and_ends_within_its_minutes(paced):
    run, finished = paced
    walls = _walls(run)
    origin = walls[START]
    for present, wall in walls.items():
        # one clock: the walls are the replay's start plus 0.1 s a minute
        assert wall == pytest.approx(origin + (present - START) / MINUTE * 60 / SPEED, abs=0.05)
        began = run.began[present]
        # each minute starts once its wall moment has come, and before the one after next
        assert wall - 0.05 <= began < wall + 2 * 60 / SPEED, present
        assert present < START + MINUTES * MINUTE
    # no drift: the run is over once its last cycle is, by the end of its minutes
    last = run.cycles[-1].present
    took = run.ended[last] - run.began[last]
    assert finished - run.ended[last] < 1.0
    assert finished - origin <= MINUTES * 60 / SPEED + took + 1.0


def test_the_first_latency_is_measured_from_the_replay_start_not_before_the_warm_up(paced):
    run, _ = paced
    first = run.cycles[0]
    assert first.present == START
    took = run.ended[START] - run.began[START]
    assert first.latency <= took + 0.5, "the warm-up is not part of the first minute's latency"
