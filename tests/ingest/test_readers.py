"""The reading commands (cache, validate, sql) never create a warehouse and open it read-only:
a mistyped --db is one sentence, and a DuckDB file that is not a backtest warehouse is left as
it was (issue 8, items 3 and 4)."""

from __future__ import annotations

import duckdb
import pytest

from backtest.cli import main

READERS = [["cache"], ["cache", "--clear", "all"], ["validate"], ["sql", "select 1"]]


@pytest.mark.parametrize("arguments", READERS, ids=" ".join)
def test_a_mistyped_db_says_it_does_not_exist_and_creates_nothing(tmp_path, capsys, arguments):
    missing = tmp_path / "typo" / "warehuose.duckdb"
    assert main([*arguments, "--db", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: Warehouse {missing} does not exist: check --db (or $BACKTEST_DB), "
        "or load data first with `backtest run` or `backtest ingest`.\n"
    )
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", ["cache", "validate"])
def test_a_foreign_duckdb_file_is_read_read_only(tmp_path, capsys, command):
    foreign = tmp_path / "other.duckdb"
    duckdb.connect(str(foreign)).close()
    assert main([command, "--db", str(foreign)]) == 2
    assert "lacks a table backtest reads" in capsys.readouterr().err
    with duckdb.connect(str(foreign), read_only=True) as con:
        schemas = con.execute("select schema_name from information_schema.schemata").fetchall()
    assert ("raw",) not in schemas  # a writable open would have created the raw schema
