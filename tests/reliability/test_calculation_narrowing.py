"""Narrowing the calculations of a run applies to that run's requests only; a full refresh
recomputes every stored request with its own calculations; no mart keeps a row that contradicts
another; a removed plugin's rows go at the next full refresh (issue 8, item 2)."""

from __future__ import annotations

import duckdb
import pytest

from backtest.core.config import PROJECT_ROOT, Settings
from backtest.engine import build_warehouse
from plugins.loader import plugin_infos
from tests.fixtures import requests_frame

ALL = [info.name for info in plugin_infos() if info.enabled]
FIRST = requests_frame(
    ("AAPL", "2024-06-27 15:00:00", "LONG"), ("MSFT", "2024-06-27 15:00:00", "SHORT")
)
NARROW = requests_frame(("NVDA", "2024-06-27 15:00:00", "LONG"))


def calculations_by_uid(settings: Settings) -> dict[str, list[str]]:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        rows = con.execute(
            "select uid, list(calculation order by calculation) from bt_signals group by uid"
        ).fetchall()
    return dict(rows)


def marts_agree(settings: Settings) -> None:
    """Every bt_<plugin> row has its bt_signals row and back; totals count the signals."""
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        for name in ALL:
            in_mart = con.execute(f"select uid from bt_{name} order by uid").fetchall()
            in_signals = con.execute(
                f"select uid from bt_signals where calculation = '{name}' order by uid"
            ).fetchall()
            assert in_mart == in_signals, name
        mismatched = con.execute(
            """
            select count(*) from bt_aggregated as aggregated
            where total_calculations <> (
                select count(*) from bt_signals where bt_signals.uid = aggregated.uid)
            """
        ).fetchone()[0]
        assert mismatched == 0


def test_a_narrowed_full_refresh_keeps_every_other_request_whole(run, settings):
    first = run(FIRST)
    narrow = run(NARROW, calculation="m1_ema", full_refresh=True)
    by_uid = calculations_by_uid(settings)
    assert all(by_uid[uid] == ALL for uid in first.uids)
    assert by_uid[narrow.uids[0]] == ["m1_ema"]
    marts_agree(settings)


def test_narrowing_a_stored_request_removes_its_other_readings_everywhere(run, settings):
    first = run(FIRST)
    run(FIRST.iloc[:1], calculation="rsi_14")
    by_uid = calculations_by_uid(settings)
    assert by_uid[first.uids[0]] == ["rsi_14"] and by_uid[first.uids[1]] == ALL
    marts_agree(settings)
    before = calculations_by_uid(settings)
    build_warehouse(settings, show_progress=False)
    build_warehouse(settings, full_refresh=True, show_progress=False)
    assert calculations_by_uid(settings) == before
    marts_agree(settings)


def test_a_removed_plugin_leaves_at_the_next_full_refresh(run, settings, monkeypatch):
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(PROJECT_ROOT / "tests" / "plugin_fixtures"))
    both = run(FIRST.iloc[:1], calculation="m1_ema,flaky_adapter")
    assert calculations_by_uid(settings)[both.uids[0]] == ["flaky_adapter", "m1_ema"]
    monkeypatch.delenv("BACKTEST_PLUGIN_DIRS")  # the plugin's folder is gone
    build_warehouse(settings, full_refresh=True, show_progress=False)
    assert calculations_by_uid(settings)[both.uids[0]] == ["m1_ema"]
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        assert con.execute("select total_calculations from bt_aggregated").fetchall() == [(1,)]
        performance = con.execute(
            "select count(*) from bt_signal_performance where calculation = 'flaky_adapter'"
        ).fetchone()[0]
    assert performance == 0


@pytest.mark.parametrize("selection", ["m1_ema", "all"])
def test_the_stored_selection_is_what_the_run_asked_for(run, settings, selection):
    run(NARROW, calculation=selection)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        stored = con.execute("select calculations from raw.requests").fetchone()[0]
    assert stored == (None if selection == "all" else selection)
