"""Shared fixtures (registered by the root conftest.py): a fresh warehouse per test, real builds,
real data from ../shared, and a local Polygon (tests/ingest/polygon_server.py) serving it."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from backtest.core.config import PROJECT_ROOT, Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from tests.ingest.polygon_server import PolygonStandIn, minute_bars_from_lean, start_server

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
MOCKS = Path("polygon-client-python-mocks") / "test_rest" / "mocks"
LEAN_BARS = Path("lean-algoseek") / "lean_minute_trade_bars_normalized.csv"
API_KEY = "test-key-0123"
# AAPL's 7:1 split took effect on 2014-06-09 (INVENTORY.md); the LEAN prices are raw.
AAPL_SPLIT = (pd.Timestamp("2014-06-09"), 7.0)


@pytest.fixture(scope="session", autouse=True)
def _isolated_dbt_paths(tmp_path_factory):
    """Keep this session's dbt target/ and logs/ apart from other sessions and the user's."""
    folder = tmp_path_factory.mktemp("dbt")
    os.environ["DBT_TARGET_PATH"] = str(folder / "target")
    os.environ["DBT_LOG_PATH"] = str(folder / "logs")


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Settings pointing at a new warehouse file in the test's temporary folder."""
    monkeypatch.setenv("BACKTEST_DB", str(tmp_path / "warehouse.duckdb"))
    return Settings.from_env()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip when it is absent (never otherwise)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent")
    return SHARED_DATA


def requests_frame(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"])


@pytest.fixture
def run(settings):
    """Run requests through the real pipeline (ingest + dbt build) into the test warehouse."""

    def _run(frame: pd.DataFrame, source: str = "demo", bars=(), **options):
        full_refresh = options.pop("full_refresh", False)
        calculation = options.pop("calculation", "all")
        source_options = options.pop("source_options", None)
        return run_requests(
            settings,
            frame,
            RunOptions(**options),
            source=source,
            bar_paths=list(bars),
            calculation=calculation,
            full_refresh=full_refresh,
            show_progress=False,
            source_options=source_options,
        )

    return _run


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


def query(db_path: Path, sql: str, *parameters) -> list[tuple]:
    """Rows of a read-only query on a warehouse file."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, list(parameters)).fetchall()
    finally:
        con.close()
