"""The real RESTClient against a local server answering with recorded and real Polygon bodies:
pagination, chunking, retries, errors, empty results, adjusted vs raw, trades and quotes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from ingest.polygon import PolygonOptions, ingest_polygon
from ingest.sources import SourceOptions, ingest_batch
from tests.ingest.conftest import SHARED_DATA, prepared, query

FAST = PolygonOptions(retries=2, rate_limit_retries=1, rate_limit_wait=0.01)


def ingest(settings, requests, options=FAST, kinds=frozenset({"bars"})):
    return ingest_batch(
        settings.db_path,
        requests,
        "polygon",
        options=SourceOptions(polygon=options, kinds=kinds),
        notify=lambda _: None,
    )


def new_york_day_ms(day: str) -> tuple[int, int]:
    """Epoch milliseconds of a New York day's midnight and of the next one."""
    start = pd.Timestamp(day).tz_localize("America/New_York")
    end = start + pd.Timedelta(days=1)
    return start.value // 1_000_000, end.value // 1_000_000


def test_minute_bars_are_the_served_real_bars_with_utc_ms_bounds(polygon, settings, lean_bars):
    _, report = ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    [call] = polygon.requests_to("/v2/aggs/")
    start_ms, end_ms = new_york_day_ms("2013-10-07")
    assert call.path == f"/v2/aggs/ticker/SPY/range/1/minute/{start_ms}/{end_ms - 1}"
    assert call.query == {"adjusted": "true", "sort": "asc", "limit": "50000"}
    stored = pd.DataFrame(
        query(
            settings.db_path,
            "select bar_time, open, high, low, close, volume, data_source "
            "from raw.bars_1m order by bar_time",
        ),
        columns=["bar_time", "open", "high", "low", "close", "volume", "data_source"],
    )
    local = lean_bars.bar_time.dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    expected = lean_bars[(lean_bars.symbol == "SPY") & (local.dt.date.astype(str) == "2013-10-07")]
    assert report.inserted == len(expected) == len(stored) > 390
    assert stored.bar_time.tolist() == expected.bar_time.tolist()
    for column in ["open", "high", "low", "close", "volume"]:
        np.testing.assert_array_equal(stored[column], expected[column].astype(float))
    assert set(stored.data_source) == {"polygon"}


