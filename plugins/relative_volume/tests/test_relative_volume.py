"""relative_volume: the adapter against an independent minute-grid recomputation, the dbt models
against the adapter on demo bars, and the models against the recomputation on real bars."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ingest.demo import session_bars
from plugins.base import SignalDirection
from plugins.relative_volume.adapter import RelativeVolumeAdapter
from plugins.relative_volume.plugin import RelativeVolumePlugin
from tests import plugin_checks as checks
from tests.fixtures import requests_frame

LOOKBACK = 120


def expected_volume(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK) -> dict:
    """The README's definition on a full minute grid (missing minutes: volume 0), not adapter.py.

    The recent window is the grid's last 5 minutes, the baseline all the minutes before it.
    """
    entry = pd.Timestamp(entry_time)
    minutes = pd.date_range(entry - timedelta(minutes=lookback), periods=lookback, freq="min")
    grid = bars.set_index("bar_time").reindex(minutes)
    if grid.close.isna().all() or grid.volume.sum() <= 0:
        return {"status": "no_data"}
    recent, baseline = grid.iloc[-5:], grid.iloc[:-5]
    recent_volume = recent.volume.fillna(0).sum()
    baseline_volume_5m = 5 * baseline.volume.fillna(0).mean()
    traded = recent.dropna(subset=["close"])
    change = (
        100 * (traded.close.iloc[-1] / traded.open.iloc[0] - 1) if len(traded) else float("nan")
    )
    ratio = recent_volume / baseline_volume_5m if baseline_volume_5m > 0 else float("nan")
    baseline_bars = int(baseline.close.notna().sum())
    direction, strength, confidence = "NEUTRAL", 0.0, 0.0
    if baseline_bars >= 30:
        if ratio >= 2 and change != 0:
            direction = "BULLISH" if change > 0 else "BEARISH"
            strength = min(100.0, 100 * math.log(ratio, 4))
        confidence = 100 * min(1.0, baseline_bars / (lookback - 5)) * len(traded) / 5
    return {
        "status": "ok",
        "volume_ratio": ratio,
        "recent_volume": recent_volume,
        "baseline_volume_5m": baseline_volume_5m,
        "recent_change_pct": change,
        "recent_bars": len(traded),
        "baseline_bars": baseline_bars,
        "bars_used": int(grid.close.notna().sum()),
        "direction": direction,
        "strength": strength,
        "confidence": confidence,
    }


def adapter_signal(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK):
    return checks.run_adapter(RelativeVolumePlugin, bars, entry_time, lookback)


def close_or_missing(got, expected, label, **tolerance) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert got is None or pd.isna(got), label
    else:
        assert got == pytest.approx(expected, **tolerance), label


def assert_matches(got: dict, expected: dict, label: str) -> None:
    """Compare stored or adapter readings with the recomputation (calls to the cent)."""
    checks.assert_call_matches(got, expected, label)
    for key in ["recent_bars", "baseline_bars", "bars_used"]:
        assert got[key] == expected[key], (label, key)
    for key in ["recent_volume", "baseline_volume_5m"]:
        assert got[key] == pytest.approx(expected[key], rel=1e-12), (label, key)
    for key in ["volume_ratio", "recent_change_pct"]:
        close_or_missing(got[key], expected[key], (label, key), rel=1e-9, abs=1e-12)


def demo_bars(symbol: str, day: date) -> pd.DataFrame:
    return pd.concat([session_bars(symbol, day - timedelta(days=1)), session_bars(symbol, day)])


def test_adapter_matches_independent_recomputation():
    calls = set()
    for symbol in ["AAPL", "TSLA", "NVDA", "SPY"]:
        bars = demo_bars(symbol, date(2024, 6, 27))
        entries = [
            *pd.date_range("2024-06-27 13:31", "2024-06-27 13:50", freq="2min"),  # the open
            *pd.date_range("2024-06-27 05:00", "2024-06-28 00:30", freq="47min"),
        ]
        for entry in entries:
            expected = expected_volume(bars, entry)
            signal = adapter_signal(bars, entry)
            if expected["status"] == "no_data":
                assert signal is None, entry
                continue
            assert_matches({**signal.metadata, **vars(signal)}, expected, f"{symbol} {entry}")
            calls.add(signal.direction)
    assert calls == {"BULLISH", "BEARISH", "NEUTRAL"}


def minute_bars(volumes: list[float], closes: list[float] | None = None) -> pd.DataFrame:
    times = pd.date_range("2024-06-27 14:00", periods=len(volumes), freq="min")
    closes = closes or [10.0] * len(volumes)
    return pd.DataFrame(
        {"bar_time": times, "open": [closes[0], *closes[:-1]], "close": closes, "volume": volumes}
    )


def test_surges_call_the_direction_of_the_last_five_minutes():
    entry = datetime(2024, 6, 27, 15)  # a 60-minute lookback: 55 baseline minutes
    volumes = [100.0] * 55 + [440.0] * 5  # 2200 against a 500 mean: 4.4x
    rising = np.r_[np.full(55, 10.0), np.linspace(10.1, 10.5, 5)].tolist()
    up = adapter_signal(minute_bars(volumes, rising), entry, lookback=60)
    assert up.direction == SignalDirection.BULLISH and up.strength == 100
    assert up.metadata["volume_ratio"] == pytest.approx(4.4)
    falling = np.r_[np.full(55, 10.0), np.linspace(9.9, 9.5, 5)].tolist()
    down = adapter_signal(minute_bars(volumes, falling), entry, lookback=60)
    assert down.direction == SignalDirection.BEARISH
    calm = adapter_signal(minute_bars([100.0] * 55 + [190.0] * 5, rising), entry, lookback=60)
    assert calm.direction == SignalDirection.NEUTRAL and calm.strength == 0


def test_missing_minutes_trade_nothing_and_short_baselines_warm_up():
    entry = datetime(2024, 6, 27, 15)
    bars = minute_bars([100.0] * 60, np.linspace(10, 11, 60).tolist())
    gappy = bars.drop(index=[56, 57, 58])  # two of the last five minutes traded
    signal = adapter_signal(gappy, entry, lookback=60)
    assert signal.metadata["recent_volume"] == 200
    assert signal.metadata["baseline_volume_5m"] == 500  # 55 minutes of 100
    assert signal.confidence == 40 and signal.direction == SignalDirection.NEUTRAL
    every_third = bars[(bars.index % 3 == 0) | (bars.index >= 55)]  # 19 baseline bars
    warm_up = adapter_signal(every_third.assign(volume=1000.0), entry, lookback=60)
    assert warm_up.metadata["volume_ratio"] > 2 and warm_up.metadata["recent_change_pct"] > 0
    assert (warm_up.direction, warm_up.strength, warm_up.confidence) == ("NEUTRAL", 0, 0)
    assert adapter_signal(bars.assign(volume=0.0), entry, lookback=60) is None
    assert adapter_signal(bars.head(0), entry, lookback=60) is None


def test_adapter_ignores_bars_at_or_after_the_entry():
    checks.assert_blind_after_entry(
        RelativeVolumeAdapter, adapter_signal, "volume", 1e12, datetime(2024, 6, 27, 13, 40)
    )


DEMO_ENTRIES = [
    ("AAPL", "2024-06-27 13:40:00", "LONG"),  # the open against a pre-market baseline
    ("TSLA", "2024-06-27 13:36:00", "SHORT"),
    ("AAPL", "2024-06-27 15:23:00", "SHORT"),
    ("NVDA", "2024-06-27 19:59:00", "LONG"),  # the close
    ("TSLA", "2024-06-28 08:15:00", "LONG"),  # sparse pre-market: warm-up
    ("TSLA", "2024-06-28 06:00:00", "LONG"),  # 02:00 New York: no bars, no_data
    ("MSFT", "2024-01-10 14:45:00", "SHORT"),
]


def test_dbt_models_match_the_adapter(run, settings):
    stored = checks.stored_after_run(run, settings, "relative_volume", DEMO_ENTRIES)
    checks.assert_models_match_adapter(stored, adapter_signal, assert_matches)


LEAN_REQUESTS = [
    ("SPY", "2013-10-07 13:35:00", "LONG"),  # the open against the pre-market
    ("SPY", "2013-10-08 17:12:00", "SHORT"),
    ("SPY", "2013-10-09 19:58:00", "LONG"),  # into the close
    ("IBM", "2013-10-04 16:42:00", "SHORT"),  # a missing minute inside the recent window
    ("AAPL", "2014-06-09 13:33:00", "LONG"),  # split day, raw prices
    ("GOOG", "2015-12-24 18:03:00", "SHORT"),  # just after the 13:00 early close
    ("SHY", "2008-03-10 14:10:00", "LONG"),  # illiquid
    ("TWX", "2014-06-23 13:40:00", "SHORT"),  # six bars, all in the morning
    ("BAC", "2013-10-10 13:32:00", "LONG"),
    ("SPY", "2023-08-03 20:30:00", "SHORT"),  # after hours
    ("IBM", "2013-10-05 15:00:00", "LONG"),  # a Saturday: no bars, no_data
]


def test_real_lean_bars_match_independent_recomputation(shared_data, run, settings):
    path = shared_data / "lean-algoseek" / "lean_minute_trade_bars_normalized.csv"
    run(requests_frame(*LEAN_REQUESTS), source="files", bars=[path], calculation="relative_volume")
    bars = checks.read_lean_bars(path)
    stored = checks.stored_readings(settings.db_path, "relative_volume").set_index("uid")
    assert len(stored) == len(LEAN_REQUESTS)
    for uid, row in stored.iterrows():
        expected = expected_volume(bars[bars.symbol == row.symbol], row.entry_time)
        assert row.status == expected["status"], uid
        if expected["status"] == "ok":
            assert_matches({**row.to_dict(), "direction": row.signal_direction}, expected, uid)
    assert stored.signal_direction.isin(["BULLISH", "BEARISH"]).any()
