"""Shared fixtures (registered by the root conftest.py): a fresh warehouse per test, real builds,
real data from ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from backtest.core.config import PROJECT_ROOT, Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


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
