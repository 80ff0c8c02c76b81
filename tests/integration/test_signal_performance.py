"""bt_signal_performance equals a pandas recomputation from the stored results, on demo bars
(the real-bar comparison is tests/analytics/test_signal_performance.py): one row per
calculation, call direction and horizon, every column."""

from __future__ import annotations

import duckdb
import pandas as pd

from backtest.core.config import HORIZONS
from tests.analytics.reference import assert_frames_match, expected_performance
from tests.fixtures import requests_frame


def test_signal_performance_matches_pandas(run, settings):
    times = pd.date_range("2024-06-27 13:40", "2024-06-27 19:40", freq="47min")
    rows = [
        (symbol, str(time), side)
        for symbol in ("AAPL", "NVDA", "SPY")
        for time in times
        for side in ("LONG", "SHORT")
    ]
    run(requests_frame(*rows))
    con = duckdb.connect(str(settings.db_path), read_only=True)
    tables = {
        name: con.execute(f"select * from {name}").df()
        for name in ("bt_signals", "bt_aggregated", "bt_index", "bt_signal_performance")
    }
    con.close()
    expected = expected_performance(
        tables["bt_signals"], tables["bt_aggregated"], tables["bt_index"]
    )
    got = tables["bt_signal_performance"]
    compared = assert_frames_match(
        got, expected, ["calculation", "call_direction", "horizon_minutes"]
    )
    assert compared == len(got) and set(got.horizon_minutes) == set(HORIZONS)
    assert "consensus" in set(got.calculation)
    assert got.hits.sum() > 0 and got.rank_ic.notna().any()
    consensus = got[(got.calculation == "consensus") & (got.horizon_minutes == 60)]
    assert consensus.calls.sum() == (tables["bt_aggregated"].participating_calculations > 0).sum()
