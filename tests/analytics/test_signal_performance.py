"""bt_signal_performance equals an independent pandas recomputation on real bars: every column
of every row (calculation, call direction, horizon): hits and Wilson intervals, the baseline
and the edge over it, means and medians, the Spearman rank IC and the sample note."""

from __future__ import annotations

from backtest.core.config import HORIZONS
from tests.analytics.reference import (
    MIN_CALLS,
    PERFORMANCE_COLUMNS,
    assert_frames_match,
    expected_performance,
)

KEY = ["calculation", "call_direction", "horizon_minutes"]


def test_every_row_and_column_equals_pandas(stored):
    got = stored["bt_signal_performance"]
    assert list(got.columns) == PERFORMANCE_COLUMNS
    expected = expected_performance(
        stored["bt_signals"], stored["bt_aggregated"], stored["bt_index"]
    )
    compared = assert_frames_match(got, expected, KEY)

    assert compared == len(got) and set(got.horizon_minutes) == set(HORIZONS)
    assert {"consensus", "m1_ema", "vwap_position"} <= set(got.calculation)
    assert set(got.call_direction) == {"BULLISH", "BEARISH", "NEUTRAL"}
    directional = got[got.call_direction != "NEUTRAL"]
    assert directional.hit_rate_ci_low_pct.notna().all() and directional.edge_pct.notna().all()
    assert (directional.hits > 0).any() and (directional.edge_pct > 0).any()
    assert (directional.edge_pct < 0).any()
    assert got[got.call_direction == "NEUTRAL"].hit_rate_pct.isna().all()
    assert got.rank_ic.notna().any() and got.median_price_move_pct.notna().all()
    few = got.calls < MIN_CALLS
    assert few.any() and (~few).any() and got.sample_note.isna().tolist() == (~few).tolist()


def test_rank_ic_is_the_pearson_correlation_of_average_ranks(stored):
    """The same figure by the definition: Pearson correlation of pandas' average ranks."""
    signals = stored["bt_signals"]
    calls = signals[(signals.status == "ok") & (signals.calculation == "m1_ema")]
    aggregated = stored["bt_aggregated"].merge(stored["bt_index"][["uid", "direction"]], on="uid")
    side = aggregated.direction.map({"LONG": 1, "SHORT": -1})
    moves = (aggregated.return_60m * side).set_axis(aggregated.uid).dropna()
    scored = calls.assign(move=calls.uid.map(moves)).dropna(subset=["move"])
    signed = scored.strength * scored.direction.map({"BULLISH": 1, "BEARISH": -1, "NEUTRAL": 0})
    by_ranks = signed.rank(method="average").corr(scored.move.rank(method="average"))
    performance = stored["bt_signal_performance"]
    stored_ic = performance[
        (performance.calculation == "m1_ema") & (performance.horizon_minutes == 60)
    ].rank_ic
    assert stored_ic.nunique() == 1 and len(stored_ic) >= 2
    assert abs(stored_ic.iloc[0] - by_ranks) < 1e-12
    assert signed.duplicated().any()  # ties: the average ranks matter
