"""The ingest entry point: trades and quotes only when asked, from the sources that have them."""

from __future__ import annotations

import os
from datetime import date

import pandas as pd
import pytest

from backtest.core.errors import BacktestError
from ingest.demo import session_quotes, session_trades
from ingest.sources import SourceOptions, ingest_batch
from tests.ingest.conftest import prepared, query

TICKS = SourceOptions(kinds=frozenset({"bars", "trades", "quotes"}))


def test_demo_trades_and_quotes_load_only_when_asked_and_only_once(settings):
    requests = prepared(
        ("AAPL", "2024-06-27 14:00:00", "LONG"), ("ZZZZ", "2024-06-27 14:00:00", "LONG")
    )
    _, plain = ingest_batch(settings.db_path, requests, "demo")
    assert (plain.trades, plain.quotes) == (0, 0)
    assert query(settings.db_path, "select count(*) from raw.trades") == [(0,)]
    _, report = ingest_batch(settings.db_path, requests, "demo", options=TICKS)
    _, again = ingest_batch(settings.db_path, requests, "demo", options=TICKS)
    day = date(2024, 6, 27)
    trades, quotes = session_trades("AAPL", day), session_quotes("AAPL", day)
    assert (report.trades, report.quotes) == (len(trades), len(quotes))
    assert (again.trades, again.quotes) == (0, 0)  # the day's ticks are held: not made again
    stored = query(
        settings.db_path, "select count(*), sum(size), epoch_ns(min(sip_time)) from raw.trades"
    )
    assert stored == [(len(trades), trades["size"].sum(), trades.sip_time.min().value)]
    assert query(settings.db_path, "select count(*) from raw.quotes") == [(len(quotes),)]
    assert query(settings.db_path, "select distinct data_source from raw.quotes") == [
        ("demo-synthetic",)
    ]


def test_bar_files_without_tick_files_say_which_flag_is_missing(settings, tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "symbol,timestamp,open,high,low,close,volume\nAAPL,2024-06-27T13:59:00Z,1,1,1,1,1\n"
    )
    _, report = ingest_batch(
        settings.db_path, prepared(("AAPL", "2024-06-27 14:00:00", "LONG")), "files", [bars], TICKS
    )
    assert report.notes == (
        "No trades were loaded: give them with --trades PATH.",
        "No quotes were loaded: give them with --quotes PATH.",
    )
    assert report.summary_lines()[-2:] == list(report.notes)
    assert pd.Timestamp(query(settings.db_path, "select max(bar_time) from raw.bars_1m")[0][0]) == (
        pd.Timestamp("2024-06-27 13:59")
    )


def test_trade_and_quote_files_load_once_and_replace_their_span(settings, tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "symbol,timestamp,open,high,low,close,volume\nAAPL,2024-06-27T13:59:00Z,1,1,1,1,1\n"
    )
    trades = tmp_path / "trades.csv"
    trades.write_text(
        "symbol,timestamp,price,size\n"
        "AAPL,2024-06-27T13:59:01.5Z,10.01,100\nAAPL,1719496799000000000,10.02,50\n"
    )
    quotes = tmp_path / "quotes.csv.gz"
    import gzip

    quotes.write_bytes(
        gzip.compress(
            b"Symbol,Timestamp,Bid_Price,Bid_Size,Ask_Price,Ask_Size\n"
            b"aapl,2024-06-27 13:59:02,10.00,300,10.02,200\n"
        )
    )
    options = SourceOptions(
        kinds=TICKS.kinds, tick_files={"trades": (str(trades),), "quotes": (str(quotes),)}
    )
    request = prepared(("AAPL", "2024-06-27 14:00:00", "LONG"))
    for _ in range(2):
        _, report = ingest_batch(settings.db_path, request, "files", [bars], options)
        assert (report.trades, report.quotes, report.notes) == (2, 1, ())
        stat = trades.stat()  # changed files are read again, replacing what they loaded
        os.utime(trades, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert query(settings.db_path, "select count(*), sum(size) from raw.trades") == [(2, 150.0)]
    assert query(
        settings.db_path, "select symbol, bid_price, ask_size, data_source from raw.quotes"
    ) == [("AAPL", 10.0, 200.0, "files")]
    broken = tmp_path / "broken.csv"
    broken.write_text("symbol,timestamp,price\nAAPL,2024-06-27T13:59:01Z,10\n")
    bad = SourceOptions(kinds=TICKS.kinds, tick_files={"trades": (str(broken),)})
    with pytest.raises(BacktestError, match="lacks the column\\(s\\) size"):
        ingest_batch(settings.db_path, request, "files", [bars], bad)
