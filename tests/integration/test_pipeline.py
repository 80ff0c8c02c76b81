"""The pipeline end to end on demo data: window shape, status, re-runs, refreshes, failures."""

from __future__ import annotations

import time

import duckdb
import pytest

from backtest.core.errors import BacktestError
from plugins.loader import plugin_settings
from tests.fixtures import requests_frame

ENABLED = [name for name, entry in plugin_settings().items() if entry["enabled"]]


def query(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_counts(settings) -> dict[str, int]:
    tables = ["bt_index", "bt_bars", "bt_signals", "bt_aggregated", "bt_m1_ema"]
    return {table: query(settings, f"select count(*) from {table}")[0][0] for table in tables}


def test_every_request_gets_75_bars_and_one_row_per_table(run, settings):
    run(
        requests_frame(
            ("AAPL", "2024-06-27 13:35:00", "LONG"), ("MSFT", "2024-06-27 17:00:00", "SHORT")
        )
    )
    assert table_counts(settings) == {
        "bt_index": 2,
        "bt_bars": 150,
        "bt_signals": 2 * len(ENABLED),
        "bt_aggregated": 2,
        "bt_m1_ema": 2,
    }
    for name in ENABLED:
        assert query(settings, f"select count(*) from bt_{name}") == [(2,)], name
    offsets = query(
        settings,
        "select uid, min(bar_offset), max(bar_offset), count(*) "
        "from bt_bars group by uid order by uid",
    )
    assert offsets == [("AAPL.062724.1335.L", -15, 59, 75), ("MSFT.062724.1700.S", -15, 59, 75)]


def test_request_without_data_is_listed_as_no_data(run, settings):
    run(
        requests_frame(
            ("AAPL", "2024-06-29 15:00:00", "LONG"),  # a Saturday
            ("NOPE", "2024-06-27 15:00:00", "SHORT"),
        )
    )
    rows = query(settings, "select uid, status from bt_index order by uid")
    assert rows == [("AAPL.062924.1500.L", "no_data"), ("NOPE.062724.1500.S", "no_data")]
    aggregated = query(
        settings,
        "select pnl, entry_price, participating_calculations, "
        "total_calculations from bt_aggregated",
    )
    assert aggregated == [(None, None, 0, len(ENABLED))] * 2
    assert query(settings, "select count(*) from bt_bars where not is_filled") == [(0,)]
    signals = query(settings, "select distinct status from bt_signals")
    assert signals == [("no_data",)]


def test_missing_minutes_are_filled_and_marked_partial(run, settings):
    # 18:30 UTC on a demo day: regular session; 23:50 UTC: sparse after-hours bars
    run(requests_frame(("NVDA", "2024-06-27 23:40:00", "LONG")))
    status, filled = query(
        settings,
        """
        select status, (select count(*) from bt_bars where is_filled) from bt_index""",
    )[0]
    assert status == "partial" and filled > 0
    bad_fills = query(
        settings,
        """
        select count(*) from bt_bars as filled
        where filled.is_filled and filled.close is not null and filled.close <> (
            select real.close from bt_bars as real
            where real.uid = filled.uid and not real.is_filled
              and real.bar_offset < filled.bar_offset
            order by real.bar_offset desc limit 1)
          and exists (select 1 from bt_bars as real where real.uid = filled.uid
                      and not real.is_filled and real.bar_offset < filled.bar_offset)
    """,
    )
    assert bad_fills == [(0,)]


def test_rerun_updates_in_place_and_moves_updated_at(run, settings):
    frame = requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG"))
    run(frame)
    ((created, first_update),) = query(settings, "select created_at, updated_at from bt_index")
    before = table_counts(settings)
    time.sleep(0.01)
    run(frame, lookback_hours=1.0)
    ((created_again, second_update, lookback),) = query(
        settings, "select created_at, updated_at, historical_lookback_hours from bt_index"
    )
    assert table_counts(settings) == before
    assert created_again == created and second_update > first_update and lookback == 1.0
    assert query(settings, "select bars_used <= 60 from bt_m1_ema") == [(True,)]


def test_only_pending_requests_are_rebuilt(run, settings):
    run(requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG")))
    ((first_update,),) = query(settings, "select updated_at from bt_index")
    run(requests_frame(("MSFT", "2024-06-27 14:35:00", "SHORT")))
    updates = dict(query(settings, "select uid, updated_at from bt_index"))
    assert updates["AAPL.062724.1335.L"] == first_update
    assert updates["MSFT.062724.1435.S"] > first_update
    run(requests_frame(("MSFT", "2024-06-27 14:35:00", "SHORT")), full_refresh=True)
    refreshed = dict(query(settings, "select uid, updated_at from bt_index"))
    assert refreshed["AAPL.062724.1335.L"] > first_update
    assert table_counts(settings)["bt_bars"] == 150


def test_failure_mid_build_keeps_earlier_results(run, settings):
    run(requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG")))
    before = query(settings, "select * from bt_aggregated")
    con = duckdb.connect(str(settings.db_path))
    con.execute("alter table bt_aggregated add column sabotage integer")  # the next build fails
    con.close()
    with pytest.raises(BacktestError, match="dbt build failed at bt_aggregated"):
        run(requests_frame(("MSFT", "2024-06-27 14:35:00", "SHORT")))
    assert [row[:-1] for row in query(settings, "select * from bt_aggregated")] == [
        row for row in before
    ]
    assert query(settings, "select uid from bt_index") == [("AAPL.062724.1335.L",)]
    assert query(settings, "select count(*) from raw.requests") == [(2,)]


def test_short_mirrors_long_on_the_same_minute(run, settings):
    run(
        requests_frame(
            ("SPY", "2024-06-27 15:00:00", "LONG"), ("SPY", "2024-06-27 15:00:00", "SHORT")
        )
    )
    long_row, short_row = query(
        settings,
        """
        select pnl, max_favorable_excursion, max_adverse_excursion, return_60m,
               bars_to_mfe, bars_to_mae
        from bt_aggregated order by uid""",
    )
    assert short_row[0] == pytest.approx(-long_row[0])
    assert short_row[1] == pytest.approx(long_row[2]) and short_row[2] == pytest.approx(long_row[1])
    assert short_row[3] == pytest.approx(-long_row[3])
    assert (short_row[4], short_row[5]) == (long_row[5], long_row[4])


def test_calculation_selection_and_plain_dbt_build_agree(run, settings):
    run(requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG")), calculation="m1_ema")
    assert query(settings, "select total_calculations from bt_aggregated") == [(1,)]
    with pytest.raises(BacktestError, match="Unknown calculation 'nope'"):
        run(requests_frame(("AAPL", "2024-06-27 13:35:00", "LONG")), calculation="nope")
