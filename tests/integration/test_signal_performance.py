"""bt_signal_performance equals a pandas recomputation from the stored results."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.fixtures import requests_frame


def expected_performance(signals, aggregated, index) -> pd.DataFrame:
    moves = aggregated.merge(index[["uid", "direction"]], on="uid").dropna(subset=["return_60m"])
    side = np.where(moves.direction == "LONG", 1, -1)
    moves = moves.assign(move_60=side * moves.return_60m, move_15=side * moves.return_15m)
    calls = pd.concat(
        [
            signals[signals.status == "ok"][["uid", "calculation", "direction", "strength"]],
            aggregated[aggregated.participating_calculations > 0]
            .assign(calculation="consensus")[
                ["uid", "calculation", "consensus_direction", "average_strength"]
            ]
            .set_axis(["uid", "calculation", "direction", "strength"], axis=1),
        ]
    ).merge(moves[["uid", "move_60", "move_15"]], on="uid")
    rows = []
    for (calculation, direction), group in calls.groupby(["calculation", "direction"]):
        hits = {"BULLISH": (group.move_60 > 0).sum(), "BEARISH": (group.move_60 < 0).sum()}.get(
            direction, 0
        )
        everything = calls[calls.calculation == calculation]
        signed = everything.strength * everything.direction.map(
            {"BULLISH": 1, "BEARISH": -1, "NEUTRAL": 0}
        )
        rows.append(
            {
                "calculation": calculation,
                "call_direction": direction,
                "calls": len(group),
                "hits": hits,
                "hit_rate_pct": 100 * hits / len(group) if direction != "NEUTRAL" else np.nan,
                "mean_price_move_60m_pct": group.move_60.mean(),
                "median_price_move_60m_pct": group.move_60.median(),
                "strength_return_correlation": signed.corr(everything.move_60),
            }
        )
    return pd.DataFrame(rows).set_index(["calculation", "call_direction"]).sort_index()


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
        name: con.sql(f"select * from {name}").df()
        for name in ("bt_signals", "bt_aggregated", "bt_index", "bt_signal_performance")
    }
    con.close()
    expected = expected_performance(
        tables["bt_signals"], tables["bt_aggregated"], tables["bt_index"]
    )
    got = tables["bt_signal_performance"].set_index(["calculation", "call_direction"]).sort_index()
    assert got.index.tolist() == expected.index.tolist()
    assert "consensus" in got.index.get_level_values(0)
    for column in expected.columns:
        np.testing.assert_allclose(
            got[column].astype(float), expected[column].astype(float), rtol=1e-9, err_msg=column
        )
    assert got.hits.sum() > 0 and got.calls.sum() >= len(rows)
    assert got.loc[("consensus", slice(None)), "calls"].sum() == pytest.approx(
        (tables["bt_aggregated"].participating_calculations > 0).sum()
    )
