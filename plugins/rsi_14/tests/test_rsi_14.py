"""rsi_14: the adapter against an independent loop of Wilder's recursion, the dbt models against
the adapter on demo bars, and the models against the recomputation on real LEAN/AlgoSeek bars."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from ingest.demo import session_bars
from plugins.base import SignalDirection
from plugins.rsi_14.adapter import Rsi14Adapter
from plugins.rsi_14.plugin import Rsi14Plugin
from tests import plugin_checks as checks
from tests.fixtures import requests_frame

LOOKBACK = 120


def expected_rsi(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK) -> dict:
    """RSI(14) from Wilder's definition with a plain loop (not adapter.py).

    Seed: the mean gain and mean loss of the first 14 close-to-close changes; then
    ``average = (13 * average + current) / 14``; RSI = 100 - 100 / (1 + RS),
    RS = average_gain / average_loss.
    """
    entry = pd.Timestamp(entry_time)
    seen = bars[(bars.bar_time >= entry - timedelta(minutes=lookback)) & (bars.bar_time < entry)]
    closes = seen.sort_values("bar_time").close.astype(float).tolist()
    if not closes:
        return {"status": "no_data", "bars_used": 0}
    reading = {"status": "ok", "bars_used": len(closes), "last_close": closes[-1]}
    if len(closes) < 15:
        return {**reading, "rsi": None, "direction": "NEUTRAL", "strength": 0, "confidence": 0}
    changes = [
        current - previous for previous, current in zip(closes[:-1], closes[1:], strict=True)
    ]
    gains = [max(change, 0.0) for change in changes]
    losses = [max(-change, 0.0) for change in changes]
    average_gain, average_loss = sum(gains[:14]) / 14, sum(losses[:14]) / 14
    for gain, loss in zip(gains[14:], losses[14:], strict=True):
        average_gain = (13 * average_gain + gain) / 14
        average_loss = (13 * average_loss + loss) / 14
    if average_loss == 0:
        rsi = 50.0 if average_gain == 0 else 100.0
    else:
        rsi = 100 - 100 / (1 + average_gain / average_loss)
    if rsi > 70:
        direction, strength = "BEARISH", min(100.0, 5 * (rsi - 70))
    elif rsi < 30:
        direction, strength = "BULLISH", min(100.0, 5 * (30 - rsi))
    else:
        direction, strength = "NEUTRAL", 0.0
    settled = 1 - (13 / 14) ** (len(closes) - 15)
    confidence = 100 * min(1.0, len(closes) / lookback) * settled
    return {
        **reading,
        "rsi": rsi,
        "average_gain": average_gain,
        "average_loss": average_loss,
        "direction": direction,
        "strength": strength,
        "confidence": confidence,
    }


def adapter_signal(bars: pd.DataFrame, entry_time: datetime, lookback: int = LOOKBACK):
    return checks.run_adapter(Rsi14Plugin, bars, entry_time, lookback)


def assert_matches(got: dict, expected: dict, label: str) -> None:
    """Compare stored or adapter readings with the recomputation (calls to the cent)."""
    checks.assert_call_matches(got, expected, label)
    assert got["bars_used"] == expected["bars_used"], label
    assert got["last_close"] == pytest.approx(expected["last_close"], rel=1e-12), label
    if expected["rsi"] is None:
        assert got["rsi"] is None or pd.isna(got["rsi"]), label
        return
    assert got["rsi"] == pytest.approx(expected["rsi"], rel=1e-9, abs=1e-9), label
    for key in ["average_gain", "average_loss"]:
        assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), (label, key)


def closes_frame(closes: list[float], start: str = "2024-06-27 14:00") -> pd.DataFrame:
    times = pd.date_range(start, periods=len(closes), freq="min")
    return pd.DataFrame({"bar_time": times, "close": closes})


def test_adapter_matches_independent_recomputation():
    calls = set()
    for symbol in ["AAPL", "TSLA", "NVDA"]:
        bars = session_bars(symbol, date(2024, 6, 27))
        for entry in pd.date_range("2024-06-27 08:30", "2024-06-27 23:59", freq="11min"):
            expected = expected_rsi(bars, entry)
            signal = adapter_signal(bars, entry)
            if expected["status"] == "no_data":
                assert signal is None, entry
                continue
            assert_matches({**signal.metadata, **vars(signal)}, expected, f"{symbol} {entry}")
            calls.add(signal.direction)
    assert calls == {"BULLISH", "BEARISH", "NEUTRAL"}


def test_seed_is_the_mean_of_the_first_14_changes():
    # a drop of 14, then 13 rises of 1: mean gain 13/14, mean loss 1, so RS = 13/14
    signal = adapter_signal(closes_frame([100.0, *range(86, 99 + 1)]), datetime(2024, 6, 27, 15))
    assert signal.metadata["rsi"] == pytest.approx(100 * 13 / 27, rel=1e-12)
    assert signal.direction == SignalDirection.NEUTRAL  # seeded with the first change: ~10.4


def test_warm_up_flat_and_one_sided_closes():
    entry = datetime(2024, 6, 27, 15)
    warm_up = adapter_signal(closes_frame([float(x) for x in range(100, 114)]), entry)
    assert (warm_up.direction, warm_up.strength, warm_up.confidence) == ("NEUTRAL", 0, 0)
    assert warm_up.metadata["rsi"] is None and warm_up.metadata["bars_used"] == 14
    rising = adapter_signal(closes_frame([float(x) for x in range(100, 130)]), entry)
    assert rising.metadata["rsi"] == 100 and rising.direction == SignalDirection.BEARISH
    assert rising.strength == 100
    falling = adapter_signal(closes_frame([float(x) for x in range(130, 100, -1)]), entry)
    assert falling.metadata["rsi"] == 0 and falling.direction == SignalDirection.BULLISH
    flat = adapter_signal(closes_frame([42.0] * 30), entry)
    assert flat.metadata["rsi"] == 50 and flat.direction == SignalDirection.NEUTRAL
    assert adapter_signal(closes_frame([]), entry) is None


def test_adapter_ignores_bars_at_or_after_the_entry():
    checks.assert_blind_after_entry(
        Rsi14Adapter, adapter_signal, "close", 1e6, datetime(2024, 6, 27, 16, 0)
    )


DEMO_ENTRIES = [
    ("AAPL", "2024-06-27 13:40:00", "LONG"),
    ("AAPL", "2024-06-27 15:23:00", "SHORT"),
    ("NVDA", "2024-06-27 17:59:00", "LONG"),
    ("TSLA", "2024-06-28 08:15:00", "LONG"),  # sparse pre-market: warm-up
    ("TSLA", "2024-06-28 06:00:00", "LONG"),  # 02:00 New York: no bars, no_data
    ("SPY", "2024-06-28 19:45:00", "SHORT"),
    ("MSFT", "2024-01-10 14:45:00", "SHORT"),
]


def test_dbt_models_match_the_adapter(run, settings):
    stored = checks.stored_after_run(run, settings, "rsi_14", DEMO_ENTRIES)
    checks.assert_models_match_adapter(stored, adapter_signal, assert_matches)


LEAN_REQUESTS = [
    ("SPY", "2013-10-07 13:30:00", "LONG"),  # 09:30 EDT: the pre-market bars only
    ("SPY", "2013-10-08 17:12:00", "SHORT"),
    ("SPY", "2013-10-09 19:30:00", "LONG"),
    ("IBM", "2013-10-04 16:40:00", "SHORT"),  # a missing regular-session minute inside
    ("AAPL", "2014-06-09 13:31:00", "SHORT"),  # split day, raw prices: overbought pre-market
    ("AAPL", "2014-06-09 13:45:00", "LONG"),
    ("GOOG", "2015-12-24 18:30:00", "SHORT"),  # after the 13:00 early close: sparse prints
    ("SHY", "2008-03-10 14:10:00", "LONG"),  # illiquid, many missing minutes
    ("TWX", "2014-06-23 13:40:00", "SHORT"),  # only six bars: warm-up
    ("BAC", "2013-10-10 15:02:00", "LONG"),
    ("SPY", "2023-08-03 20:30:00", "SHORT"),
]


@pytest.mark.parametrize("lookback_hours", [2, 48])
def test_real_lean_bars_match_independent_recomputation(shared_data, run, settings, lookback_hours):
    path = shared_data / "lean-algoseek" / "lean_minute_trade_bars_normalized.csv"
    run(
        requests_frame(*LEAN_REQUESTS),
        source="files",
        bars=[path],
        calculation="rsi_14",
        lookback_hours=lookback_hours,
    )
    bars = checks.read_lean_bars(path)
    stored = checks.stored_readings(settings.db_path, "rsi_14").set_index("uid")
    assert len(stored) == len(LEAN_REQUESTS)
    for uid, row in stored.iterrows():
        expected = expected_rsi(
            bars[bars.symbol == row.symbol], row.entry_time, 60 * lookback_hours
        )
        assert row.status == expected["status"], uid
        assert row.bars_used == expected["bars_used"], uid
        if expected["status"] == "ok":
            assert_matches({**row.to_dict(), "direction": row.signal_direction}, expected, uid)
    assert stored.bars_used.max() > (1000 if lookback_hours == 48 else 100)
    assert stored.signal_direction.isin(["BULLISH", "BEARISH"]).any()
