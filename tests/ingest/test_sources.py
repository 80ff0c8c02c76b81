"""The ingest entry point: trades and quotes only when asked, from the sources that have them."""

from __future__ import annotations

from datetime import date

import pandas as pd

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
    for _ in range(2):
        _, report = ingest_batch(settings.db_path, requests, "demo", options=TICKS)
    day = date(2024, 6, 27)
    trades, quotes = session_trades("AAPL", day), session_quotes("AAPL", day)
    assert (report.trades, report.quotes) == (len(trades), len(quotes))
    stored = query(
        settings.db_path, "select count(*), sum(size), epoch_ns(min(sip_time)) from raw.trades"
    )
    assert stored == [(len(trades), trades["size"].sum(), trades.sip_time.min().value)]
    assert query(settings.db_path, "select count(*) from raw.quotes") == [(len(quotes),)]
    assert query(settings.db_path, "select distinct data_source from raw.quotes") == [
        ("demo-synthetic",)
    ]


def test_bar_files_say_they_have_no_trades(settings, tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "symbol,timestamp,open,high,low,close,volume\nAAPL,2024-06-27T13:59:00Z,1,1,1,1,1\n"
    )
    _, report = ingest_batch(
        settings.db_path, prepared(("AAPL", "2024-06-27 14:00:00", "LONG")), "files", [bars], TICKS
    )
    assert report.notes == ("No trades or quotes were loaded: bar files hold bars only.",)
    assert report.summary_lines()[-1] == report.notes[0]
    assert pd.Timestamp(query(settings.db_path, "select max(bar_time) from raw.bars_1m")[0][0]) == (
        pd.Timestamp("2024-06-27 13:59")
    )
