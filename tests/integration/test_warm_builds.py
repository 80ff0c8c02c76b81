"""One request fast (issue 12, 2b), with real builds: a build after the first does not parse (dbt's
own parser is never entered), in this process or in a new one; it keeps the views the first made;
its results are those of a cold build; and a run on a held demo day never imports
great-expectations."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dbt.parser.manifest as dbt_parser
import pytest

from backtest.build import manifest as manifest_cache
from backtest.build.dbt import target_path
from backtest.core.config import PROJECT_ROOT, Settings
from backtest.core.requests import RunOptions
from backtest.core.warehouse import connect
from backtest.engine import run_requests
from tests.fixtures import requests_frame
from tests.reliability.processes import assert_same_marts

FIRST = requests_frame(("AAPL", "2024-06-27 14:00:00", "LONG"))
SECOND = requests_frame(
    ("AAPL", "2024-06-27 15:00:00", "SHORT"), ("MSFT", "2024-06-27 15:30:00", "LONG")
)
VIEWS = [
    "stg_raw__bars_1m",
    "stg_raw__quotes",
    "stg_raw__requests",
    "stg_raw__trades",
    "bt_event_path",
    "bt_signal_performance",
]


@pytest.fixture
def parses(monkeypatch):
    """The calls into dbt's parser (``ManifestLoader.get_full_manifest``)."""
    calls = []
    original = dbt_parser.ManifestLoader.get_full_manifest.__func__

    def counted(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(dbt_parser.ManifestLoader, "get_full_manifest", classmethod(counted))
    return calls


def cold() -> None:
    """Forget every stored manifest: the next build parses, as in a fresh checkout."""
    manifest_cache.forget()
    for stored in target_path().glob("backtest_manifest_*.pickle"):
        stored.unlink()


def view_comments(db_path) -> dict[str, str | None]:
    with connect(db_path) as con:
        rows = con.execute(
            "select view_name, comment from duckdb_views() where not internal"
        ).fetchall()
    return dict(rows)


def test_a_second_build_does_not_parse_keeps_the_views_and_gives_the_cold_results(
    run, settings, tmp_path, parses
):
    first = run(FIRST)
    parses.clear()
    second = run(SECOND)
    assert parses == [] and not second.build.parsed
    assert second.build.models == first.build.models - len(VIEWS)  # the views were kept
    assert set(view_comments(settings.db_path)) >= set(VIEWS)

    cold_settings = Settings.from_env(tmp_path / "cold" / "warehouse.duckdb")
    for frame in (FIRST, SECOND):
        cold()
        if cold_settings.db_path.exists():
            with connect(cold_settings.db_path) as con:  # every view is made again
                for view in VIEWS:
                    con.execute(f"comment on view {view} is null")
        report = run_requests(cold_settings, frame, RunOptions(), show_progress=False)
        assert report.build.parsed and report.build.models == first.build.models
    assert_same_marts(settings.db_path, cold_settings.db_path)


def test_a_view_made_by_anyone_else_is_built_again(run, settings):
    run(FIRST)
    with connect(settings.db_path) as con:
        definition = con.execute(
            "select sql from duckdb_views() where view_name = 'stg_raw__requests'"
        ).fetchone()[0]
        con.execute(definition.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
    assert view_comments(settings.db_path)["stg_raw__requests"] is None
    report = run(SECOND)
    assert report.build.models == 32 - len(VIEWS) + 1
    assert view_comments(settings.db_path)["stg_raw__requests"] is not None


def test_a_new_process_on_a_held_day_neither_parses_nor_imports_great_expectations(run, settings):
    run(FIRST)  # loads the day and stores the manifest in the target folder
    script = (
        "import json, sys\n"
        "from backtest.cli import main\n"
        "from backtest.build.manifest import STATS\n"
        "code = main(['run', '--symbol', 'AAPL', '--entry-time', '2024-06-27 16:00:00',\n"
        "             '--direction', 'LONG', '--source', 'demo'])\n"
        "print(json.dumps({'code': code, 'parses': STATS.parses, 'from_disk': STATS.from_disk,\n"
        "                  'great_expectations': 'great_expectations' in sys.modules}))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "parses": 0, "from_disk": 1, "great_expectations": False}
    assert "1 symbol-day already held" in child.stdout
