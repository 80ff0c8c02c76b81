"""Faults with real processes (issue 8, items 3, 4 and 6): kill -9 during ingest or build, Ctrl-C
during the build, two runs started together, a reader during a run, a writer that waits too long.
After each, the warehouse gives exactly what an uninterrupted run gives, with nothing duplicated.
"""

from __future__ import annotations

import signal
import threading
import time

import duckdb
import pandas as pd
import pytest

from tests.reliability.processes import (
    assert_same_marts,
    run,
    run_and_stop_at,
    start,
)

BUILDING = r"dbt build: (1[0-9]|[2-9][0-9]) of [0-9]+ nodes done"  # well inside the build


def requests_csv(path, symbols=("AAPL", "MSFT", "NVDA"), per_symbol=60, day="2024-06-27"):
    minutes = pd.date_range(f"{day} 14:00", periods=per_symbol, freq="3min")
    rows = [
        (symbol, minute.strftime("%Y-%m-%d %H:%M:%S"), "LONG" if i % 2 else "SHORT")
        for symbol in symbols
        for i, minute in enumerate(minutes)
    ]
    pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return requests_csv(tmp_path_factory.mktemp("requests") / "batch.csv")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, batch):
    """The batch run once, uninterrupted."""
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    outcome = run(["run", "--requests", str(batch), "--db", str(db)])
    assert outcome.code == 0, outcome.output
    return db


def run_batch(batch, db, **stop):
    argv = ["run", "--requests", str(batch), "--db", str(db)]
    return run_and_stop_at(argv, **stop) if stop else run(argv)


def test_kill_during_ingest_then_rerun_gives_the_uninterrupted_results(batch, reference, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    killed = run_batch(batch, db, marker=r"Loading bars for", delay=0.5)
    assert killed.stopped and killed.code == -signal.SIGKILL
    with duckdb.connect(str(db), read_only=True) as con:  # it died before building anything
        assert not con.execute(
            "select * from duckdb_tables() where table_name = 'bt_index'"
        ).fetchall()
    again = run_batch(batch, db)
    assert again.code == 0, again.output
    assert_same_marts(db, reference)


def test_kill_during_build_then_rerun_gives_the_uninterrupted_results(batch, reference, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    killed = run_batch(batch, db, marker=BUILDING)
    assert killed.stopped and killed.code == -signal.SIGKILL
    again = run_batch(batch, db)
    assert again.code == 0, again.output
    assert_same_marts(db, reference)


def test_ctrl_c_during_build_says_interrupted_and_exits_130(batch, reference, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    stopped = run_batch(batch, db, marker=BUILDING, send=signal.SIGINT)
    assert stopped.stopped and stopped.code == 130, stopped.output
    assert "interrupted" in stopped.output and "dbt could not run" not in stopped.output
    assert "Traceback" not in stopped.output
    assert run_batch(batch, db).code == 0
    assert_same_marts(db, reference)


def test_two_runs_started_together_both_finish_correctly(tmp_path):
    first = requests_csv(tmp_path / "first.csv", symbols=("AAPL", "MSFT"), per_symbol=20)
    second = requests_csv(tmp_path / "second.csv", symbols=("NVDA", "SPY"), per_symbol=20)
    expected = tmp_path / "expected.duckdb"
    for path in (first, second):
        assert run_batch(path, expected).code == 0
    db = tmp_path / "together.duckdb"
    outcomes = {}
    threads = [
        threading.Thread(target=lambda p=path: outcomes.setdefault(p, run_batch(p, db)))
        for path in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(outcome.code == 0 for outcome in outcomes.values()), outcomes
    assert any("waiting for" in outcome.output for outcome in outcomes.values())
    assert_same_marts(db, expected)


def test_a_reader_during_a_run_waits_and_does_not_break_it(batch, reference, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    writer, master = start(["run", "--requests", str(batch), "--db", str(db)])
    try:
        while not db.exists():
            time.sleep(0.05)
        time.sleep(1.0)  # the run holds the warehouse by now
        reader = run(["cache", "--db", str(db)])
        assert writer.wait(timeout=300) == 0
    finally:
        writer.kill()
    assert reader.code == 0, reader.output
    assert "waiting for" in reader.output and "Bars:" in reader.output
    assert_same_marts(db, reference)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_writer_that_waits_too_long_says_who_holds_the_warehouse(tmp_path, how):
    db = tmp_path / "warehouse.duckdb"
    holder = duckdb.connect(str(db))
    try:
        flags = ["--wait", "1"] if how == "flag" else []
        env = {"BACKTEST_WAIT": "1"} if how == "environment" else {}
        request = ["--symbol", "AAPL", "--entry-time", "2024-06-27 14:00:00", "--direction", "LONG"]
        outcome = run(["run", *request, "--db", str(db), *flags], env=env)
    finally:
        holder.close()
    import os

    assert outcome.code == 2
    assert f"waiting for {os.getpid()}" in outcome.output
    errors = [line for line in outcome.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"still in use by process {os.getpid()}" in errors[0]
