"""A plugin that raises, hangs or answers nonsense for some entries fails those entries only."""

from __future__ import annotations

import json

import duckdb
import pytest

from backtest.core.config import PROJECT_ROOT
from tests.fixtures import requests_frame

REQUESTS = requests_frame(
    ("AAPL", "2024-06-27 15:00:00", "LONG"),  # fine
    ("MSFT", "2024-06-27 15:00:00", "SHORT"),  # raises
    ("TSLA", "2024-06-27 15:00:00", "LONG"),  # hangs past the timeout
    ("NVDA", "2024-06-27 15:00:00", "LONG"),  # returns a dict
    ("SPY", "2024-06-27 15:00:00", "SHORT"),  # returns None
)


@pytest.fixture
def with_flaky_plugin(monkeypatch):
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(PROJECT_ROOT / "tests" / "plugin_fixtures"))


def results(settings) -> dict[str, dict]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    frames = {
        "signals": con.sql("select * from bt_signals order by uid, calculation").df(),
        "aggregated": con.sql("select * from bt_aggregated order by uid").df(),
    }
    con.close()
    return frames


def test_failures_stay_with_their_entries(with_flaky_plugin, run, settings, tmp_path, monkeypatch):
    run(REQUESTS, calculation="m1_ema,flaky_adapter")
    with_flaky = results(settings)
    signals = with_flaky["signals"].set_index(["uid", "calculation"])
    flaky = signals.xs("flaky_adapter", level="calculation")
    assert flaky.status.to_dict() == {
        "AAPL.062724.1500.L": "ok",
        "MSFT.062724.1500.S": "failed",
        "NVDA.062724.1500.L": "failed",
        "SPY.062724.1500.S": "no_data",
        "TSLA.062724.1500.L": "failed",
    }
    assert "RuntimeError: division by zero" in flaky.error["MSFT.062724.1500.S"]
    assert "AdapterTimeout: no answer within 0.5 s" in flaky.error["TSLA.062724.1500.L"]
    assert "returned dict, not a StandardSignal" in flaky.error["NVDA.062724.1500.L"]
    assert flaky.loc["AAPL.062724.1500.L", "direction"] == "BEARISH"
    m1_ema = signals.xs("m1_ema", level="calculation")
    bars_used = json.loads(m1_ema.metadata["AAPL.062724.1500.L"])["bars_used"]
    assert json.loads(flaky.metadata["AAPL.062724.1500.L"]) == {"bars_seen": bars_used}

    aggregated = with_flaky["aggregated"].set_index("uid")
    assert (aggregated.total_calculations == 2).all()
    assert aggregated.participating_calculations.to_dict() == {
        "AAPL.062724.1500.L": 2,
        "MSFT.062724.1500.S": 1,
        "NVDA.062724.1500.L": 1,
        "SPY.062724.1500.S": 1,
        "TSLA.062724.1500.L": 1,
    }

    monkeypatch.setenv("BACKTEST_DB", str(tmp_path / "alone.duckdb"))
    from backtest.core.config import Settings

    alone_settings = Settings.from_env()
    from backtest.core.requests import RunOptions
    from backtest.engine import run_requests

    run_requests(alone_settings, REQUESTS, RunOptions(), calculation="m1_ema", show_progress=False)
    alone = results(alone_settings)
    m1_with = with_flaky["signals"].query("calculation == 'm1_ema'").reset_index(drop=True)
    m1_alone = alone["signals"].reset_index(drop=True)
    assert m1_with.astype(str).equals(m1_alone.astype(str))
    forward = ["entry_price", "exit_price", "pnl", "max_favorable_excursion", "return_60m"]
    assert with_flaky["aggregated"][forward].equals(alone["aggregated"][forward])
    unaffected = ["MSFT.062724.1500.S", "NVDA.062724.1500.L", "TSLA.062724.1500.L"]
    both = with_flaky["aggregated"].set_index("uid").loc[unaffected, "consensus_direction"]
    assert both.equals(alone["aggregated"].set_index("uid").loc[unaffected, "consensus_direction"])
