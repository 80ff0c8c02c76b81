"""Fixtures for the ingest suite: a local Polygon server and the real data it serves."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from backtest.core.config import PROJECT_ROOT
from backtest.core.requests import RunOptions, prepare_requests
from tests.ingest.polygon_server import PolygonStandIn, minute_bars_from_lean, start_server

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
MOCKS = Path("polygon-client-python-mocks") / "test_rest" / "mocks"
LEAN_BARS = Path("lean-algoseek") / "lean_minute_trade_bars_normalized.csv"
API_KEY = "test-key-0123"
# AAPL's 7:1 split took effect on 2014-06-09 (INVENTORY.md); the LEAN prices are raw.
AAPL_SPLIT = (pd.Timestamp("2014-06-09"), 7.0)


@pytest.fixture(scope="session")
def polygon_stand_in():
    """One server for the session (skipped with the reason when ../shared/data is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent")
    state = PolygonStandIn(
        mocks=SHARED_DATA / MOCKS,
        minute_bars=minute_bars_from_lean(SHARED_DATA / LEAN_BARS),
        api_key=API_KEY,
        splits={"AAPL": AAPL_SPLIT},
    )
    server, url = start_server(state)
    state.url = url
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def polygon(polygon_stand_in, monkeypatch):
    """The server with a clean log and no switches, and the environment pointing at it."""
    polygon_stand_in.reset()
    monkeypatch.setenv("POLYGON_API_KEY", API_KEY)
    monkeypatch.setenv("POLYGON_BASE_URL", polygon_stand_in.url)
    return polygon_stand_in


@pytest.fixture
def lean_bars(shared_data) -> pd.DataFrame:
    """The LEAN minute bars as naive-UTC rows, read with plain pandas (independent of ingest)."""
    frame = pd.read_csv(shared_data / LEAN_BARS)
    stamps = pd.to_datetime(frame.timestamp, utc=True, format="ISO8601")
    return frame.assign(bar_time=stamps.dt.tz_localize(None).astype("datetime64[ns]"))


def prepared(*rows: tuple[str, str, str], lookback_hours: float = 2.0) -> pd.DataFrame:
    """Requests as the engine hands them to ingest."""
    frame = pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"])
    return prepare_requests(frame, RunOptions(lookback_hours=lookback_hours))


def query(db_path: Path, sql: str, *parameters) -> list[tuple]:
    """Rows of a read-only query on a warehouse file."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, list(parameters)).fetchall()
    finally:
        con.close()
