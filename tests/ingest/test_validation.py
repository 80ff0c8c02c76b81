"""The great-expectations suite: each expectation rejects what it should, with its name; results
are stored per batch and rendered by `backtest validate`; the library loads only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from backtest.cli import main
from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from ingest.load import load_bars
from ingest.validation import suite_checks, validate_bars

GOOD = {"symbol": "XYZ", "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 100.0}
CASES = [  # (what is wrong, the row's changes, the reason, the expectation)
    (
        "no close",
        {"close": None},
        "missing or unreadable value",
        "expect_column_values_to_not_be_null(column=close)",
    ),
    (
        "seconds",
        {"bar_time": "2024-06-27 13:39:30"},
        "timestamp not minute-aligned",
        "expect_column_values_to_be_in_set(column=seconds_past_minute, value_set=[0.0])",
    ),
    (
        "zero low",
        {"low": 0.0, "open": 0.5},
        "non-positive price",
        "expect_column_values_to_be_between(column=low, min_value=0, strict_min=True)",
    ),
    (
        "high below low",
        {"high": 8.0, "low": 9.0, "open": 8.5, "close": 8.5},
        "high < low",
        "expect_column_pair_values_a_to_be_greater_than_b(column_A=high, column_B=low, "
        "or_equal=True)",
    ),
    (
        "open above high",
        {"open": 12.0},
        "open outside [low, high]",
        "expect_column_pair_values_a_to_be_greater_than_b(column_A=high, column_B=open, "
        "or_equal=True)",
    ),
    (
        "close below low",
        {"close": 8.0},
        "close outside [low, high]",
        "expect_column_pair_values_a_to_be_greater_than_b(column_A=close, column_B=low, "
        "or_equal=True)",
    ),
    (
        "negative volume",
        {"volume": -1.0},
        "negative volume",
        "expect_column_values_to_be_between(column=volume, min_value=0)",
    ),
]


def batch(*changes: dict) -> pd.DataFrame:
    rows = [
        {**GOOD, "bar_time": f"2024-06-27 13:{30 + position:02d}:00", **change}
        for position, change in enumerate(changes)
    ]
    frame = pd.DataFrame(rows)
    return frame.assign(bar_time=pd.to_datetime(frame.bar_time))


@pytest.mark.parametrize(
    ("name", "change", "reason", "expectation"), CASES, ids=[case[0] for case in CASES]
)
def test_each_expectation_rejects_its_row_only(name, change, reason, expectation):
    outcome = validate_bars(batch({}, change, {}))
    assert len(outcome.valid) == 2 and not outcome.success
    assert outcome.rejects[["reason", "expectation"]].values.tolist() == [[reason, expectation]]
    assert outcome.rejects.index.tolist() == [1]


def test_duplicates_are_all_rejected_and_the_first_failing_check_wins():
    frame = batch({}, {}, {"volume": -5.0, "close": 20.0})
    frame.loc[1, "bar_time"] = frame.loc[0, "bar_time"]
    outcome = validate_bars(frame)
    assert outcome.rejects.reason.tolist() == [
        "duplicate minute for symbol",
        "duplicate minute for symbol",
        "close outside [low, high]",
    ]
    assert outcome.valid.empty


def test_bars_outside_the_requested_range_are_rejected():
    frame = batch({}, {}, {})
    outcome = validate_bars(
        frame, (pd.Timestamp("2024-06-27 13:31"), pd.Timestamp("2024-06-27 13:32"))
    )
    assert outcome.valid.bar_time.tolist() == [pd.Timestamp("2024-06-27 13:31")]
    assert set(outcome.rejects.reason) == {"outside the requested range"}
    assert suite_checks()[-1].reason != "outside the requested range"  # only when requested


def test_a_wrong_column_type_rejects_the_whole_batch_and_missing_columns_are_explained():
    frame = batch({}, {}).assign(bar_time=["2024-06-27 13:30", "2024-06-27 13:31"])
    outcome = validate_bars(frame)
    assert set(outcome.rejects.reason) == {"wrong column type"} and len(outcome.rejects) == 2
    assert outcome.rejects.expectation.str.contains("column=bar_time").all()
    with pytest.raises(BacktestError, match="lack the column"):
        validate_bars(batch({}).drop(columns="volume"))


def test_load_stores_rejects_with_the_expectation_and_the_batch_result(settings):
    with connect(settings.db_path) as con:
        con.begin()
        report = load_bars(con, batch({}, {"open": 12.0}), "files", origin="test batch")
        con.commit()
        rejects = con.execute("select reason, expectation from raw.bar_rejects").fetchall()
        stored = con.execute(
            "select origin, symbols, row_count, rejected, is_success, result from raw.validations"
        ).fetchall()
    assert (report.inserted, report.rejected, report.checked, report.batches) == (1, 1, 2, 1)
    assert rejects == [("open outside [low, high]", CASES[4][3])]
    [(origin, symbols, rows, rejected, success, result)] = stored
    assert (origin, symbols, rows, rejected, success) == ("test batch", ["XYZ"], 2, 1, False)
    failed = [
        item["expectation_type"]
        for item in json.loads(result)["expectations"]
        if not item["success"]
    ]
    assert failed == ["expect_column_pair_values_a_to_be_greater_than_b"]
    assert report.validation_summary() == (
        "Validation (great-expectations): 2 bars in 1 batch checked, "
        "1 rejected (1 open outside [low, high])."
    )


def test_the_validate_command_renders_stored_and_new_batches(settings, tmp_path, capsys):
    db = str(settings.db_path)
    with connect(settings.db_path) as con:
        con.begin()
        load_bars(con, batch({}, {"volume": -1.0}), "files", origin="first")
        load_bars(con, batch({}).assign(symbol="ABC"), "files", origin="second")
        con.commit()
    assert main(["validate", "--db", db]) == 1  # batch 1, listed, failed
    listing = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in listing] == ["Batch 2", "Batch 1"]
    assert main(["validate", "--db", db, "--symbol", "xyz"]) == 1
    shown = capsys.readouterr().out
    assert "Batch 1" in shown and "FAILED: " in shown
    assert (
        "FAIL expect_column_values_to_be_between(column=volume, min_value=0.0): 1 unexpected"
        in shown
    )
    assert main(["validate", "--db", db, "--batch", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["success"] is True
    assert main(["validate", "--db", db, "--batch", "9"]) == 2
    assert "No validation result is stored for batch 9" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "symbol,timestamp,open,high,low,close,volume\nXYZ,2024-06-27T13:30:00Z,10,9,11,10,5\n"
    )
    assert main(["validate", "--bars", str(bad)]) == 1
    assert (
        "FAIL expect_column_pair_values_a_to_be_greater_than_b(column_A=high, column_B=low"
        in capsys.readouterr().out
    )


def test_great_expectations_is_imported_only_when_validation_runs(tmp_path):
    db = tmp_path / "lazy.duckdb"
    with connect(db):
        pass
    script = (
        "import sys\n"
        "from backtest.cli import main\n"
        f"assert main(['cache', '--db', {str(db)!r}]) == 0\n"
        "assert 'great_expectations' not in sys.modules, 'imported too early'\n"
        "from ingest.validation import validate_bars\n"
        "assert 'great_expectations' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_loading_the_same_bad_batch_again_keeps_one_reject_per_row(settings):
    bad = batch({}, {"volume": -1.0}, {"close": 30.0})
    with connect(settings.db_path) as con:
        for _ in range(2):
            con.begin()
            load_bars(con, bad, "files", origin="again.csv")
            con.commit()
        kept = con.execute("select reason, origin from raw.bar_rejects order by reason").fetchall()
    assert kept == [("close outside [low, high]", "again.csv"), ("negative volume", "again.csv")]


def test_validate_exits_1_when_a_listed_batch_failed_and_0_when_all_passed(settings, capsys):
    db = str(settings.db_path)
    with connect(settings.db_path) as con:
        con.begin()
        load_bars(con, batch({}), "files", origin="good")
        con.commit()
    assert main(["validate", "--db", db]) == 0
    with connect(settings.db_path) as con:
        con.begin()
        load_bars(con, batch({}, {"volume": -1.0}).assign(symbol="ABC"), "files", origin="bad")
        con.commit()
    assert main(["validate", "--db", db]) == 1
    listing = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in listing[-2:]] == ["Batch 2", "Batch 1"]
    assert main(["validate", "--db", db, "--last", "1", "--symbol", "XYZ"]) == 0
