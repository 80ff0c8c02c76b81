"""bt_event_path equals an independent pandas recomputation from the real bar file: every row
and every column, for every group (all, direction, consensus, alignment, each calculation's
call) and every offset -15..59."""

from __future__ import annotations

import numpy as np

from backtest.core.config import WINDOW_END_OFFSET, WINDOW_START_OFFSET
from tests.analytics.reference import (
    EVENT_PATH_COLUMNS,
    assert_frames_match,
    expected_event_path,
)

OFFSETS = WINDOW_END_OFFSET - WINDOW_START_OFFSET + 1
KINDS = {"all", "direction", "consensus_direction", "aligned_with_trade", "calculation"}


def test_the_inputs_cover_both_sides_and_every_status(stored):
    index = stored["bt_index"]
    assert set(index.direction) == {"LONG", "SHORT"}
    assert set(index.status) == {"complete", "partial", "no_data"}


def test_the_rebuilt_windows_are_the_stored_bars(stored, windows):
    bars = stored["bt_bars"].sort_values(["uid", "bar_offset"])
    for uid, got in bars.groupby("uid"):
        window = windows[uid]
        assert got.bar_offset.tolist() == window.bar_offset.tolist(), uid
        np.testing.assert_array_equal(got.close.to_numpy(), window.close.to_numpy(), err_msg=uid)


def test_every_row_and_column_equals_pandas(stored, windows):
    index, aggregated, signals = stored["bt_index"], stored["bt_aggregated"], stored["bt_signals"]
    expected = expected_event_path(index, aggregated, signals, windows)
    got = stored["bt_event_path"]
    assert list(got.columns) == EVENT_PATH_COLUMNS
    groups = got[["group_kind", "group_value"]].drop_duplicates()
    assert len(got) == len(groups) * OFFSETS
    assert set(groups.group_kind) == KINDS
    assert set(got[got.group_kind == "all"].group_value) == {"all"}
    assert set(got[got.group_kind == "direction"].group_value) == {"LONG", "SHORT"}
    assert set(got[got.group_kind == "aligned_with_trade"].group_value) == {"true", "false"}

    compared = assert_frames_match(got, expected, ["group_kind", "group_value", "bar_offset"])

    measured = (index.status != "no_data").sum()
    every = got[got.group_kind == "all"]
    assert compared == len(got) >= 20 * OFFSETS
    assert every.entries.max() == measured and measured > 250
    assert (every.set_index("bar_offset").loc[0, "entries"]) == measured
    assert got.ci_low_pct.notna().any() and (got.share_positive_pct > 0).any()
