"""m1_ema: the per-entry adapter against pandas, and the dbt models against the adapter."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from ingest.demo import session_bars
from plugins.base import SignalDirection
from plugins.m1_ema.adapter import M1EmaAdapter
from plugins.m1_ema.plugin import M1EmaPlugin
from tests.plugin_checks import assert_blind_after_entry, run_adapter, stored_after_run
from tests.reference import expected_emas


def adapter_signal(bars: pd.DataFrame, entry_time: datetime, lookback_minutes: int = 120):
    return run_adapter(M1EmaPlugin, bars, entry_time, lookback_minutes)


def test_adapter_matches_pandas_reference():
    bars = session_bars("AAPL", date(2024, 6, 27))
    for entry in pd.date_range("2024-06-27 14:00", "2024-06-27 19:00", freq="37min"):
        signal = adapter_signal(bars, entry)
        reference = expected_emas(bars, entry, 120)
        assert signal.metadata["ema_9"] == pytest.approx(reference["ema_9"], rel=1e-12)
        assert signal.metadata["ema_21"] == pytest.approx(reference["ema_21"], rel=1e-12)
        assert signal.direction == reference["direction"]
        assert 0 <= signal.strength <= 100 and 0 <= signal.confidence <= 100


def test_warm_up_and_flat_prices_are_neutral():
    times = pd.date_range("2024-01-02 15:00", periods=30, freq="min")
    rising = pd.DataFrame({"bar_time": times, "close": range(100, 130)})
    assert adapter_signal(rising.head(20), times[20]).direction == SignalDirection.NEUTRAL
    assert adapter_signal(rising, times[-1] + pd.Timedelta(minutes=1)).direction == "BULLISH"
    flat = rising.assign(close=101.25)
    signal = adapter_signal(flat, times[-1] + pd.Timedelta(minutes=1))
    assert signal.direction == SignalDirection.NEUTRAL and signal.strength == 0
    assert adapter_signal(rising.head(0), times[0]) is None


def test_adapter_ignores_bars_at_or_after_the_entry():
    assert_blind_after_entry(
        M1EmaAdapter, adapter_signal, "close", 1e6, datetime(2024, 6, 27, 16, 0)
    )


def test_dbt_models_match_the_adapter(run, settings):
    entries = [
        ("AAPL", "2024-06-27 13:40:00", "LONG"),
        ("AAPL", "2024-06-27 15:23:00", "SHORT"),
        ("NVDA", "2024-06-27 17:59:00", "LONG"),
        ("TSLA", "2024-06-28 08:15:00", "LONG"),
        ("SPY", "2024-06-28 19:45:00", "SHORT"),
    ]
    stored = stored_after_run(run, settings, "m1_ema", entries)
    compared = 0
    for row in stored.itertuples():
        bars = pd.concat(
            [
                session_bars(row.symbol, day)
                for day in {row.entry_time.date(), (row.entry_time - pd.Timedelta(hours=2)).date()}
            ]
        )
        signal = adapter_signal(bars, row.entry_time)
        assert row.signal_direction == signal.direction, row.uid
        assert row.strength == pytest.approx(signal.strength, abs=0.01), row.uid
        assert row.confidence == pytest.approx(signal.confidence, abs=0.01), row.uid
        assert row.bars_used == signal.metadata["bars_used"], row.uid
        expected_minutes = signal.metadata["minutes_since_crossover"]
        assert (None if pd.isna(row.minutes_since_crossover) else row.minutes_since_crossover) == (
            expected_minutes
        ), row.uid
        compared += 1
    assert compared == len(entries)
