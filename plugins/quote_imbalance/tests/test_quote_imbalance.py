"""quote_imbalance: the adapter against pandas, the dbt models against the adapter."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from backtest.warehouse import connect
from ingest.demo import session_quotes
from plugins.quote_imbalance.adapter import QuoteImbalanceAdapter
from tests.fixtures import requests_frame

ENTRIES = [
    ("AAPL", "2024-06-27 14:00:00", "LONG"),
    ("NVDA", "2024-06-27 17:31:00", "SHORT"),
    ("SPY", "2024-06-27 23:50:00", "LONG"),
    ("MSFT", "2024-06-27 03:00:00", "LONG"),
]


def demo_quotes() -> pd.DataFrame:
    return pd.concat([session_quotes(symbol, date(2024, 6, 27)) for symbol, _, _ in ENTRIES])


def adapter_signal(quotes: pd.DataFrame, symbol: str, entry: pd.Timestamp):
    adapter = QuoteImbalanceAdapter()
    mine = quotes[quotes.symbol == symbol].assign(
        quote_time=lambda frame: frame.sip_time.astype("datetime64[us]")
    )
    adapter.set_data_cache({"symbol": symbol, "quotes": mine})
    adapter.initialize()
    adapter.feed_historical_data(pd.DataFrame())
    return adapter.get_signal_at_time(entry.to_pydatetime())


def test_adapter_matches_pandas():
    quotes = demo_quotes()
    entry = pd.Timestamp("2024-06-27 14:00")
    times = quotes.sip_time.astype("datetime64[us]")
    window = quotes[
        (quotes.symbol == "AAPL") & (times >= entry - pd.Timedelta(minutes=5)) & (times < entry)
    ]
    imbalance = (window.bid_size.sum() - window.ask_size.sum()) / (
        window.bid_size.sum() + window.ask_size.sum()
    )
    signal = adapter_signal(quotes, "AAPL", entry)
    assert signal.metadata["quotes_used"] == len(window) == 20
    assert signal.metadata["size_imbalance"] == pytest.approx(imbalance)
    expected = "NEUTRAL" if abs(imbalance) <= 0.15 else ("BULLISH" if imbalance > 0 else "BEARISH")
    assert signal.direction == expected


def test_dbt_models_match_the_adapter(run, settings):
    quotes = demo_quotes()
    with connect(settings.db_path) as con:
        con.register("demo_quotes", quotes)
        con.execute("""insert into raw.quotes (symbol, sip_time, bid_price, bid_size, ask_price,
                       ask_size, data_source, loaded_at)
                       select symbol, sip_time, bid_price, bid_size, ask_price, ask_size,
                              'demo-synthetic', now() from demo_quotes""")
    run(requests_frame(*ENTRIES), calculation="quote_imbalance")
    con = duckdb.connect(str(settings.db_path), read_only=True)
    stored = con.sql("select * from bt_quote_imbalance inner join bt_index using (uid)").df()
    con.close()
    assert len(stored) == len(ENTRIES)
    for row in stored.itertuples():
        signal = adapter_signal(quotes, row.symbol, row.entry_time)
        if signal is None:
            assert row.status == "no_data" and row.quotes_used == 0, row.uid
            continue
        assert row.signal_direction == signal.direction, row.uid
        assert row.quotes_used == signal.metadata["quotes_used"], row.uid
        assert row.size_imbalance == pytest.approx(signal.metadata["size_imbalance"]), row.uid
        assert row.strength == pytest.approx(signal.strength, abs=0.01), row.uid
        assert row.confidence == pytest.approx(signal.confidence, abs=0.01), row.uid
    assert set(stored.status) == {"ok", "no_data"}
    assert np.isfinite(stored.mean_spread_bps.dropna()).all()
