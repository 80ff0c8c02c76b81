"""vwap_position: the adapter against an independent pandas recomputation, the dbt models against
the adapter on demo bars, and the models against the recomputation on real LEAN/AlgoSeek bars."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ingest.demo import session_bars
from plugins.base import SignalDirection
from plugins.vwap_position.adapter import VwapPositionAdapter, regular_open_time
from plugins.vwap_position.plugin import VwapPositionPlugin
from tests import plugin_checks as checks
from tests.fixtures import requests_frame

NEW_YORK = ZoneInfo("America/New_York")
LOOKBACK = 120


def expected_vwap(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK) -> dict:
    """The README's definition, recomputed with numpy and zoneinfo (not with adapter.py)."""
    entry = pd.Timestamp(entry_time).to_pydatetime()
    local_day = entry.replace(tzinfo=UTC).astimezone(NEW_YORK).date()
    opening = datetime.combine(local_day, time(9, 30), tzinfo=NEW_YORK).astimezone(UTC)
    anchor = max(opening.replace(tzinfo=None), entry - timedelta(minutes=lookback))
    window = bars[(bars.bar_time >= anchor) & (bars.bar_time < entry)].sort_values("bar_time")
    if window.empty or window.volume.sum() <= 0:
        return {"status": "no_data", "session_anchor_time": anchor, "session_bars": len(window)}
    weights = window.volume.to_numpy(dtype=float)
    typical = window[["high", "low", "close"]].to_numpy(dtype=float).mean(axis=1)
    vwap = np.average(typical, weights=weights)
    vwap_std = np.sqrt(np.average((typical - vwap) ** 2, weights=weights))
    last_close = window.close.iloc[-1]
    sigma = (last_close - vwap) / vwap_std if vwap_std > 1e-9 * vwap else None
    if len(window) < 5:
        direction, strength, confidence = "NEUTRAL", 0.0, 0.0
    else:
        if sigma is not None and abs(sigma) > 1:
            direction = "BULLISH" if sigma > 0 else "BEARISH"
            strength = min(100.0, 50 * (abs(sigma) - 1))
        else:
            direction, strength = "NEUTRAL", 0.0
        minutes = (entry - anchor).total_seconds() / 60
        confidence = 100 * min(1.0, len(window) / minutes) * min(1.0, len(window) / 30)
    return {
        "status": "ok",
        "session_anchor_time": anchor,
        "session_bars": len(window),
        "session_volume": weights.sum(),
        "vwap": vwap,
        "vwap_std": vwap_std,
        "last_close": last_close,
        "distance_pct": 100 * (last_close - vwap) / vwap,
        "distance_sigma": sigma,
        "direction": direction,
        "strength": strength,
        "confidence": confidence,
    }


def adapter_signal(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK):
    return checks.run_adapter(VwapPositionPlugin, bars, entry_time, lookback)


def assert_matches(got: dict, expected: dict, label: str) -> None:
    """Compare stored or adapter readings with the recomputation (calls to the cent)."""
    checks.assert_call_matches(got, expected, label)
    for key in ["vwap", "vwap_std", "last_close", "distance_pct", "session_volume"]:
        assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-9), (label, key)
    if expected["distance_sigma"] is None:
        assert got["distance_sigma"] is None or pd.isna(got["distance_sigma"]), label
    else:
        assert got["distance_sigma"] == pytest.approx(expected["distance_sigma"], rel=1e-7), label
    assert got["session_bars"] == expected["session_bars"], label


def demo_bars(symbol: str, *days: date) -> pd.DataFrame:
    return pd.concat([session_bars(symbol, day) for day in days], ignore_index=True)


def test_adapter_matches_independent_recomputation():
    calls = set()
    for symbol, day in [("AAPL", date(2024, 6, 27)), ("TSLA", date(2024, 1, 10))]:
        bars = demo_bars(symbol, day, day + timedelta(days=1))
        for entry in pd.date_range(f"{day} 12:00", f"{day} 23:59", freq="23min"):
            expected = expected_vwap(bars, entry)
            signal = adapter_signal(bars, entry)
            if expected["status"] == "no_data":
                assert signal is None, entry
                calls.add("no_data")
                continue
            assert_matches({**signal.metadata, **vars(signal)}, expected, str(entry))
            assert signal.metadata["session_anchor_time"] == str(expected["session_anchor_time"])
            calls.add(signal.direction)
    assert calls == {"BULLISH", "BEARISH", "NEUTRAL", "no_data"}


def test_regular_open_follows_new_york_daylight_saving_time():
    # EST before the 2024-03-10 switch, EDT from that Sunday on; evening UTC is the same NY day
    assert regular_open_time(pd.Timestamp("2024-03-08 20:00")) == pd.Timestamp("2024-03-08 14:30")
    assert regular_open_time(pd.Timestamp("2024-03-10 20:00")) == pd.Timestamp("2024-03-10 13:30")
    assert regular_open_time(pd.Timestamp("2024-03-11 02:00")) == pd.Timestamp("2024-03-10 13:30")
    assert regular_open_time(pd.Timestamp("2024-11-04 15:00")) == pd.Timestamp("2024-11-04 14:30")


