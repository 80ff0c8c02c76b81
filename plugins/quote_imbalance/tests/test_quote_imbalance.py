"""quote_imbalance: the adapter against pandas, the dbt models against the adapter."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from backtest.core.warehouse import connect
from ingest.demo import session_quotes
from plugins.quote_imbalance.adapter import QuoteImbalanceAdapter
from tests.fixtures import requests_frame
from tests.plugin_checks import stored_after_run

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
    stored = stored_after_run(run, settings, "quote_imbalance", ENTRIES)
    compared = 0
    for row in stored.itertuples():
        signal = adapter_signal(quotes, row.symbol, row.entry_time)
        if signal is None:
            assert row.status == "no_data" and row.quotes_used == 0, row.uid
            continue
        compared += 1
        assert row.signal_direction == signal.direction, row.uid
        assert row.quotes_used == signal.metadata["quotes_used"], row.uid
        assert row.size_imbalance == pytest.approx(signal.metadata["size_imbalance"]), row.uid
        assert row.strength == pytest.approx(signal.strength, abs=0.01), row.uid
        assert row.confidence == pytest.approx(signal.confidence, abs=0.01), row.uid
    assert compared > 0, "no ok reading was compared with the adapter"
    assert set(stored.status) == {"ok", "no_data"}
    assert np.isfinite(stored.mean_spread_bps.dropna()).all()


def lean_quotes_file(shared_data, target) -> pd.DataFrame:
    """LEAN/AlgoSeek SPY quote bars of 2013-10-07 as a quotes file: one NBBO quote per minute,
    the bar's closing bid/ask and sizes, stamped 59 s into the minute (New York ms -> UTC)."""
    import zipfile

    path = shared_data / "lean-algoseek" / "minute_zip" / "spy" / "20131007_quote.zip"
    with zipfile.ZipFile(path) as archive:
        raw = pd.read_csv(
            archive.open(archive.namelist()[0]),
            header=None,
            names=[
                "ms",
                "bid_o",
                "bid_h",
                "bid_l",
                "bid_c",
                "bid_size",
                "ask_o",
                "ask_h",
                "ask_l",
                "ask_c",
                "ask_size",
            ],
        )
    midnight = pd.Timestamp("2013-10-07").tz_localize("America/New_York")
    stamps = (midnight + pd.to_timedelta(raw.ms + 59_000, unit="ms")).dt.tz_convert("UTC")
    quotes = pd.DataFrame(
        {
            "symbol": "SPY",
            "timestamp": stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "bid_price": raw.bid_c / 10_000,
            "bid_size": raw.bid_size,
            "ask_price": raw.ask_c / 10_000,
            "ask_size": raw.ask_size,
        }
    )
    quotes.to_csv(target, index=False)
    return quotes.assign(quote_time=stamps.dt.tz_localize(None))


def test_real_quotes_match_pandas(shared_data, tmp_path):
    from backtest.cli import main

    quotes = lean_quotes_file(shared_data, tmp_path / "spy_quotes.csv")
    requests = tmp_path / "requests.csv"
    entries = ["2013-10-07 13:35:00", "2013-10-07 15:02:00", "2013-10-07 19:58:00"]
    requests.write_text(
        "symbol,entry_time,direction\n" + "".join(f"SPY,{entry},LONG\n" for entry in entries)
    )
    db = tmp_path / "real.duckdb"
    bars = shared_data / "lean-algoseek" / "lean_minute_trade_bars_normalized.csv"
    assert (
        main(
            [
                "run",
                "--requests",
                str(requests),
                "--source",
                "files",
                "--bars",
                str(bars),
                "--quotes",
                str(tmp_path / "spy_quotes.csv"),
                "--calculation",
                "quote_imbalance",
                "--db",
                str(db),
            ]
        )
        == 0
    )
    con = duckdb.connect(str(db), read_only=True)
    stored = con.sql("select * from bt_quote_imbalance inner join bt_index using (uid)").df()
    con.close()
    assert len(stored) == len(entries)
    for row in stored.itertuples():
        window = quotes[
            (quotes.quote_time >= row.entry_time - pd.Timedelta(minutes=5))
            & (quotes.quote_time < row.entry_time)
            & (quotes.ask_price >= quotes.bid_price)
            & (quotes.bid_price > 0)
        ]
        bid, ask = window.bid_size.sum(), window.ask_size.sum()
        mid = (window.bid_price + window.ask_price) / 2
        assert row.quotes_used == len(window) == 5, row.uid
        assert row.size_imbalance == pytest.approx((bid - ask) / (bid + ask)), row.uid
        assert row.mean_spread_bps == pytest.approx(
            (1e4 * (window.ask_price - window.bid_price) / mid).mean()
        ), row.uid


def test_the_wrapper_gives_adapters_the_same_quotes(run, settings, monkeypatch):
    """The per-entry adapter, run by the generic wrapper with the cache's quotes, agrees with
    the set-based models: both paths see the same loaded data."""
    from backtest.core.config import PROJECT_ROOT

    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(PROJECT_ROOT / "tests" / "plugin_fixtures"))
    run(requests_frame(*ENTRIES), calculation="quote_imbalance,quotes_per_entry")
    con = duckdb.connect(str(settings.db_path), read_only=True)
    signals = con.sql("""select uid, calculation, direction, strength, confidence, status
                         from bt_signals order by uid, calculation""").df()
    con.close()
    per_entry = signals[signals.calculation == "quotes_per_entry"].drop(columns="calculation")
    set_based = signals[signals.calculation == "quote_imbalance"].drop(columns="calculation")
    assert (per_entry.status == "ok").sum() == 3
    pd.testing.assert_frame_equal(
        per_entry.reset_index(drop=True), set_based.reset_index(drop=True)
    )