def test_pagination_follows_next_url_cursors(polygon, settings):
    polygon.page_size = 100
    ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    calls = polygon.requests_to("/v2/aggs/")
    stored = query(settings.db_path, "select count(*) from raw.bars_1m")[0][0]
    assert len(calls) == -(-stored // 100) > 1
    assert "cursor" not in calls[0].query
    assert all(set(call.query) == {"cursor"} for call in calls[1:])
    pages = query(settings.db_path, "select sum(pages) from raw.api_calls")[0][0]
    assert pages == len(calls)


def test_consecutive_days_are_merged_then_chunked(polygon, settings):
    requests = prepared(
        ("SPY", "2013-10-07 14:00:00", "LONG"),
        ("SPY", "2013-10-08 15:00:00", "SHORT"),
        ("SPY", "2013-10-09 16:00:00", "LONG"),
        ("SPY", "2013-10-08 17:00:00", "LONG"),  # same day as another request: no extra call
    )
    ingest(settings, requests, PolygonOptions(bar_chunk_days=1))
    one_day = [call.path.rsplit("/", 2)[1:] for call in polygon.requests_to("/v2/aggs/")]
    assert one_day == [
        [str(new_york_day_ms(day)[0]), str(new_york_day_ms(day)[1] - 1)]
        for day in ("2013-10-07", "2013-10-08", "2013-10-09")
    ]
    polygon.reset()
    with connect(settings.db_path) as con:
        con.execute("delete from raw.coverage")
    ingest(settings, requests)  # default chunks: the three days are one call
    [call] = polygon.requests_to("/v2/aggs/")
    assert call.path.endswith(
        f"/{new_york_day_ms('2013-10-07')[0]}/{new_york_day_ms('2013-10-09')[1] - 1}"
    )


def test_a_lookback_across_midnight_fetches_both_new_york_days(polygon, settings):
    ingest(settings, prepared(("SPY", "2013-10-08 13:35:00", "LONG"), lookback_hours=12))
    [call] = polygon.requests_to("/v2/aggs/")
    assert call.path.endswith(
        f"/{new_york_day_ms('2013-10-07')[0]}/{new_york_day_ms('2013-10-08')[1] - 1}"
    )


def test_http_429_is_retried_with_backoff_and_then_succeeds(polygon, settings):
    polygon.fail(429, times=2)
    _, report = ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    statuses = [call.status for call in polygon.requests_to("/v2/aggs/")]
    assert statuses == [429, 429, 200]
    assert report.inserted > 0


def test_server_errors_are_retried_a_bounded_number_of_times(polygon, settings):
    polygon.fail(503, times=100)
    with pytest.raises(BacktestError, match="HTTP 503 .* wait a minute and re-run"):
        ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    # (retries + 1) client attempts, repeated once more after the rate-limit wait
    assert len(polygon.requests_to("/v2/aggs/")) == (FAST.retries + 1) * (
        FAST.rate_limit_retries + 1
    )
    assert query(settings.db_path, "select count(*) from raw.coverage")[0][0] == 0
    [(outcome, detail)] = query(settings.db_path, "select outcome, detail from raw.api_calls")
    assert outcome == "error" and "503" in detail


def test_a_wrong_key_fails_at_once_with_a_clear_sentence(polygon, settings, monkeypatch):
    monkeypatch.setenv("POLYGON_API_KEY", "not-the-key")
    with pytest.raises(BacktestError, match="Polygon rejected the API key .*POLYGON_API_KEY"):
        ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    assert [call.status for call in polygon.log] == [401]


def test_a_missing_key_is_reported_before_any_work(polygon, settings, monkeypatch):
    monkeypatch.delenv("POLYGON_API_KEY")
    with pytest.raises(BacktestError, match="POLYGON_API_KEY is not set"):
        ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    assert polygon.log == []
    assert not settings.db_path.exists()


def test_data_outside_the_plan_is_refused_with_the_plan_named(polygon, settings):
    polygon.fail(403, times=1)
    with pytest.raises(BacktestError, match="your plan does not include this data"):
        ingest(settings, prepared(("SPY", "2013-10-07 14:00:00", "LONG")))
    assert len(polygon.log) == 1


def test_empty_results_are_cached_and_the_symbol_checked_once(polygon, settings):
    requests = prepared(("SPY", "2013-10-05 14:00:00", "LONG"))  # a Saturday
    _, report = ingest(settings, requests)
    assert report.inserted == 0
    assert [call.path for call in polygon.log][-1] == "/v3/reference/tickers/SPY"
    [(start, end)] = query(settings.db_path, "select start_time, end_time from raw.coverage")
    assert (start, end) == (pd.Timestamp("2013-10-05 04:00"), pd.Timestamp("2013-10-06 04:00"))
    polygon.reset()
    ingest(settings, requests)
    assert polygon.log == []


def test_an_unknown_symbol_is_a_clear_error_and_nothing_is_cached(polygon, settings):
    requests = prepared(("ZZZZ", "2013-10-07 14:00:00", "LONG"))
    with pytest.raises(BacktestError, match="Polygon does not know the symbol 'ZZZZ'"):
        ingest(settings, requests)
    assert query(settings.db_path, "select count(*) from raw.coverage")[0][0] == 0
    with pytest.raises(BacktestError, match="does not know the symbol 'ZZZZ'"):
        ingest(settings, requests)


def test_adjusted_and_raw_bars_are_cached_apart(polygon, settings, lean_bars):
    requests = prepared(("AAPL", "2014-06-06 19:00:00", "LONG"))
    minute = pd.Timestamp("2014-06-06 19:59")
    close = f"select close from raw.bars_1m where bar_time = '{minute}' and data_source = ?"
    ingest(settings, requests)
    adjusted = query(settings.db_path, close, "polygon")[0][0]
    ingest(settings, requests, PolygonOptions(adjusted=False))
    raw = query(settings.db_path, close, "polygon-raw")[0][0]
    source_close = lean_bars[(lean_bars.symbol == "AAPL") & (lean_bars.bar_time == minute)].close
    assert raw == source_close.item() > 600  # INVENTORY: raw prices, $645.70 on 06-06
    assert adjusted == pytest.approx(raw / 7, abs=1e-4)  # the 7:1 split of 2014-06-09
    assert [call.query.get("adjusted") for call in polygon.requests_to("/v2/aggs/")] == [
        "true",
        "false",
    ]
    covering = (
        "select data_source from raw.coverage where start_time <= ? and end_time > ? order by 1"
    )
    assert query(settings.db_path, covering, minute, minute) == [("polygon",), ("polygon-raw",)]
    polygon.reset()
    ingest(settings, requests)  # adjusted again: still held beside the raw bars, not fetched
    ingest(settings, requests, PolygonOptions(adjusted=False))
    assert polygon.requests_to("/v2/aggs/") == []
    assert query(settings.db_path, close, "polygon")[0][0] == pytest.approx(adjusted)


def test_trades_and_quotes_load_only_when_asked(polygon, settings):
    requests = prepared(
        ("AAPL", "2022-04-28 21:40:00", "LONG"),  # the recorded trades are at 21:37:02 UTC
        ("AAPL", "2022-05-10 14:15:00", "SHORT"),  # the recorded quotes at 14:11:12 UTC
    )
    ingest(settings, requests)
    assert polygon.requests_to("/v3/trades") == polygon.requests_to("/v3/quotes") == []
    _, report = ingest(settings, requests, kinds=frozenset({"bars", "trades", "quotes"}))
    mocks = SHARED_DATA / "polygon-client-python-mocks" / "test_rest" / "mocks" / "v3"
    recorded_trades = json.loads((mocks / "trades" / "AAPL&limit=2.json").read_text())["results"]
    recorded_quotes = [
        item
        for path in sorted((mocks / "quotes").glob("AAPL*.json"))
        for item in json.loads(path.read_text())["results"]
    ]
    assert (report.trades, report.quotes) == (len(recorded_trades), len(recorded_quotes)) == (2, 20)
    followed = [call for call in polygon.requests_to("/v3/quotes") if "cursor" in call.query]
    assert len(followed) == 1 and set(followed[0].query) == {"cursor"}
    trades = query(
        settings.db_path,
        "select trade_id, exchange, price, size, conditions, "
        "epoch_ns(sip_time) from raw.trades order by exchange",
    )
    assert trades == [
        (
            item["id"],
            item["exchange"],
            item["price"],
            item["size"],
            item["conditions"],
            item["sip_timestamp"],
        )
        for item in recorded_trades
    ]
    quotes = query(settings.db_path, "select sequence_number, bid_price, ask_price from raw.quotes")
    assert sorted(quotes) == sorted(
        (item["sequence_number"], item["bid_price"], item["ask_price"]) for item in recorded_quotes
    )
    polygon.reset()
    _, again = ingest(settings, requests, kinds=frozenset({"bars", "trades", "quotes"}))
    assert polygon.log == [] and again.calls_made == 0
    assert query(settings.db_path, "select count(*) from raw.trades")[0][0] == 2


def test_minutes_near_now_are_never_marked_covered(polygon, settings):
    requests = prepared(("SPY", "2013-10-07 14:00:00", "LONG"))
    now = pd.Timestamp("2013-10-07 15:00")
    with connect(settings.db_path) as con:
        for _ in range(2):
            ingest_polygon(con, requests, FAST, ("bars",), notify=lambda _: None, now=now)
        [(end,)] = con.execute("select end_time from raw.coverage").fetchall()
    assert end == now - pd.Timedelta(minutes=FAST.settle_minutes)
    assert len(polygon.requests_to("/v2/aggs/")) == 2  # the day is not over: asked again


def test_a_live_minute_asks_only_for_the_bars_after_the_last_one_received(polygon, settings):
    """Live (``PolygonOptions.live``): what was received is final, so each minute asks for just
    the newest bars and nothing at or after the present."""
    requests = prepared(("SPY", "2013-10-07 14:00:00", "LONG"))
    live = replace(FAST, live=True)
    presents = [pd.Timestamp("2013-10-07 15:00"), pd.Timestamp("2013-10-07 15:01")]
    with connect(settings.db_path) as con:
        for now in presents:
            ingest_polygon(con, requests, live, ("bars",), notify=lambda _: None, now=now)
        [(end,)] = con.execute("select end_time from raw.coverage").fetchall()
        [(latest,)] = con.execute("select max(bar_time) from raw.bars_1m").fetchall()
    assert end == presents[-1] and latest == presents[-1] - pd.Timedelta(minutes=1)
    first, second = polygon.requests_to("/v2/aggs/")
    start_ms, _ = new_york_day_ms("2013-10-07")
    now_ms = [moment.tz_localize("UTC").value // 1_000_000 for moment in presents]
    assert first.path.endswith(f"/{start_ms}/{now_ms[0] - 1}")
    assert second.path.endswith(f"/{now_ms[0]}/{now_ms[1] - 1}")
