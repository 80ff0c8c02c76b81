"""Adapters that run per entry vote and get their bt_<name> table, shaped by the storage mapping.

Two ways in: a ported seed plugin folder with ``runs = "adapter"`` (found via
BACKTEST_PLUGIN_DIRS) and an adapter registered on a BacktestEngine (``register_adapter``).
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from datetime import datetime

import duckdb
import pandas as pd
import pytest

from backtest.api import BacktestConfig, BacktestEngine
from plugins.base import BarsAdapter, SignalDirection, StandardSignal
from plugins.loader import PluginError, load_all_plugins
from tests.fixtures import requests_frame

REQUESTS = requests_frame(
    ("AAPL", "2024-06-27 14:00:00", "LONG"),
    ("MSFT", "2024-06-27 15:00:00", "SHORT"),
    ("NVDA", "2024-06-27 16:00:00", "LONG"),
)
PLUGIN = """
from __future__ import annotations

from plugins.base import BacktestPlugin, BarsAdapter, SignalDirection, StandardSignal


class DriftAdapter(BarsAdapter):
    def get_signal_at_time(self, entry_time):
        bars = self.bars_before(entry_time)
        if bars.empty:
            return None
        drift = float(bars.close.iloc[-1] - bars.close.iloc[0])
        return StandardSignal(
            name="drift_mapped",
            timestamp=entry_time,
            direction=SignalDirection.BULLISH if drift > 0 else SignalDirection.BEARISH,
            strength=min(100.0, abs(drift) * 10),
            confidence=50.0,
            metadata={"last_close": float(bars.close.iloc[-1]), "bars_seen": len(bars),
                      "trend": "up" if drift > 0 else "down"},
        )


class DriftMappedPlugin(BacktestPlugin):
    name = "drift_mapped"
    version = "0.0.1"
    adapter_class = DriftAdapter
    runs = "adapter"

    def get_storage_mapping(self):
        return {
            "last_close": "metadata.last_close",
            "bars_seen": "metadata.bars_seen",
            "trend": "metadata.trend",
            "signal_time": "signal_time",
        }
"""


@pytest.fixture
def ported_plugin(tmp_path, monkeypatch):
    """A seed-style plugin folder that runs only as a per-entry adapter (no models)."""
    folder = tmp_path / "extra_plugins" / "drift_mapped"
    folder.mkdir(parents=True)
    (folder / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(folder.parent))
    return folder


def table(settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        return con.sql(sql).df()


def test_a_ported_adapter_plugin_gets_its_table_from_the_mapping(ported_plugin, run, settings):
    plugin = load_all_plugins()["drift_mapped"]
    assert (plugin.storage_table, plugin.adapter_name) == ("bt_drift_mapped", "DriftAdapter")
    run(REQUESTS, calculation="drift_mapped,m1_ema")
    first = table(settings, "select * from bt_drift_mapped order by uid")
    columns = table(settings, "describe bt_drift_mapped").set_index("column_name").column_type
    assert columns.to_dict() == {
        "uid": "VARCHAR",
        "signal_direction": "VARCHAR",
        "strength": "DOUBLE",
        "confidence": "DOUBLE",
        "last_close": "DOUBLE",
        "bars_seen": "BIGINT",
        "trend": "VARCHAR",
        "signal_time": "TIMESTAMP",
        "status": "VARCHAR",
    }
    signals = table(
        settings, "select * from bt_signals where calculation = 'drift_mapped' order by uid"
    )
    assert first.uid.tolist() == signals.uid.tolist() == sorted(REQUESTS.pipe(_uids))
    assert (first.status == "ok").all()
    assert first.signal_direction.tolist() == signals.direction.tolist()
    metadata = signals.metadata.map(json.loads)
    assert first.last_close.tolist() == [entry["last_close"] for entry in metadata]
    assert first.bars_seen.tolist() == [entry["bars_seen"] for entry in metadata]
    assert first.trend.tolist() == [entry["trend"] for entry in metadata]

    run(REQUESTS, calculation="drift_mapped,m1_ema")  # re-submitted: rebuilt, replaced
    again = table(settings, "select * from bt_drift_mapped order by uid")
    pd.testing.assert_frame_equal(again, first)

    run(REQUESTS.iloc[[0]], calculation="m1_ema")  # no longer runs the plugin: loses its row
    narrowed = table(settings, "select uid from bt_drift_mapped order by uid").uid.tolist()
    assert narrowed == sorted(REQUESTS.pipe(_uids))[1:]

    with duckdb.connect(str(settings.db_path)) as con:  # a refresh that never committed
        con.execute("delete from raw.adapter_table_refreshes")
    run(REQUESTS.iloc[[1]], calculation="drift_mapped", full_refresh=True)
    refreshed = table(settings, "select * from bt_drift_mapped order by uid")
    pd.testing.assert_frame_equal(refreshed, first.iloc[1:].reset_index(drop=True))


def _uids(frame: pd.DataFrame) -> list[str]:
    return [
        f"{row.symbol}.{pd.Timestamp(row.entry_time):%m%d%y.%H%M}.{row.direction[0]}"
        for row in frame.itertuples()
    ]


def test_a_bad_storage_mapping_is_explained(tmp_path, monkeypatch):
    folder = tmp_path / "bad_plugins" / "drift_badmap"  # a new module name: imports are cached
    folder.mkdir(parents=True)
    source = textwrap.dedent(PLUGIN).replace("drift_mapped", "drift_badmap")
    (folder / "plugin.py").write_text(source.replace('"metadata.trend"', '"trend_of_metadata"'))
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(folder.parent))
    with pytest.raises(PluginError, match="maps trend to 'trend_of_metadata'"):
        load_all_plugins()


class OpeningRangeAdapter(BarsAdapter):
    """BULLISH when the last close is above the first bar's high, else BEARISH."""

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        bars = self.bars_before(entry_time)
        if bars.empty:
            return None
        above = bool(bars.close.iloc[-1] > bars.high.iloc[0])
        return StandardSignal(
            name="opening_range",
            timestamp=entry_time,
            direction=SignalDirection.BULLISH if above else SignalDirection.BEARISH,
            strength=70.0,
            confidence=60.0,
            metadata={"first_high": float(bars.high.iloc[0]), "bars_seen": len(bars)},
        )


def test_a_registered_adapter_votes(settings):
    from plugins.m1_ema.adapter import M1EmaAdapter

    engine = BacktestEngine()
    engine.register_adapter("m1_ema", M1EmaAdapter())
    engine.register_adapter("opening_range", OpeningRangeAdapter({"lookback_minutes": 60}))
    configs = [
        BacktestConfig(symbol=row.symbol, entry_time=row.entry_time, direction=row.direction)
        for row in REQUESTS.itertuples()
    ]
    results = asyncio.run(engine.run_batch(configs))
    for result in results:
        by_name = {signal["calculation"]: signal for signal in result["signals"]}
        assert set(by_name) == {"m1_ema", "opening_range"}
        assert by_name["opening_range"]["status"] == "ok"
        assert by_name["opening_range"]["strength"] == 70.0
        assert 0 < by_name["opening_range"]["metadata"]["bars_seen"] <= 60  # its own config
        assert result["consensus"]["total_calculations"] == 2
        assert result["consensus"]["participating_calculations"] == 2
    stored = table(settings, "select * from bt_opening_range order by uid")
    assert stored.columns.tolist() == [
        "uid",
        "signal_direction",
        "strength",
        "confidence",
        "status",
    ]
    assert stored.uid.tolist() == sorted(result["uid"] for result in results)
    assert "opening_range" not in load_all_plugins()  # registered for that engine's runs only
