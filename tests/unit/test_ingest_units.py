from __future__ import annotations

import gzip
from datetime import date

import numpy as np
import pandas as pd
import pytest

from backtest.core.errors import BacktestError
from ingest.demo import DATA_SOURCE, UNIVERSE, demo_bars, local_days, session_bars
from ingest.files import read_bar_files
from ingest.planning import plan_windows
from ingest.validation import split_valid


def test_demo_bars_are_deterministic_valid_and_labelled_synthetic():
    first = session_bars("SPY", date(2024, 3, 11))
    again = session_bars("SPY", date(2024, 3, 11))
    pd.testing.assert_frame_equal(first, again)
    valid, rejects = split_valid(first)
    assert rejects.empty and len(valid) == len(first)
    assert "synthetic" in DATA_SOURCE
    assert session_bars("SPY", date(2024, 3, 9)).empty  # Saturday


def test_demo_session_follows_new_york_time_across_dst():
    winter = session_bars("AAPL", date(2024, 3, 8))  # EST
    summer = session_bars("AAPL", date(2024, 3, 11))  # EDT
    for bars, open_hour in ((winter, 14), (summer, 13)):
        regular = bars[(bars.volume > 1e4)]
        assert regular.bar_time.min().hour == open_hour and regular.bar_time.min().minute == 30


def test_demo_regular_session_is_dense_and_extended_hours_sparse():
    bars = session_bars("MSFT", date(2024, 6, 27))
    local = bars.bar_time.dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    minutes = local.dt.hour * 60 + local.dt.minute
    regular = ((minutes >= 570) & (minutes < 960)).sum()
    assert 370 <= regular <= 390
    assert (len(bars) - regular) < 0.5 * 570


def test_demo_covers_every_day_a_window_touches():
    windows = plan_windows(
        pd.DataFrame(
            {
                "symbol": ["IBM", "IBM", "ZZZZ"],
                "entry_time": pd.to_datetime(
                    ["2024-06-27 03:50", "2024-06-27 13:35", "2024-06-27 13:35"]
                ),
                "historical_lookback_hours": [2.0, 2.0, 2.0],
            }
        )
    )
    assert len(windows) == 3
    bars = demo_bars(windows)
    assert set(bars.symbol) == {"IBM"} and "ZZZZ" not in UNIVERSE
    assert local_days(pd.Timestamp("2024-06-27 01:50"), pd.Timestamp("2024-06-27 04:50")) == [
        date(2024, 6, 26),
        date(2024, 6, 27),
    ]


def test_planning_merges_overlapping_windows_per_symbol():
    requests = pd.DataFrame(
        {
            "symbol": ["A", "A", "A", "B"],
            "entry_time": pd.to_datetime(
                ["2024-01-02 15:00", "2024-01-02 16:00", "2024-01-02 20:00", "2024-01-02 15:00"]
            ),
            "historical_lookback_hours": [2.0, 2.0, 0.25, 2.0],
        }
    )
    windows = plan_windows(requests)
    assert windows.values.tolist() == [
        ["A", pd.Timestamp("2024-01-02 13:00"), pd.Timestamp("2024-01-02 17:00")],
        ["A", pd.Timestamp("2024-01-02 19:45"), pd.Timestamp("2024-01-02 21:00")],
        ["B", pd.Timestamp("2024-01-02 13:00"), pd.Timestamp("2024-01-02 16:00")],
    ]


GENERIC = (
    "symbol,timestamp,open,high,low,close,volume\n"
    "AAPL,2024-06-27T09:35:00-04:00,10,11,9,10.5,100\n"
    "AAPL,2024-06-27 13:36:00,10.5,11,10,10.8,50\n"
)


def test_generic_csv_gz_and_parquet_read_alike(tmp_path):
    csv = tmp_path / "bars.csv"
    csv.write_text(GENERIC)
    gz = tmp_path / "bars.csv.gz"
    gz.write_bytes(gzip.compress(GENERIC.encode()))
    parquet = tmp_path / "bars.parquet"
    frame = pd.read_csv(csv)
    frame["timestamp"] = pd.to_datetime(frame.timestamp, utc=True, format="ISO8601")
    frame.to_parquet(parquet)
    parquet_gz = tmp_path / "bars.parquet.gz"
    parquet_gz.write_bytes(gzip.compress(parquet.read_bytes()))
    results = [
        read_bar_files([path]).drop(columns="origin") for path in (csv, gz, parquet, parquet_gz)
    ]
    for result in results:
        assert result.bar_time.tolist() == [
            pd.Timestamp("2024-06-27 13:35"),
            pd.Timestamp("2024-06-27 13:36"),
        ]
        np.testing.assert_allclose(result.close, [10.5, 10.8])


def test_polygon_flat_file_sample_is_detected(shared_data):
    path = (
        shared_data / "polygon-flatfile-doc-sample" / "us_stocks_sip_minute_aggs_v1_AAPL_sample.csv"
    )
    bars = read_bar_files([path])
    assert len(bars) == 12 and set(bars.symbol) == {"AAPL"}
    # 1744792500000000000 ns = 2025-04-16 08:35 UTC = 04:35 ET
    assert bars.bar_time.iloc[0] == pd.Timestamp("2025-04-16 08:35")
    assert (bars.bar_time.diff().dropna() == pd.Timedelta(minutes=1)).all()
    assert bars.close.iloc[0] == 200.5 and bars.high.iloc[0] == 200.63  # close before high
    assert split_valid(bars)[1].empty


def test_unknown_layout_and_unreadable_file_are_explained(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(BacktestError, match="match no known layout"):
        read_bar_files([odd])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(BacktestError, match="cannot be read as CSV or Parquet"):
        read_bar_files([broken])
