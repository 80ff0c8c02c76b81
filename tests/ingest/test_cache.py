"""The shared cache: nothing is fetched twice, failures keep what was loaded, clearing and
statistics, and the interval arithmetic underneath (checked against plain minute sets)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from ingest.cache import cache_stats, clear_cache
from ingest.coverage import difference
from ingest.planning import split_by_day
from ingest.polygon import PolygonOptions
from ingest.sources import ingest_batch
from tests.ingest.conftest import prepared, query
from tests.ingest.test_polygon_source import ingest, new_york_day_ms

BATCH = [
    ("SPY", "2013-10-07 14:00:00", "LONG"),
    ("SPY", "2013-10-07 18:30:00", "SHORT"),
    ("SPY", "2013-10-09 15:00:00", "LONG"),
    ("BAC", "2013-10-08 13:45:00", "SHORT"),
    ("IBM", "2013-10-11 19:00:00", "LONG"),
]


def test_the_same_batch_twice_makes_zero_api_calls_the_second_time(polygon, settings):
    _, first = ingest(settings, prepared(*BATCH))
    made = len(polygon.log)
    assert made == first.calls_made == 4  # SPY 10-07 (two requests, one call), 10-09; BAC; IBM
    polygon.reset()
    _, second = ingest(settings, prepared(*BATCH))
    assert polygon.log == []
    assert (second.calls_made, second.calls_saved, second.inserted) == (0, 4, 0)
    runs = query(
        settings.db_path,
        "select calls_made, calls_saved, outcome from raw.ingest_runs order by run_at",
    )
    assert runs == [(4, 0, "ok"), (0, 4, "ok")]


def test_a_batch_that_overlaps_the_cache_fetches_only_the_gap(polygon, settings):
    ingest(settings, prepared(*BATCH))
    polygon.reset()
    ingest(settings, prepared(*BATCH, ("SPY", "2013-10-10 14:00:00", "LONG")))
    [call] = polygon.log
    start, end = new_york_day_ms("2013-10-10")
    assert call.path == f"/v2/aggs/ticker/SPY/range/1/minute/{start}/{end - 1}"


def test_a_failure_part_way_keeps_what_was_loaded_and_a_rerun_fetches_the_rest(polygon, settings):
    requests = prepared(
        ("SPY", "2013-10-07 14:00:00", "LONG"),
        ("SPY", "2013-10-08 14:00:00", "LONG"),
        ("SPY", "2013-10-09 14:00:00", "LONG"),
    )
    options = PolygonOptions(bar_chunk_days=1, retries=1, rate_limit_retries=0)
    second_day = str(new_york_day_ms("2013-10-08")[0])
    polygon.fail(500, times=100, matches=lambda path, _: second_day in path)
    with pytest.raises(BacktestError, match="HTTP 500 .*the 1 of 3 ranges fetched before it"):
        ingest(settings, requests, options)
    covered = query(settings.db_path, "select start_time, end_time from raw.coverage")
    assert covered == [(pd.Timestamp("2013-10-07 04:00"), pd.Timestamp("2013-10-08 04:00"))]
    days = query(
        settings.db_path,
        "select distinct cast(bar_time - interval 4 hour as date) from raw.bars_1m",
    )
    assert [str(day) for (day,) in days] == ["2013-10-07"]
    assert query(settings.db_path, "select outcome from raw.ingest_runs") == [("failed",)]
    polygon.reset()
    _, report = ingest(settings, requests, options)
    fetched = [call.path.rsplit("/", 2)[1] for call in polygon.log]
    assert fetched == [str(new_york_day_ms(day)[0]) for day in ("2013-10-08", "2013-10-09")]
    assert report.chunks_fetched == 2
    assert query(settings.db_path, "select count(*) from raw.coverage")[0][0] == 1  # merged


def test_statistics_count_what_the_warehouse_holds(polygon, settings, lean_bars):
    ingest(settings, prepared(*BATCH))
    ingest(settings, prepared(*BATCH))
    with connect(settings.db_path) as con:
        stats = cache_stats(con, settings.db_path)
    local_day = lean_bars.bar_time.dt.tz_localize("UTC").dt.tz_convert("America/New_York").dt.date
    wanted = {
        ("SPY", "2013-10-07"),
        ("SPY", "2013-10-09"),
        ("BAC", "2013-10-08"),
        ("IBM", "2013-10-11"),
    }
    held = lean_bars[
        [
            (symbol, str(day)) in wanted
            for symbol, day in zip(lean_bars.symbol, local_day, strict=True)
        ]
    ]
    assert (stats.symbols, stats.days, stats.bars) == (3, 4, len(held))
    assert (stats.calls_made, stats.calls_saved, stats.runs) == (4, 4, 2)
    [coverage] = stats.coverage.to_dict("records")
    assert (coverage["data_source"], coverage["kind"], coverage["ranges"]) == ("polygon", "bars", 4)
    assert (coverage["empty_ranges"], coverage["hours"]) == (0, pytest.approx(24 * 4))
    assert stats.size_bytes > 0
    assert "4 made, 4 saved by the cache" in stats.render()


def test_clearing_a_range_removes_data_and_coverage_so_it_is_fetched_again(polygon, settings):
    ingest(settings, prepared(*BATCH))
    start, end = pd.Timestamp("2013-10-07 14:00"), pd.Timestamp("2013-10-07 15:00")
    with connect(settings.db_path) as con:
        report = clear_cache(con, "SPY", start, end)
    assert report.rows["bars"] == 60
    left = (
        "select count(*) from raw.bars_1m where symbol = 'SPY' and bar_time >= ? and bar_time < ?"
    )
    assert query(settings.db_path, left, start, end) == [(0,)]
    polygon.reset()
    ingest(settings, prepared(*BATCH))
    [call] = polygon.log
    assert call.path.endswith(f"/{start.value // 10**6}/{end.value // 10**6 - 1}")
    assert query(settings.db_path, left, start, end) == [(60,)]
    with connect(settings.db_path) as con:
        clear_cache(con, "IBM")
    polygon.reset()
    ingest(settings, prepared(*BATCH))
    assert [call.path.split("/")[4] for call in polygon.log] == ["IBM"]


def test_bars_from_another_source_sit_beside_polygon_bars_and_its_coverage(
    polygon, settings, tmp_path
):
    requests = prepared(("SPY", "2013-10-07 14:00:00", "LONG"))
    ingest(settings, requests)
    minute = (
        "select data_source, open from raw.bars_1m where symbol = 'SPY' "
        "and bar_time = '2013-10-07 14:05' order by data_source"
    )
    [(_, polygon_open)] = query(settings.db_path, minute)
    coverage = query(settings.db_path, "select * from raw.coverage order by all")
    other = tmp_path / "other.csv"
    other.write_text(
        "symbol,timestamp,open,high,low,close,volume\nSPY,2013-10-07T14:05:00Z,1,1,1,1,1\n"
    )
    ingest_batch(settings.db_path, requests, "files", [other])
    assert query(settings.db_path, minute) == [("files", 1.0), ("polygon", polygon_open)]
    assert query(settings.db_path, "select * from raw.coverage order by all") == coverage
    polygon.reset()
    ingest(settings, requests)
    assert polygon.log == []  # the polygon bars are still all there: nothing to fetch


def test_the_cache_command_shows_and_clears(polygon, settings, capsys):
    from backtest.cli import main

    ingest(settings, prepared(*BATCH))
    db = str(settings.db_path)
    assert main(["cache", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "Symbols: 3" in shown and "polygon, bars: 4 ranges" in shown
    on_bac_day = (
        "select count(*) from raw.bars_1m where bar_time >= '2013-10-08 04:00' and "
        "bar_time < '2013-10-09 04:00'"
    )
    held = query(settings.db_path, on_bac_day)[0][0]
    assert (
        main(
            [
                "cache",
                "--db",
                db,
                "--clear",
                "all",
                "--from",
                "2013-10-08 04:00",
                "--to",
                "2013-10-09 04:00",
            ]
        )
        == 0
    )
    shown = capsys.readouterr().out
    assert f"Cleared all symbols: {held:,} bars" in shown and "polygon, bars: 3 ranges" in shown
    assert query(settings.db_path, on_bac_day) == [(0,)]
    assert main(["cache", "--db", db, "--from", "2013-10-08"]) == 2
    assert "add --clear SYMBOL" in capsys.readouterr().err


MINUTE = pd.Timedelta(minutes=1)
ORIGIN = pd.Timestamp("2024-01-02")
ranges = st.lists(
    st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 40), st.integers(1, 15)),
    max_size=6,
)


def minute_set(frame: pd.DataFrame) -> set[tuple[str, int]]:
    return {
        (row.symbol, minute)
        for row in frame.itertuples()
        for minute in range((row.start_time - ORIGIN) // MINUTE, (row.end_time - ORIGIN) // MINUTE)
    }


def as_frame(items) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": [symbol for symbol, _, _ in items],
            "start_time": pd.to_datetime([ORIGIN + start * MINUTE for _, start, _ in items]),
            "end_time": pd.to_datetime(
                [ORIGIN + (start + length) * MINUTE for _, start, length in items]
            ),
        },
        columns=["symbol", "start_time", "end_time"],
    )


@hypothesis_settings(max_examples=60, deadline=None)
@given(minuend=ranges, subtrahend=ranges)
def test_difference_equals_minute_set_difference(minuend, subtrahend):
    con = duckdb.connect()
    con.register("subtrahend", as_frame(subtrahend).astype({"symbol": "object"}))
    holes = difference(con, as_frame(minuend), "select * from subtrahend", ["symbol"])
    con.close()
    assert minute_set(holes) == minute_set(as_frame(minuend)) - minute_set(as_frame(subtrahend))


def test_new_york_days_follow_daylight_saving_time():
    ranges = pd.DataFrame(
        {
            "symbol": ["SPY"],
            "start_time": [pd.Timestamp("2011-03-12 12:00")],
            "end_time": [pd.Timestamp("2011-03-14 12:00")],
        }
    )
    days = split_by_day(ranges)
    assert days.day.astype(str).tolist() == ["2011-03-12", "2011-03-13", "2011-03-14"]
    assert days.day_start.astype(str).tolist() == [
        "2011-03-12 05:00:00",
        "2011-03-13 05:00:00",
        "2011-03-14 04:00:00",
    ]
    assert (days.day_end - days.day_start).dt.total_seconds().div(3600).tolist() == [24, 23, 24]


def test_a_missing_key_stops_the_cli_before_anything_is_written(
    polygon, tmp_path, monkeypatch, capsys
):
    from backtest.cli import main

    monkeypatch.delenv("POLYGON_API_KEY")
    db = tmp_path / "nokey.duckdb"
    args = [
        "ingest",
        "--source",
        "polygon",
        "--symbol",
        "SPY",
        "--entry-time",
        "2013-10-07 14:00:00",
        "--direction",
        "LONG",
        "--db",
        str(db),
    ]
    assert main(args) == 2
    assert "POLYGON_API_KEY is not set" in capsys.readouterr().err
    assert not db.exists() and polygon.log == []
