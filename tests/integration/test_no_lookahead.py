"""Property: changing any bar at or after an entry never changes that entry's signal."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from ingest.demo import session_bars
from tests.fixtures import requests_frame

FIRST_ENTRY = pd.Timestamp("2024-06-27 15:00:00")
ENTRIES = [FIRST_ENTRY + pd.Timedelta(minutes=7 * step) for step in range(6)]
REQUESTS = requests_frame(*[("AAPL", str(entry), "LONG") for entry in ENTRIES])


def write_bars(bars: pd.DataFrame, path) -> None:
    bars.assign(timestamp=bars.bar_time.dt.strftime("%Y-%m-%dT%H:%M:%S"))[
        ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    ].to_csv(path, index=False)


def signals_after_build(folder, bars: pd.DataFrame) -> pd.DataFrame:
    folder.mkdir()
    path = folder / "bars.csv"
    write_bars(bars, path)
    settings = Settings.from_env(folder / "warehouse.duckdb")
    run_requests(
        settings, REQUESTS, RunOptions(), source="files", bar_paths=[path], show_progress=False
    )
    con = duckdb.connect(str(settings.db_path), read_only=True)
    signals = con.sql("""
        select request.entry_time, signal.direction, signal.strength, signal.confidence,
               signal.metadata::varchar as metadata
        from bt_signals as signal inner join bt_index as request using (uid)
        order by request.entry_time, signal.calculation""").df()
    con.close()
    return signals.set_index("entry_time")


def perturb_from(bars: pd.DataFrame, cutoff: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Rescale, reshape or drop every bar at or after ``cutoff``; leave earlier bars alone."""
    rng = np.random.default_rng(seed)
    later = bars.bar_time >= cutoff
    factor = rng.uniform(0.5, 2.0, later.sum())
    changed = bars.copy()
    for column in ["open", "high", "low", "close"]:
        changed.loc[later, column] = (bars.loc[later, column] * factor).round(4)
    changed.loc[later, "volume"] = rng.integers(1, 10**6, later.sum())
    keep = ~later | (rng.random(len(bars)) > 0.3)
    return changed[keep]


@hypothesis_settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut_minutes=st.integers(min_value=0, max_value=40), seed=st.integers(0, 2**16))
def test_bars_at_or_after_entry_never_change_its_signal(tmp_path, cut_minutes, seed):
    bars = session_bars("AAPL", date(2024, 6, 27)).reset_index(drop=True)
    cutoff = FIRST_ENTRY + pd.Timedelta(minutes=cut_minutes)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    baseline = signals_after_build(folder / "baseline", bars)
    perturbed = signals_after_build(folder / "perturbed", perturb_from(bars, cutoff, seed))
    protected = baseline.index <= cutoff
    pd.testing.assert_frame_equal(baseline[protected], perturbed[protected])
    exposed = baseline.index > cutoff + pd.Timedelta(minutes=1)
    if exposed.any():  # the perturbation is real: entries that could see it did change
        assert not baseline[exposed].equals(perturbed[exposed])
