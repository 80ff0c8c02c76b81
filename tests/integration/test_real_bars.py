"""Every stored bar, forward metric and EMA equals an independent pandas recomputation, on real
bars from two vendors with different time conventions:

* LEAN/AlgoSeek (ISO stamps with a New York offset, start-labelled), read by the file loader;
* NinjaTrader via PyAlgoTrade (headerless, UTC, END-labelled), normalised by a test helper.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingest.files import normalise, read_frame
from tests.fixtures import requests_frame
from tests.reference import expected_emas, expected_forward, expected_status, expected_window

LEAN_REQUESTS = [
    ("SPY", "2013-10-07 13:30:00", "LONG"),  # 09:30 EDT: the session's first bar
    ("SPY", "2013-10-07 13:35:00", "SHORT"),
    ("SPY", "2013-10-08 17:12:00", "LONG"),
    ("SPY", "2013-10-09 19:30:00", "SHORT"),  # forward window runs past the 16:00 close
    ("IBM", "2013-10-04 16:30:00", "LONG"),  # 16:39 UTC is a missing regular-session minute
    ("IBM", "2013-10-04 16:40:00", "SHORT"),
    ("AAPL", "2014-06-09 13:31:00", "LONG"),  # split day, raw prices
    ("GOOG", "2015-12-24 17:30:00", "SHORT"),  # 13:00 ET early close inside the window
    ("SHY", "2008-03-10 14:00:00", "LONG"),  # illiquid, many filled minutes
    ("TWX", "2014-06-23 13:32:00", "LONG"),  # only six bars that day
]
NINJA_REQUESTS = [
    ("SPY", "2011-03-09 14:30:00", "LONG"),  # EST: 09:30 ET open
    ("SPY", "2011-03-09 20:59:00", "SHORT"),  # the last regular bar, then after-hours
    ("SPY", "2011-03-14 13:30:00", "SHORT"),  # EDT after the DST switch: 09:30 ET open
    ("SPY", "2011-03-14 15:47:00", "LONG"),
]


def ninja_to_generic(path, target) -> pd.DataFrame:
    """NinjaTrader minute bars (UTC, end-labelled) as a generic start-labelled CSV."""
    raw = pd.read_csv(
        path, sep=";", header=None, names=["stamp", "open", "high", "low", "close", "volume"]
    )
    end_time = pd.to_datetime(raw.stamp, format="%Y%m%d %H%M%S")
    generic = raw.assign(
        symbol="SPY",
        timestamp=(end_time - pd.Timedelta(minutes=1)).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )[["symbol", "timestamp", "open", "high", "low", "close", "volume"]]
    generic.to_csv(target, index=False)
    return normalise(generic.astype({"timestamp": "string"}), str(target))


def compare(db_path, bars: pd.DataFrame, rows: list[tuple[str, str, str]]) -> None:
    con = duckdb.connect(str(db_path), read_only=True)
    index = con.sql("select * from bt_index").df().set_index("uid")
    stored_bars = con.sql("select * from bt_bars").df()
    aggregated = con.sql("select * from bt_aggregated").df().set_index("uid")
    emas = con.sql("select * from bt_m1_ema").df().set_index("uid")
    con.close()
    assert len(index) == len(rows)
    for uid, request in index.iterrows():
        symbol_bars = bars[bars.symbol == request.symbol]
        window = expected_window(symbol_bars, request.entry_time, 120)
        got = stored_bars[stored_bars.uid == uid].sort_values("bar_offset").reset_index(drop=True)
        assert got.bar_offset.tolist() == list(range(-15, 60)), uid
        assert (got.bar_time == window.bar_time).all(), uid
        assert (got.is_filled == window.is_filled).all(), uid
        for column in ["open", "high", "low", "close", "volume"]:
            np.testing.assert_allclose(got[column], window[column], rtol=1e-12, err_msg=uid)
        assert request.status == expected_status(window), uid
        if request.status != "no_data":
            for metric, value in expected_forward(window, request.direction).items():
                assert aggregated.loc[uid, metric] == pytest.approx(value, rel=1e-9, abs=1e-9), (
                    uid,
                    metric,
                )
        reference = expected_emas(symbol_bars, request.entry_time, 120)
        assert emas.loc[uid, "bars_used"] == reference["bars_used"], uid
        if reference["bars_used"]:
            assert emas.loc[uid, "ema_9"] == pytest.approx(reference["ema_9"], rel=1e-10), uid
            assert emas.loc[uid, "ema_21"] == pytest.approx(reference["ema_21"], rel=1e-10), uid
            assert emas.loc[uid, "signal_direction"] == reference["direction"], uid


def test_lean_bars_match_pandas(shared_data, run, settings):
    path = shared_data / "lean-algoseek" / "lean_minute_trade_bars_normalized.csv"
    run(requests_frame(*LEAN_REQUESTS), source="files", bars=[path])
    bars = normalise(read_frame(path), str(path))
    compare(settings.db_path, bars, LEAN_REQUESTS)


def test_ninjatrader_end_labelled_utc_bars_match_pandas(shared_data, run, settings, tmp_path):
    target = tmp_path / "spy_2011_03_generic.csv"
    bars = ninja_to_generic(shared_data / "pyalgotrade" / "nt-spy-minute-2011-03.csv", target)
    run(requests_frame(*NINJA_REQUESTS), source="files", bars=[target])
    compare(settings.db_path, bars, NINJA_REQUESTS)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    opens = con.sql("""
        select bars.bar_time, bars.open from bt_bars as bars
        where bars.uid in ('SPY.030911.1430.L', 'SPY.031411.1330.S') and bars.bar_offset = 0
    """).fetchall()
    con.close()
    # 09:30 ET on both sides of the DST switch is the first regular bar (INVENTORY.md)
    assert sorted(time.hour for time, _ in opens) == [13, 14]
