"""Two warehouses built once for the whole package (a build takes seconds, a report less):
SYNTHETIC demo data over several symbols, days and both sides, and real LEAN bars from
../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from tests.fixtures import SHARED_DATA, requests_frame

SYMBOLS = ("AAPL", "MSFT", "NVDA", "SPY")
DAYS = ("2024-06-25", "2024-06-26", "2024-06-27")
TIMES = ("13:35", "14:50", "16:05", "18:20", "19:40")
LEAN_BARS = Path("lean-algoseek") / "lean_minute_trade_bars_normalized.csv"
LEAN_REQUESTS = [
    ("SPY", "2013-10-07 13:30:00", "LONG"),  # the session's first bar
    ("SPY", "2013-10-07 13:35:00", "SHORT"),
    ("SPY", "2013-10-08 17:12:00", "LONG"),
    ("SPY", "2013-10-09 19:30:00", "SHORT"),  # the forward window runs past the close
    ("IBM", "2013-10-04 16:30:00", "LONG"),
    ("IBM", "2013-10-04 16:40:00", "SHORT"),
    ("AAPL", "2014-06-09 13:31:00", "LONG"),
    ("GOOG", "2015-12-24 17:30:00", "SHORT"),  # early close inside the window
    ("SHY", "2008-03-10 14:00:00", "LONG"),  # illiquid: many filled minutes
    ("TWX", "2014-06-23 13:32:00", "LONG"),  # six bars that day
]
"""Real minute bars of six symbols over seven years (../shared/data/lean-algoseek)."""
NO_DATA_REQUEST = ("AAPL", "2024-06-29 14:00:00", "LONG")
"""A Saturday: the demo calendar has no session, so the request is no_data."""


def demo_requests() -> list[tuple[str, str, str]]:
    """Sixty requests (4 symbols x 3 days x 5 minutes, LONG and SHORT alternating) and one
    on a Saturday."""
    rows = []
    for index, (symbol, day, minute) in enumerate(
        (symbol, day, minute) for symbol in SYMBOLS for day in DAYS for minute in TIMES
    ):
        rows.append((symbol, f"{day} {minute}:00", "LONG" if index % 2 else "SHORT"))
    return [*rows, NO_DATA_REQUEST]


def _build(folder: Path, frame, **source) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKTEST_DB", str(folder / "warehouse.duckdb"))
        settings = Settings.from_env()
        run_requests(settings, frame, RunOptions(), show_progress=False, **source)
    return settings.db_path


@pytest.fixture(scope="package")
def demo_warehouse(tmp_path_factory) -> Path:
    """A warehouse of SYNTHETIC demo results, one request of them no_data."""
    return _build(
        tmp_path_factory.mktemp("report_demo"), requests_frame(*demo_requests()), source="demo"
    )


@pytest.fixture(scope="package")
def real_warehouse(tmp_path_factory) -> Path:
    """A warehouse of results on real LEAN/AlgoSeek minute bars (skipped only when
    ../shared/data is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent")
    path = SHARED_DATA / LEAN_BARS
    return _build(
        tmp_path_factory.mktemp("report_real"),
        requests_frame(*LEAN_REQUESTS),
        source="files",
        bar_paths=[path],
    )