def test_pre_market_zero_volume_and_warm_up_windows():
    times = pd.date_range("2024-06-27 13:00", periods=60, freq="min")  # 09:00-09:59 New York
    rising = pd.DataFrame(
        {"bar_time": times, "close": np.linspace(100, 110, 60), "volume": 1000.0}
    ).assign(high=lambda frame: frame.close + 0.05, low=lambda frame: frame.close - 0.05)
    assert adapter_signal(rising, times[30]) is None  # 09:30: nothing since the open
    assert adapter_signal(rising.assign(volume=0.0), times[45]) is None
    warm_up = adapter_signal(rising, times[34])  # four session bars
    assert (warm_up.direction, warm_up.strength, warm_up.confidence) == ("NEUTRAL", 0, 0)
    trending = adapter_signal(rising, times[-1] + pd.Timedelta(minutes=1))
    assert trending.direction == SignalDirection.BULLISH and trending.strength > 0
    assert trending.metadata["session_bars"] == 30 and trending.confidence == 100
    flat = adapter_signal(rising.assign(close=105.0, high=105.0, low=105.0), times[-1])
    assert flat.direction == SignalDirection.NEUTRAL and flat.metadata["distance_sigma"] is None


def test_adapter_ignores_bars_at_or_after_the_entry():
    checks.assert_blind_after_entry(
        VwapPositionAdapter, adapter_signal, "close", 1e6, datetime(2024, 6, 27, 16, 0)
    )


DEMO_ENTRIES = [
    ("AAPL", "2024-06-27 13:40:00", "LONG"),  # ten minutes after the open
    ("AAPL", "2024-06-27 15:23:00", "SHORT"),
    ("NVDA", "2024-06-27 17:59:00", "LONG"),  # anchored at the lookback start
    ("TSLA", "2024-06-28 08:15:00", "LONG"),  # pre-market: no_data
    ("SPY", "2024-06-28 23:45:00", "SHORT"),  # after hours
    ("MSFT", "2024-01-10 14:45:00", "SHORT"),  # EST: the open is 14:30 UTC
    ("META", "2024-01-10 20:50:00", "LONG"),
]


def test_dbt_models_match_the_adapter(run, settings):
    stored = checks.stored_after_run(run, settings, "vwap_position", DEMO_ENTRIES)

    def also(row, signal) -> None:
        assert str(row.session_anchor_time) == signal.metadata["session_anchor_time"], row.uid
        metadata = json.loads(row.metadata)
        assert metadata["vwap"] == pytest.approx(row.vwap, rel=1e-12), row.uid
        assert metadata["session_bars"] == row.session_bars, row.uid

    checks.assert_models_match_adapter(stored, adapter_signal, assert_matches, also)


LEAN_REQUESTS = [
    ("SPY", "2013-10-07 13:30:00", "LONG"),  # 09:30 EDT: only pre-market bars, no_data
    ("SPY", "2013-10-07 13:45:00", "SHORT"),  # 15 session bars; pre-market excluded
    ("SPY", "2013-10-08 17:12:00", "LONG"),  # anchored at the lookback start
    ("IBM", "2013-10-04 16:40:00", "SHORT"),  # a missing regular-session minute inside
    ("AAPL", "2014-06-09 13:31:00", "LONG"),  # split day, one session bar: warm-up
    ("GOOG", "2015-12-24 18:30:00", "SHORT"),  # EST, after the 13:00 early close
    ("SHY", "2008-03-07 15:10:00", "LONG"),  # EST: the open is 14:30 UTC; illiquid
    ("SHY", "2008-03-10 14:10:00", "SHORT"),  # EDT after the switch: the open is 13:30 UTC
    ("TWX", "2014-06-23 13:40:00", "LONG"),  # only six bars that day
    ("BAC", "2013-10-10 12:00:00", "SHORT"),  # 08:00 EDT: pre-market, no_data
    ("SPY", "2023-08-03 20:30:00", "LONG"),  # 16:30 EDT: after-hours bars count
]


def test_real_lean_bars_match_independent_recomputation(shared_data, run, settings):
    path = shared_data / "lean-algoseek" / "lean_minute_trade_bars_normalized.csv"
    run(requests_frame(*LEAN_REQUESTS), source="files", bars=[path], calculation="vwap_position")
    bars = checks.read_lean_bars(path)
    stored = checks.stored_readings(settings.db_path, "vwap_position").set_index("uid")
    assert len(stored) == len(LEAN_REQUESTS)
    statuses = []
    for uid, row in stored.iterrows():
        expected = expected_vwap(bars[bars.symbol == row.symbol], row.entry_time)
        statuses.append(expected["status"])
        assert row.status == expected["status"], uid
        assert row.session_anchor_time == expected["session_anchor_time"], uid
        assert row.session_bars == expected["session_bars"], uid
        if expected["status"] == "ok":
            assert_matches({**row.to_dict(), "direction": row.signal_direction}, expected, uid)
    assert statuses.count("no_data") == 2
    assert {"BULLISH", "BEARISH", "NEUTRAL"} <= set(stored.signal_direction)
