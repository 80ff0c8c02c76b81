"""Inputs that could only fail late are refused before any work, in one sentence, with nothing
written; and what a run prints is honest (issue 8, items 4 and 5)."""

from __future__ import annotations

import pytest

from backtest.cli import main

SINGLE = ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"]


def one_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("a_folder", "is a folder"),
        ("missing/result.json", "does not exist; create it first"),
    ],
)
def test_a_bad_output_path_is_refused_before_any_work(tmp_path, capsys, output, message):
    (tmp_path / "a_folder").mkdir()
    db = tmp_path / "warehouse.duckdb"
    code = main(["run", *SINGLE, "--db", str(db), "--output", str(tmp_path / output)])
    assert code == 2 and message in one_error(capsys)
    assert not db.exists()
    assert not list(tmp_path.rglob("*.partial"))


def test_a_db_inside_a_regular_file_is_one_sentence(tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    assert main(["run", *SINGLE, "--db", str(blocker / "w.duckdb")]) == 2
    assert f"{blocker} is a file, not a folder" in one_error(capsys)


def test_relative_db_and_output_are_taken_from_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKTEST_DB", raising=False)
    assert main(["run", *SINGLE, "--db", "here.duckdb", "--output", "result.json"]) == 0
    assert (tmp_path / "here.duckdb").exists() and (tmp_path / "result.json").exists()
    shown = capsys.readouterr().out
    assert f"Warehouse: {tmp_path / 'here.duckdb'}" in shown


def test_duplicates_are_counted_and_one_request_reads_singular(tmp_path, capsys):
    requests = tmp_path / "requests.csv"
    requests.write_text(
        "symbol,entry_time,direction\n"
        "AAPL,2024-06-27 13:35:00,LONG\n"
        "AAPL,2024-06-27T09:35:00-04:00,long\n"
        "AAPL,2024-06-27 13:35:00,LONG\n"
    )
    db = tmp_path / "warehouse.duckdb"
    assert main(["run", "--requests", str(requests), "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "Requests: 3 rows, 2 duplicates of earlier rows ignored." in shown
    assert "1 request: " in shown and "1 requests" not in shown


def test_the_printed_build_time_is_the_wall_time_of_the_build(tmp_path, capsys):
    import re
    import time

    db = tmp_path / "warehouse.duckdb"
    started = time.monotonic()
    assert main(["run", *SINGLE, "--db", str(db)]) == 0
    whole_run = time.monotonic() - started
    shown = capsys.readouterr().out
    seconds = float(re.search(r"dbt build: .* in ([0-9.]+)s", shown)[1])
    assert 0.5 * whole_run < seconds <= whole_run  # the build is most of a small run


def test_bad_request_input_creates_no_warehouse(tmp_path, capsys):
    db = tmp_path / "warehouse.duckdb"
    flags = ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:30", "--direction", "LONG"]
    assert main(["run", *flags, "--db", str(db)]) == 2
    assert "not on a whole minute" in one_error(capsys)
    assert not db.exists()
