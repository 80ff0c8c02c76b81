"""Independent pandas recomputations of the analytics marts, written from their definitions
(README, models/marts/_marts.yml), not from the SQL: plain groupby statistics, the 95% normal
quantile from the standard library, Wilson intervals from scipy's ``binomtest`` and Spearman
correlations from pandas' ``corr(method="spearman")``."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from backtest.core.config import HORIZONS, project_vars
from tests.reference import expected_status, expected_window

Z = NormalDist().inv_cdf(0.975)  # 1.959963984540054
MIN_CALLS = project_vars()["backtest_min_calls"]
LOOKBACK_MINUTES = 120
SIGN = {"LONG": 1, "SHORT": -1}
CALL_SIGN = {"BULLISH": 1, "BEARISH": -1, "NEUTRAL": 0}
EVENT_PATH_COLUMNS = [
    "group_kind", "group_value", "bar_offset", "entries", "mean_return_pct", "median_return_pct",
    "stddev_return_pct", "ci_low_pct", "ci_high_pct", "share_positive_pct",
]  # fmt: skip
PERFORMANCE_COLUMNS = [
    "calculation", "call_direction", "horizon_minutes", "calls", "hits", "hit_rate_pct",
    "hit_rate_ci_low_pct", "hit_rate_ci_high_pct", "baseline_entries", "share_rising_pct",
    "baseline_hit_rate_pct", "edge_pct", "mean_price_move_pct", "median_price_move_pct",
    "mean_strength", "rank_ic", "ic_entries", "sample_note",
]  # fmt: skip


def request_windows(index: pd.DataFrame, bars: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each request's 75-bar window rebuilt from the bar file (``tests.reference``)."""
    return {
        request.uid: expected_window(
            bars[bars.symbol == request.symbol], request.entry_time, LOOKBACK_MINUTES
        )
        for request in index.itertuples()
    }


def memberships(index: pd.DataFrame, aggregated: pd.DataFrame, signals: pd.DataFrame):
    """(uid, group_kind, group_value) of every request in every group it belongs to."""
    consensus = aggregated.set_index("uid")
    rows = []
    for request in index.itertuples():
        voted = consensus.loc[request.uid]
        rows += [
            (request.uid, "all", "all"),
            (request.uid, "direction", request.direction),
            (request.uid, "consensus_direction", voted.consensus_direction),
            (request.uid, "aligned_with_trade", "true" if voted.aligned_with_trade else "false"),
        ]
    ok = signals[signals.status == "ok"]
    rows += [
        (signal.uid, "calculation", f"{signal.calculation}:{signal.direction}")
        for signal in ok.itertuples()
    ]
    return pd.DataFrame(rows, columns=["uid", "group_kind", "group_value"])


