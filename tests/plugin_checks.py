"""Helpers shared by the plugins' tests."""

from __future__ import annotations

from datetime import datetime

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
