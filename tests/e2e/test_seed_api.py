"""The seed's programmatic usage, as written, with only the module paths adapted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import duckdb
import pytest

from backtest.api import BacktestConfig, BacktestEngine
from backtest.core.errors import BacktestError
from ingest.managers import DemoDataManager, FileDataManager, PolygonDataManager
from plugins.loader import PluginLoader, PluginRegistry


async def seed_example(data_manager) -> dict:
    """The seed's example: load plugins, build the engine, register adapters, run one config."""
    loader = PluginLoader()
    plugins = loader.load_all_plugins()
    registry = loader.get_registry()

    engine = BacktestEngine(data_manager=data_manager, plugin_registry=registry)
    for adapter_name, adapter_config in loader.get_adapter_configs().items():
        adapter = adapter_config["adapter_class"](adapter_config["config"])
        engine.register_adapter(adapter_name, adapter)

    config = BacktestConfig(
        symbol="AAPL",
        entry_time=datetime(2024, 6, 27, 13, 35, tzinfo=UTC),
        direction="LONG",
        historical_lookback_hours=2,
        forward_bars=60,
        enabled_calculations=[],  # empty = all
        store_to_supabase=False,
    )
    result = await engine.run_backtest(config)
    assert set(plugins) == set(registry)
    return result


def test_the_seed_example_runs_as_written(settings):
    result = asyncio.run(seed_example(DemoDataManager()))
    assert result["uid"] == "AAPL.062724.1335.L"
    enabled = PluginLoader().get_adapter_configs()
    assert {signal["calculation"] for signal in result["signals"]} == set(enabled)
    assert result["consensus"]["total_calculations"] == len(enabled) == 5
    assert result["forward"]["entry_price"] > 0
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        stored = con.sql("select calculations from raw.requests").fetchall()
    assert stored == [(",".join(sorted(enabled)),)]


def test_loader_registry_and_adapter_configs():
    loader = PluginLoader()
    plugins = loader.load_all_plugins()
    registry = loader.get_registry()
    assert isinstance(registry, PluginRegistry)
    assert registry["m1_ema"] is plugins["m1_ema"]
    assert registry.find("M1EmaAdapter") is plugins["m1_ema"]
    entry = loader.get_adapter_configs()["m1_ema"]
    assert entry["adapter_class"].__name__ == entry["adapter_name"] == "M1EmaAdapter"
    assert entry["storage_table"] == "bt_m1_ema" and entry["config"] == {}


def test_data_managers_name_their_source_and_options(tmp_path):
    assert DemoDataManager().source_options().allow_synthetic is False
    files = FileDataManager([tmp_path / "bars.csv"], quotes=[tmp_path / "quotes.csv"])
    assert files.source == "files" and files.bar_paths == (tmp_path / "bars.csv",)
    assert files.source_options().tick_files == {"quotes": (str(tmp_path / "quotes.csv"),)}
    polygon = PolygonDataManager(api_key="secret", base_url="http://127.0.0.1:9")
    assert polygon.source_options().polygon.api_key == "secret"
    assert "secret" not in repr(polygon)


def test_the_seed_config_and_the_earlier_names_agree():
    seed = BacktestConfig("AAPL", "2024-06-27 13:35:00", enabled_calculations=["m1_ema"])
    earlier = BacktestConfig("AAPL", "2024-06-27 13:35:00", calculations="m1_ema")
    assert seed.calculation_selection == earlier.calculation_selection == "m1_ema"
    assert BacktestConfig("AAPL", "2024-06-27 13:35:00").calculation_selection == "all"
    assert BacktestConfig("AAPL", "2024-06-27 13:35:00", store_supabase=True).store_to_supabase
    with pytest.raises(BacktestError, match="names calculations twice"):
        BacktestConfig("A", "2024-06-27 13:35:00", enabled_calculations=["a"], calculations="b")


def test_a_plugin_adapter_must_be_the_plugin_own():
    from plugins.m1_ema.adapter import M1EmaAdapter
    from plugins.rsi_14.adapter import Rsi14Adapter

    engine = BacktestEngine()
    with pytest.raises(BacktestError, match="register this adapter under a new name"):
        engine.register_adapter("m1_ema", Rsi14Adapter())
    with pytest.raises(BacktestError, match="runs set-based in dbt"):
        engine.register_adapter("m1_ema", M1EmaAdapter({"lookback_minutes": 30}))
    with pytest.raises(BacktestError, match="is not allowed"):
        engine.register_adapter("Not A Name", M1EmaAdapter())
