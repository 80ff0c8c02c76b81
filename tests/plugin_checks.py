"""Helpers shared by the plugins' tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from plugins.base import BacktestPlugin, StandardSignal


def run_adapter(
    plugin: type[BacktestPlugin],
    bars: pd.DataFrame,
    entry_time: datetime,
    lookback_minutes: int = 120,
) -> StandardSignal | None:
    """A plugin's per-entry adapter fed, as the engine does, the bars of its lookback window."""
    adapter = plugin().create_adapter()
    adapter.config["lookback_minutes"] = lookback_minutes
    adapter.initialize()
    start = pd.Timestamp(entry_time) - pd.Timedelta(minutes=lookback_minutes)
    adapter.feed_historical_data(bars[(bars.bar_time >= start) & (bars.bar_time < entry_time)])
    return adapter.get_signal_at_time(entry_time)


def assert_blind_after_entry(
    adapter_class, adapter_signal, column: str, value: float, entry: datetime
) -> None:
    """Changing ``column`` to ``value`` on every bar at or after ``entry`` (demo MSFT bars of
    27 June 2024) leaves the adapter's signal as it was: it never looks ahead."""
    from ingest.demo import session_bars

    bars = session_bars("MSFT", entry.date())
    before = adapter_signal(bars, entry)
    adapter = adapter_class()
    adapter.initialize()
    later = bars.bar_time >= entry
    adapter.feed_historical_data(bars.assign(**{column: bars[column].where(~later, value)}))
    assert adapter.get_signal_at_time(entry) == before


def assert_call_matches(got: dict, expected: dict, label: str) -> None:
    """The call of a stored or adapter reading equals the recomputation's, to the cent."""
    import pytest

    assert got["direction"] == expected["direction"], label
    assert got["strength"] == pytest.approx(expected["strength"], abs=0.01), label
    assert got["confidence"] == pytest.approx(expected["confidence"], abs=0.01), label


def stored_after_run(run, settings, plugin: str, entries: list[tuple[str, str, str]]):
    """Run ``entries`` with only ``plugin`` and return its stored readings, one per entry."""
    frame = pd.DataFrame(entries, columns=["symbol", "entry_time", "direction"])
    run(frame, calculation=plugin)
    stored = stored_readings(settings.db_path, plugin)
    assert len(stored) == len(entries)
    return stored


def stored_readings(db_path, plugin: str) -> pd.DataFrame:
    """A plugin's bt_<plugin> rows with the request's symbol and entry time and its signal row."""
    con = duckdb.connect(str(db_path), read_only=True)
    stored = con.sql(f"""
        select results.*, bt_index.symbol, bt_index.entry_time,
               signals.direction, signals.metadata, signals.status as signal_status
        from bt_{plugin} as results
        inner join bt_index using (uid)
        inner join bt_signals as signals
            on signals.uid = results.uid and signals.calculation = '{plugin}'
    """).df()
    con.close()
    return stored


def read_lean_bars(path) -> pd.DataFrame:
    """The normalized LEAN CSV (ISO stamps with a New York offset) as naive-UTC bars, read with
    plain pandas (independently of the project's file loader)."""
    raw = pd.read_csv(path)
    stamps = pd.to_datetime(raw.timestamp, utc=True).dt.tz_localize(None)
    return raw.assign(bar_time=stamps).drop(columns="timestamp")


def demo_bars_around(symbol: str, entry_time: pd.Timestamp) -> pd.DataFrame:
    """The synthetic demo bars of the entry's day and the day before (a lookback may cross)."""
    from ingest.demo import session_bars

    day = entry_time.date()
    return pd.concat(
        [session_bars(symbol, day - timedelta(days=1)), session_bars(symbol, day)],
        ignore_index=True,
    )


def assert_models_match_adapter(
    stored: pd.DataFrame,
    adapter_signal: Callable[[pd.DataFrame, datetime], StandardSignal | None],
    assert_matches: Callable[[dict, dict, str], None],
    also: Callable[[object, StandardSignal], None] | None = None,
) -> None:
    """Every stored reading (``stored_readings``) equals the adapter's on the same demo bars.

    ``assert_matches(stored, expected, label)`` compares one reading; ``also(row, signal)``
    adds a plugin's own checks. Both no_data and ok readings must occur, and at least one ok
    reading must be compared.
    """
    assert len(stored), "no stored reading to compare"
    compared = 0
    for row in stored.itertuples():
        signal = adapter_signal(demo_bars_around(row.symbol, row.entry_time), row.entry_time)
        assert row.status == row.signal_status, row.uid
        if signal is None:
            assert row.status == "no_data" and pd.isna(row.signal_direction), row.uid
            continue
        assert row.status == "ok", row.uid
        stored_reading = {**row._asdict(), "direction": row.signal_direction}
        assert_matches(stored_reading, {**signal.metadata, **vars(signal)}, row.uid)
        if also is not None:
            also(row, signal)
        compared += 1
    assert compared > 0, "no ok reading was compared with the adapter"
    assert set(stored.status) == {"ok", "no_data"}
