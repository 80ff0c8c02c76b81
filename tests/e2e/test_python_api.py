"""The seed-style Python API: BacktestConfig, an engine with async run_backtest, the loader."""

from __future__ import annotations

import asyncio

from backtest import BacktestConfig, BacktestEngine, load_all_plugins


def test_run_backtest_and_batch(tmp_path):
    engine = BacktestEngine(tmp_path / "api.duckdb")
    config = BacktestConfig(
        symbol="AAPL", entry_time="2024-06-27 13:35:00", direction="LONG", calculations=["m1_ema"]
    )
    result = asyncio.run(engine.run_backtest(config))
    assert result["uid"] == "AAPL.062724.1335.L"
    assert result["consensus"]["total_calculations"] == 1
    assert result["forward"]["entry_price"] > 0
    batch = asyncio.run(
        engine.run_batch(
            [
                BacktestConfig(symbol="MSFT", entry_time="2024-06-27 15:00:00", direction="SHORT"),
                BacktestConfig(symbol="SPY", entry_time="2024-06-27 16:00:00", direction="LONG"),
            ]
        )
    )
    assert [item["uid"] for item in batch] == ["MSFT.062724.1500.S", "SPY.062724.1600.L"]
    assert "m1_ema" in load_all_plugins()
