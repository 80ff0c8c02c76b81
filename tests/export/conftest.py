"""Export fixtures: a throwaway PostgreSQL cluster, a fresh database per test, built warehouses.

The cluster is started by the suite itself (``initdb`` + ``pg_ctl`` on a free port of
127.0.0.1, as the ``postgres`` user when running as root) and is skipped only when the server
binaries are not installed. Warehouses are real: demo requests through the real ingest and a
real dbt build, once per session, copied for each test that needs one.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import psycopg
import pytest

from backtest.core.config import Settings
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from backtest.export import ExportTarget
from benchmarks.pgcluster import LocalCluster, find_postgres_bindir, start_cluster
from plugins.loader import load_all_plugins
from tests.conftest import requests_frame
from tests.export.postgrest_standin import PostgrestStandIn

# Four requests on two days, both sides, sorted by uid as listed.
BASE_REQUESTS = requests_frame(
    ("AAPL", "2024-06-27 13:35:00", "LONG"),
    ("MSFT", "2024-06-27 14:15:00", "SHORT"),
    ("NVDA", "2024-06-27 16:30:00", "LONG"),
    ("TSLA", "2024-06-28 14:00:00", "SHORT"),
)
API_KEY = "test-service-role-key"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> LocalCluster:
    """A throwaway PostgreSQL cluster for the whole session."""
    if find_postgres_bindir() is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are absent: apt-get install postgresql-15"
        )
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: LocalCluster) -> str:
    """A new, empty database on the session cluster; dropped after the test."""
    name = f"export_test_{next(_database_numbers)}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f"create database {name}")
    yield pg_cluster.url(name)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def pg(pg_url: str) -> psycopg.Connection:
    """An autocommit connection to the test database, for checks."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def pg_target(pg_url: str) -> ExportTarget:
    """The Postgres transport pointed at the test database."""
    return ExportTarget("postgres", db_url=pg_url)


@pytest.fixture(scope="session")
def base_warehouse(tmp_path_factory, _isolated_dbt_paths) -> Path:
    """A warehouse with BASE_REQUESTS built for real (ingest + dbt build), made once, with
    every plugin enabled so that every plugin's bt_<name> table exists."""
    path = tmp_path_factory.mktemp("export-warehouse") / "base.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKTEST_DB", str(path))
        run_requests(
            Settings.from_env(path),
            BASE_REQUESTS,
            RunOptions(),
            source="demo",
            calculation=",".join(load_all_plugins()),
            show_progress=False,
        )
    return path


@pytest.fixture
def warehouse(settings: Settings, base_warehouse: Path) -> Path:
    """This test's own copy of the built warehouse, at ``settings.db_path`` (so ``run`` adds
    to it)."""
    shutil.copyfile(base_warehouse, settings.db_path)
    return settings.db_path


@pytest.fixture
def standin(pg_url: str) -> PostgrestStandIn:
    """The PostgREST stand-in in front of the test database."""
    server = PostgrestStandIn(pg_url, API_KEY).start()
    yield server
    server.stop()
