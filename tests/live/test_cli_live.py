"""``backtest live`` as a user runs it: the demo source with no key; the files source (the plan
``--bars`` makes) replaying a real session, loading nothing after the present and calling as
``backtest run`` does; and Ctrl-C in a running process: once finishes the minute and prints the
summary, twice stops at once (exit 130), and either way the warehouse stays consistent (the next
run builds what was left)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import main
from backtest.core.config import PROJECT_ROOT, Settings
from backtest.core.warehouse import connect
from backtest.live import Clock, LivePlan
from plugins.loader import plugin_settings
from tests.fixtures import LEAN_BARS, query
from tests.live.replay import assert_same_calls, replay

CALCULATIONS = len([name for name, plugin in plugin_settings("all").items() if plugin["enabled"]])
DEMO = ["--symbols", "AAPL,MSFT"]
TWO = ("1400", "1401")  # the minutes a Ctrl-C'd run enters
START_FILES = pd.Timestamp("2013-10-08 14:30")


def assert_consistent(db_path: Path) -> set[str]:
    """Every stored request built exactly once, nothing pending, nothing duplicated; the uids."""
    requests = {uid for (uid,) in query(db_path, "select uid from raw.requests")}
    assert requests
    [(index_rows, index_uids, current)] = query(
        db_path,
        """
        select count(*), count(distinct uid),
               count(*) filter (where built.requested_at = requests.requested_at)
        from bt_index as built inner join raw.requests as requests using (uid)
        """,
    )
    assert index_rows == index_uids == current == len(requests), "built once, none pending"
    assert {uid for (uid,) in query(db_path, "select uid from bt_index")} == requests
    assert query(db_path, "select count(*), count(distinct uid) from bt_aggregated") == [
        (len(requests), len(requests))
    ]
    assert query(
        db_path, "select count(*), count(distinct (uid, calculation)) from bt_signals"
    ) == [(len(requests) * CALCULATIONS, len(requests) * CALCULATIONS)]
    assert query(
        db_path,
        "select count(*), count(distinct (uid, bar_offset)), count(distinct uid) from bt_bars",
    ) == [(75 * len(requests), 75 * len(requests), len(requests))]
    return requests


# the demo source, no key


def test_demo_source_runs_live_with_no_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    db = tmp_path / "demo.duckdb"
    code = main(["live", *DEMO, "--clock", "2024-06-27 13:30", "--minutes", "2", "--db", str(db)])
    shown = capsys.readouterr()
    assert code == 0, shown.err
    out = shown.out
    assert "SYNTHETIC" in out
    assert "demo source (SYNTHETIC bars) · minute 2 of 2" in out
    tables = out.split("backtest live · ")[1:]
    assert len(tables) == 2
    for table in tables:
        rows = [line.split()[0] for line in table.splitlines() if line.split()[1:2] == ["LONG"]]
        assert rows[:2] == ["AAPL", "MSFT"], table
    assert "Calls for the minute from 13:31 UTC (09:31 New York)" in tables[1]
    summary = (
        "2 minutes live (13:30-13:31 UTC): 2 signals printed, 0 minutes skipped (failed), "
        "0 skipped (overrun)"
    )
    assert summary in out
    assert "Signal after the minute's close: median " in out and "95th percentile" in out
    assert f"Warehouse: {db}" in out
    assert assert_consistent(db) == {
        f"{symbol}.062724.{minute}.L" for symbol in ("AAPL", "MSFT") for minute in ("1330", "1331")
    }


# the files source: a real session replayed


@pytest.mark.realdata
def test_files_source_replay_loads_nothing_after_the_present_and_calls_as_a_backtest(
    shared_data, tmp_path, capsys
):
    bars = str(shared_data / LEAN_BARS)
    live_db = tmp_path / "live.duckdb"
    symbols = ("SPY", "BAC")
    plan = LivePlan(symbols=symbols, source="files", bar_paths=(bars,))  # what --bars makes
    run = replay(Settings(db_path=live_db), plan, Clock.replay(START_FILES), 3)
    assert [cycle.present for cycle in run.cycles] == list(
        pd.date_range(START_FILES, periods=3, freq="min")
    )
    for present, seen in run.seen.items():
        # the file runs on to 2023: after each minute, nothing from the present on was loaded
        assert seen.raw_bars_from_present == 0, present
        assert seen.raw_bars_last_minute >= len(symbols), present  # the minute that just closed
        assert (seen.bars[~seen.bars.is_filled].bar_time < present).all(), present
        assert (seen.bars.known_until == present).all(), present
    uids = sorted(assert_consistent(live_db))
    assert len(uids) == 3 * len(symbols)
    requests = tmp_path / "requests.csv"
    with connect(live_db) as con:
        con.sql("select symbol, entry_time, direction from raw.requests").write_csv(str(requests))
    output = tmp_path / "backtest.json"
    backtest_run = ["run", "--requests", str(requests), "--source", "files", "--bars", bars]
    code = main([*backtest_run, "--db", str(tmp_path / "backtest.duckdb"), "--output", str(output)])
    assert code == 0, capsys.readouterr().err
    expected = {result["uid"]: result for result in json.loads(output.read_text())}
    assert sorted(expected) == uids
    assert {result["status"] for result in expected.values()} == {"complete"}
    compared = assert_same_calls(run.entered(), expected)
    assert compared["m1_ema"] == compared["consensus"] == len(uids)
    assert len(compared) == CALCULATIONS + 1


# Ctrl-C in a running process


@dataclass
class Interrupted:
    code: int
    out: str
    err: str
    first_table: str


def _live_process(db: Path, signals: int) -> Interrupted:
    """``backtest live`` in its own process (demo source, a long replay), sent ``signals``
    SIGINTs while its second minute is under way: half a second after the first was printed (a
    minute takes seconds; at once, the signal could fall between the minutes)."""
    environment = {key: value for key, value in os.environ.items() if key != "POLYGON_API_KEY"}
    command = [sys.executable, "-m", "backtest.cli", "live", *DEMO, "--clock", "2024-06-27 14:00",
               "--minutes", "30", "--db", str(db)]  # fmt: skip
    errors = db.with_suffix(".stderr")
    with errors.open("w") as err:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=err,
            text=True,
        )  # fmt: skip
        lines = []
        for line in process.stdout:
            lines.append(line)
            if " signal " in line and "after the close" in line:
                break
        first_table = "".join(lines)
        for sent in range(signals):
            time.sleep(0.3 if sent else 0.5)
            process.send_signal(signal.SIGINT)
        rest = process.stdout.read()
        code = process.wait(timeout=300)
    return Interrupted(code, first_table + rest, errors.read_text(), first_table)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """Two processes at once: one Ctrl-C, and two in quick succession."""
    folder = tmp_path_factory.mktemp("ctrl_c")
    with ThreadPoolExecutor(2) as pool:
        once = pool.submit(_live_process, folder / "once.duckdb", 1)
        twice = pool.submit(_live_process, folder / "twice.duckdb", 2)
        return folder, once.result(), twice.result()


def _minutes_shown(out: str) -> list[str]:
    return [
        line.split()[0]
        for line in out.splitlines()
        if " signal " in line and "after the close" in line
    ]


def test_one_ctrl_c_finishes_the_minute_prints_the_summary_and_leaves_it_consistent(interrupted):
    folder, once, _ = interrupted
    assert once.code == 0, once.err
    assert "Stopping after this minute (Ctrl-C again to stop at once)" in once.err
    assert "Traceback" not in once.err
    minutes = _minutes_shown(once.out)
    assert minutes == ["14:00", "14:01"], "the minute under way was finished, then it stopped"
    assert "2 minutes live (14:00-14:01 UTC): 2 signals printed" in once.out
    assert "Signal after the minute's close: median" in once.out
    assert assert_consistent(folder / "once.duckdb") == {
        f"{symbol}.062724.{minute.replace(':', '')}.L"
        for symbol in ("AAPL", "MSFT")
        for minute in minutes
    }


def test_two_ctrl_c_stop_at_once_and_the_next_run_leaves_it_consistent(interrupted, capsys):
    folder, _, twice = interrupted
    assert twice.code == 130, twice.err
    last_line = twice.err.strip().splitlines()[-1]
    assert last_line.startswith("interrupted: results stored before this run are intact"), twice.err
    # no traceback of ours (Python reports an interrupt it dropped in a finalizer as "ignored")
    assert twice.err.count("Traceback (most recent") == twice.err.count("Exception ignored in")
    # stopped at once, in the second minute (or at its end, where Python dropped the interrupt)
    assert _minutes_shown(twice.out) in (["14:00"], ["14:00", "14:01"])
    assert "Signal after the minute's close" not in twice.out  # no summary
    db = folder / "twice.duckdb"
    shown = {uid for (uid,) in query(db, "select uid from bt_index")}
    assert {"AAPL.062724.1400.L", "MSFT.062724.1400.L"} <= shown  # the printed minute is kept
    # the next run builds what was left pending (its warm-up), picks the entries up, goes on
    again = ["live", *DEMO, "--clock", "2024-06-27 14:02", "--minutes", "1", "--db", str(db)]
    assert main(again) == 0, capsys.readouterr().err
    built = assert_consistent(db)
    entered = {
        f"{symbol}.062724.{minute}.L" for symbol in ("AAPL", "MSFT") for minute in (*TWO, "1402")
    }
    assert shown | {"AAPL.062724.1402.L", "MSFT.062724.1402.L"} <= built <= entered