def expected_event_path(
    index: pd.DataFrame,
    aggregated: pd.DataFrame,
    signals: pd.DataFrame,
    windows: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """bt_event_path: per group and offset, statistics of the signed % move entry -> close."""
    paths = []
    for request in index.itertuples():
        window = windows[request.uid]
        if expected_status(window) == "no_data":
            continue
        entry = window.loc[window.bar_offset == 0, "open"].iloc[0]
        if np.isnan(entry):  # no price yet at the entry minute: nothing to measure from
            continue
        paths.append(
            pd.DataFrame(
                {
                    "uid": request.uid,
                    "bar_offset": window.bar_offset,
                    "return_pct": SIGN[request.direction] * 100 * (window.close - entry) / entry,
                }
            )
        )
    returns = pd.concat(paths, ignore_index=True)
    members = memberships(index, aggregated, signals)
    joined = returns.merge(members[members.uid.isin(returns.uid)], on="uid")
    grouped = joined.groupby(["group_kind", "group_value", "bar_offset"]).return_pct
    frame = pd.DataFrame(
        {
            "entries": grouped.count(),
            "mean_return_pct": grouped.mean(),
            "median_return_pct": grouped.median(),
            "stddev_return_pct": grouped.std(ddof=1),
            "positive": grouped.apply(lambda values: (values > 0).sum()),
        }
    )
    margin = Z * frame.stddev_return_pct / np.sqrt(frame.entries)
    frame["ci_low_pct"] = frame.mean_return_pct - margin
    frame["ci_high_pct"] = frame.mean_return_pct + margin
    frame["share_positive_pct"] = 100 * frame.positive / frame.entries.replace(0, np.nan)
    return frame.drop(columns="positive").reset_index()[EVENT_PATH_COLUMNS]


def _calls(signals: pd.DataFrame, aggregated: pd.DataFrame) -> pd.DataFrame:
    """Every call: each ok signal, and the consensus of each request with a participant."""
    plugin_calls = signals[signals.status == "ok"][["uid", "calculation", "direction", "strength"]]
    voted = aggregated[aggregated.participating_calculations > 0]
    consensus_calls = pd.DataFrame(
        {
            "uid": voted.uid,
            "calculation": "consensus",
            "direction": voted.consensus_direction,
            "strength": voted.average_strength,
        }
    )
    return pd.concat([plugin_calls, consensus_calls], ignore_index=True)


def sample_note(calls: int) -> str | None:
    if calls >= MIN_CALLS:
        return None
    return f"only {calls} call{'' if calls == 1 else 's'}: fewer than {MIN_CALLS}, too few to trust"


def expected_performance(
    signals: pd.DataFrame, aggregated: pd.DataFrame, index: pd.DataFrame
) -> pd.DataFrame:
    """bt_signal_performance: per calculation, call direction and horizon."""
    sides = index.set_index("uid").direction.map(SIGN)
    calls = _calls(signals, aggregated)
    rows = []
    for minutes in HORIZONS:
        moves = (aggregated.set_index("uid")[f"return_{minutes}m"] * sides).dropna()
        shares = {"BULLISH": 100 * (moves > 0).mean(), "BEARISH": 100 * (moves < 0).mean()}
        scored = calls.assign(move=calls.uid.map(moves)).dropna(subset=["move"])
        for calculation, everything in scored.groupby("calculation"):
            signed = everything.strength * everything.direction.map(CALL_SIGN)
            rank_ic = signed.corr(everything.move, method="spearman")
            for direction, group in everything.groupby("direction"):
                hits = {"BULLISH": (group.move > 0).sum(), "BEARISH": (group.move < 0).sum()}
                row = {
                    "calculation": calculation,
                    "call_direction": direction,
                    "horizon_minutes": minutes,
                    "calls": len(group),
                    "hits": hits.get(direction, 0),
                    "hit_rate_pct": np.nan,
                    "hit_rate_ci_low_pct": np.nan,
                    "hit_rate_ci_high_pct": np.nan,
                    "baseline_entries": len(moves),
                    "share_rising_pct": shares["BULLISH"],
                    "baseline_hit_rate_pct": shares.get(direction, np.nan),
                    "mean_price_move_pct": group.move.mean(),
                    "median_price_move_pct": group.move.median(),
                    "mean_strength": group.strength.mean(),
                    "rank_ic": rank_ic,
                    "ic_entries": len(everything),
                    "sample_note": sample_note(len(group)),
                }
                if direction != "NEUTRAL":
                    interval = binomtest(int(row["hits"]), len(group)).proportion_ci(
                        confidence_level=0.95, method="wilson"
                    )
                    row["hit_rate_pct"] = 100 * row["hits"] / len(group)
                    row["hit_rate_ci_low_pct"] = 100 * interval.low
                    row["hit_rate_ci_high_pct"] = 100 * interval.high
                row["edge_pct"] = row["hit_rate_pct"] - row["baseline_hit_rate_pct"]
                rows.append(row)
    return pd.DataFrame(rows)[PERFORMANCE_COLUMNS]


def assert_frames_match(got: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> int:
    """Same keys, same columns in the same order, every value equal (floats within rtol 1e-9;
    atol 1e-12 for values that are zero up to rounding); returns the rows compared."""
    assert list(got.columns) == list(expected.columns)
    got = got.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert got[key].astype(str).values.tolist() == expected[key].astype(str).values.tolist()
    for column in expected.columns:
        if column in key:
            continue
        if not pd.api.types.is_numeric_dtype(got[column]):
            assert (
                got[column].fillna("<null>").tolist() == expected[column].fillna("<null>").tolist()
            ), column
            continue
        np.testing.assert_allclose(
            got[column].astype(float),
            expected[column].astype(float),
            rtol=1e-9,
            atol=1e-12,
            err_msg=column,
        )
    return len(got)
