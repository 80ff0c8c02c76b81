"""Helpers shared by the plugins' tests."""

from __future__ import annotations

from datetime import datetime

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
