"""One warehouse of real bars for the analytics marts' tests, built once for the package.

LEAN/AlgoSeek minute bars (../shared/data/lean-algoseek, start-labelled, New York offsets) of
SPY, AIG, BAC and IBM on six days of October 2013, plus illiquid SHY of March 2008 and TWX on a
day with six bars: entries from the open (pre-market bars are sparse, so those windows are
partial) to late afternoon (the forward window runs past the close), both sides, and two
requests on days without bars (no_data), all through the real ingest and one dbt build.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from ingest.files import normalise, read_frame
from tests.analytics.reference import request_windows
from tests.fixtures import SHARED_DATA, requests_frame

LEAN_FILE = Path("lean-algoseek") / "lean_minute_trade_bars_normalized.csv"
DAYS = ["2013-10-04", "2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11"]
TIMES = ["13:30", "14:17", "15:43", "17:05", "18:29", "19:48"]  # UTC; 09:30..15:48 EDT
REQUESTS = [
    *(
        (symbol, f"{day} {time}:00", side)
        for symbol in ("SPY", "AIG", "BAC", "IBM")
        for day in DAYS
        for time in TIMES
        for side in ("LONG", "SHORT")
    ),
    ("SHY", "2008-03-10 14:00:00", "LONG"),
    ("SHY", "2008-03-10 16:20:00", "SHORT"),
    ("TWX", "2014-06-23 13:35:00", "LONG"),  # the day's last bar: MFE and MAE in the entry bar
    ("TWX", "2014-06-23 13:35:00", "SHORT"),
    ("SPY", "2013-10-05 15:00:00", "LONG"),  # a Saturday: no bar at all
    ("IBM", "2013-10-12 15:00:00", "SHORT"),
]
TABLES = ("bt_index", "bt_bars", "bt_signals", "bt_aggregated", "bt_event_path")


@pytest.fixture(scope="package")
def real_warehouse(tmp_path_factory, _isolated_dbt_paths) -> Path:
    """The built warehouse (one ingest and one dbt build for the whole package)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent")
    path = tmp_path_factory.mktemp("analytics") / "real.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKTEST_DB", str(path))
        run_requests(
            Settings.from_env(path),
            requests_frame(*REQUESTS),
            RunOptions(),
            source="files",
            bar_paths=[SHARED_DATA / LEAN_FILE],
            show_progress=False,
        )
    return path


@pytest.fixture(scope="package")
def lean_bars(real_warehouse) -> pd.DataFrame:
    """The bar file as pandas reads it (symbol, bar_time in UTC, OHLCV)."""
    path = SHARED_DATA / LEAN_FILE
    return normalise(read_frame(path), str(path))


def read_tables(db_path: Path, *names: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {name: con.execute(f"select * from {name}").df() for name in names}


@pytest.fixture(scope="package")
def stored(real_warehouse) -> dict[str, pd.DataFrame]:
    """The built marts, read once."""
    return read_tables(real_warehouse, *TABLES, "bt_signal_performance")


@pytest.fixture(scope="package")
def windows(stored, lean_bars) -> dict[str, pd.DataFrame]:
    """Each request's 75-bar window rebuilt from the bar file with pandas, by uid."""
    return request_windows(stored["bt_index"], lean_bars)
