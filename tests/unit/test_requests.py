from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from backtest.core.errors import BacktestError
from backtest.core.requests import (
    RunOptions,
    duplicates_note,
    prepare_requests,
    read_requests_file,
    single_request,
)
from backtest.core.uid import make_uid


def test_uid_follows_the_contract():
    assert make_uid("AAPL", datetime(2024, 6, 27, 13, 35), "LONG") == "AAPL.062724.1335.L"
    assert make_uid("BRK.B", datetime(2023, 1, 3, 9, 5), "SHORT") == "BRK.B.010323.0905.S"


@pytest.mark.parametrize(
    ("given", "expected_utc"),
    [
        ("2024-06-27 13:35:00", "2024-06-27 13:35:00"),  # naive = UTC
        ("2024-06-27T09:35:00-04:00", "2024-06-27 13:35:00"),  # offsets converted
        ("2024-06-27T13:35Z", "2024-06-27 13:35:00"),
    ],
)
def test_entry_times_become_naive_utc(given, expected_utc):
    requests = prepare_requests(single_request("aapl", given, "long"), RunOptions())
    assert requests.entry_time[0] == pd.Timestamp(expected_utc)
    assert requests.uid[0] == "AAPL.062724.1335.L"


def test_batch_reports_the_first_bad_row_by_number():
    frame = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT", "SPY"],
            "entry_time": ["2024-06-27 13:35", "2024-06-27 13:36:01", "bad"],
            "direction": ["LONG", "SHORT", "LONG"],
        }
    )
    with pytest.raises(BacktestError, match="'2024-06-27 13:36:01' in request 2 is not on a whole"):
        prepare_requests(frame, RunOptions())


def test_duplicate_uids_collapse_to_the_first_and_are_counted():
    frame = pd.DataFrame(
        {
            "symbol": ["AAPL", "aapl", "MSFT"],
            "entry_time": ["2024-06-27 13:35", "2024-06-27T09:35-04:00", "2024-06-27 13:35"],
            "direction": ["LONG", "long", "SHORT"],
        }
    )
    requests = prepare_requests(frame, RunOptions())
    assert requests.uid.tolist() == ["AAPL.062724.1335.L", "MSFT.062724.1335.S"]
    assert requests.attrs == {"rows": 3, "duplicates": 1}
    assert duplicates_note(**requests.attrs) == "3 rows, 1 duplicate of an earlier row ignored"


def test_a_file_of_ten_thousand_copies_reports_its_duplicates(tmp_path):
    path = tmp_path / "requests.csv"
    path.write_text("symbol,entry_time,direction\n" + "AAPL,2024-06-27 13:35,LONG\n" * 10_000)
    requests = prepare_requests(read_requests_file(path), RunOptions())
    assert len(requests) == 1
    assert duplicates_note(**requests.attrs) == (
        "10,000 rows, 9,999 duplicates of earlier rows ignored"
    )


def test_no_duplicates_means_no_sentence():
    requests = prepare_requests(single_request("AAPL", "2024-06-27 13:35", "LONG"), RunOptions())
    assert requests.attrs == {"rows": 1, "duplicates": 0}
    assert duplicates_note(**requests.attrs) == ""


def test_missing_columns_and_empty_input_are_explained():
    with pytest.raises(BacktestError, match="missing the column"):
        prepare_requests(pd.DataFrame({"symbol": ["AAPL"]}), RunOptions())
    with pytest.raises(BacktestError, match="No requests were given"):
        prepare_requests(pd.DataFrame(columns=["symbol", "entry_time", "direction"]), RunOptions())


def test_run_options_are_bounded():
    with pytest.raises(BacktestError, match="lookback-hours"):
        RunOptions(lookback_hours=0.1)
    with pytest.raises(BacktestError, match="forward-bars"):
        RunOptions(forward_bars=0)
