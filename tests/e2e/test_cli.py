"""The ``backtest`` command as a user runs it: output files, summaries, and bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from backtest.cli import COMMANDS, build_parser, main
from plugins.loader import plugin_settings

SINGLE = ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"]


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.duckdb")


def test_single_request_writes_one_json_object(db, tmp_path, capsys):
    output = tmp_path / "result.json"
    assert main(["run", *SINGLE, "--db", db, "--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert result["uid"] == "AAPL.062724.1335.L"
    assert result["entry_time"] == "2024-06-27T13:35:00Z"
    assert set(result["consensus"]) == {
        "consensus_direction",
        "agreement_score",
        "vote_breakdown",
        "average_strength",
        "average_confidence",
        "participating_calculations",
        "total_calculations",
    }
    enabled = sorted(name for name, entry in plugin_settings().items() if entry["enabled"])
    assert [signal["calculation"] for signal in result["signals"]] == enabled
    assert result["forward"]["entry_price"] > 0
    shown = capsys.readouterr().out
    assert "AAPL.062724.1335.L" in shown and f"Warehouse: {db}" in shown


def test_batch_writes_an_array_in_request_order(db, tmp_path):
    requests = tmp_path / "requests.csv"
    requests.write_text(
        "symbol,entry_time,direction\n"
        "MSFT,2024-06-27T10:05:00-04:00,short\n"
        "AAPL,2024-06-27 13:35:00,LONG\n"
    )
    output = tmp_path / "batch.json"
    assert main(["run", "--requests", str(requests), "--db", db, "--output", str(output)]) == 0
    uids = [item["uid"] for item in json.loads(output.read_text())]
    assert uids == ["MSFT.062724.1405.S", "AAPL.062724.1335.L"]


def test_single_request_writes_a_one_row_parquet(db, tmp_path):
    output = tmp_path / "result.parquet"
    assert main(["run", *SINGLE, "--db", db, "--output", str(output)]) == 0
    (row,) = pq.read_table(output).to_pylist()
    assert row["uid"] == "AAPL.062724.1335.L"
    assert row["consensus"]["vote_breakdown"].keys() == {"BULLISH", "BEARISH", "NEUTRAL"}
    assert row["forward"]["entry_price"] > 0 and row["signals"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cli.duckdb", "result.parquet"]


@pytest.mark.parametrize("name", ["results.csv", "results", "results.json.gz"])
def test_an_output_that_is_neither_json_nor_parquet_is_refused(db, tmp_path, capsys, name):
    assert main(["run", *SINGLE, "--db", db, "--output", str(tmp_path / name)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"error: --output {tmp_path / name}: results are written as .json or .parquet, "
        "e.g. results.parquet."
    )
    assert list(tmp_path.iterdir()) == []  # no warehouse, no output, no .partial


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "UP"],
            "Unknown direction 'UP'",
        ),
        (
            ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:30", "--direction", "LONG"],
            "is not on a whole minute",
        ),
        (
            ["--symbol", "AAPL", "--entry-time", "yesterday noon", "--direction", "LONG"],
            "is not a date and time",
        ),
        (
            ["--symbol", "A APL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"],
            "is not a ticker",
        ),
        ([*SINGLE, "--calculation", "macd"], "Unknown calculation 'macd'"),
        ([*SINGLE, "--source", "files", "--bars", "/no/such/bars.csv"], "does not exist"),
        ([*SINGLE, "--source", "files"], "needs at least one --bars"),
        ([*SINGLE, "--lookback-hours", "100"], "--lookback-hours 100 is out of range"),
        ([*SINGLE, "--forward-bars", "61"], "--forward-bars 61 is out of range"),
        (
            ["--requests", "/no/such/requests.csv"],
            "Requests file /no/such/requests.csv does not exist",
        ),
        (["--symbol", "AAPL"], "needs --symbol, --entry-time and --direction"),
    ],
)
def test_bad_input_is_one_sentence_and_nonzero(db, capsys, flags, message):
    assert main(["run", *flags, "--db", db]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error
    assert len(error.splitlines()) == 1 and "Traceback" not in error


def test_malformed_bar_file_is_rejected_clearly(db, tmp_path, capsys):
    garbage = tmp_path / "bars.csv"
    garbage.write_text("when,price\n1,2\n")
    assert main(["run", *SINGLE, "--source", "files", "--bars", str(garbage), "--db", db]) == 2
    assert "match no known layout" in capsys.readouterr().err


def test_invalid_bars_go_to_rejects_and_are_counted(db, tmp_path, capsys):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "symbol,timestamp,open,high,low,close,volume\n"
        "XYZ,2024-06-27T13:41:00Z,10,11,9,10.5,100\n"
        "XYZ,2024-06-27T13:35:00Z,10,9,11,10.5,100\n"  # high < low
        "XYZ,2024-06-27T13:36:00Z,10,11,9,12,100\n"  # close above high
        "XYZ,2024-06-27T13:37:00Z,-1,11,-2,10,100\n"  # non-positive price
        "XYZ,2024-06-27T13:38:00Z,10,11,9,10,-5\n"  # negative volume
        "XYZ,2024-06-27T13:39:30Z,10,11,9,10,5\n"  # not minute-aligned
        "XYZ,2024-06-27T13:40:00Z,10,11,9,10,5\n"
        "XYZ,2024-06-27T13:40:00Z,10,11,9,10.2,5\n"  # duplicate minute
        "XYZ,not-a-time,10,11,9,10,5\n"
    )
    args = [
        "run",
        "--symbol",
        "XYZ",
        "--entry-time",
        "2024-06-27 13:35:00",
        "--direction",
        "LONG",
        "--source",
        "files",
        "--bars",
        str(bars),
        "--db",
        db,
    ]
    assert main(args) == 0
    assert "8 invalid bars were not loaded" in capsys.readouterr().out
    con = duckdb.connect(db, read_only=True)
    reasons = dict(
        con.sql("select reason, count(*) from raw.bar_rejects group by reason").fetchall()
    )
    loaded = con.sql("select count(*) from raw.bars_1m").fetchall()[0][0]
    con.close()
    assert loaded == 1
    assert reasons == {
        "high < low": 1,
        "close outside [low, high]": 1,
        "non-positive price": 1,
        "negative volume": 1,
        "timestamp not minute-aligned": 1,
        "duplicate minute for symbol": 2,
        "missing or unreadable value": 1,
    }
    assert main(args) == 0  # loading the same file again changes nothing
    con = duckdb.connect(db, read_only=True)
    assert con.sql("select count(*) from raw.bars_1m").fetchall()[0][0] == 1
    con.close()


def test_symbol_without_data_exits_nonzero_but_is_listed(db, capsys):
    flags = ["--symbol", "QQQQ", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"]
    assert main(["run", *flags, "--db", db]) == 1
    captured = capsys.readouterr()
    assert "no bars were found for QQQQ.062724.1335.L" in captured.err
    assert "no_data" in captured.out


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command and action of the real parser, e.g. ("plugins",), ("plugins", "new"),
    with its line in the list of its group and its own parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield prefix + (name,), helps.get(name), subparser
                yield from command_paths(subparser, prefix + (name,))


COMMAND_PATHS = [path for path, _, _ in command_paths(build_parser())]


def test_every_command_has_a_handler_and_a_help_line():
    assert sorted(path[0] for path in COMMAND_PATHS if len(path) == 1) == sorted(COMMANDS)
    assert {("plugins", "list"), ("plugins", "new")} <= set(COMMAND_PATHS)
    for path, help_line, subparser in command_paths(build_parser()):
        assert help_line, f"backtest {' '.join(path)} has no line in its group's --help"
        assert subparser.description, f"backtest {' '.join(path)} --help has no description"


def test_console_script_help_lists_every_command():
    shown = subprocess.run(
        [sys.executable, "-m", "backtest.cli", "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: backtest")
    listed = {line.split()[0] for line in shown.stdout.splitlines() if line.startswith("    ")}
    assert {path[0] for path in COMMAND_PATHS} <= listed, shown.stdout


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_console_script_help_explains_every_command(path, capsys):
    parsers = {sub_path: subparser for sub_path, _, subparser in command_paths(build_parser())}
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: backtest " + " ".join(path)), shown
    assert " ".join(parsers[path].description.split()) in " ".join(shown.split())
    for action in parsers[path]._actions:
        if isinstance(action, argparse._SubParsersAction):
            assert all(name in shown for name in action.choices), shown


def test_analysts_plain_dbt_build_from_the_root_changes_nothing(db, tmp_path):
    import os

    from backtest.core.config import PROJECT_ROOT

    assert main(["run", *SINGLE, "--db", db]) == 0
    con = duckdb.connect(db, read_only=True)
    before = con.sql("select uid, updated_at from bt_index").fetchall()
    con.close()
    environment = {
        **os.environ,
        "BACKTEST_DB": db,
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path),
    }
    dbt = str(Path(sys.executable).parent / "dbt")
    built = subprocess.run(
        [dbt, "build"], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-2000:]
    con = duckdb.connect(db, read_only=True)
    assert con.sql("select uid, updated_at from bt_index").fetchall() == before
    con.close()
