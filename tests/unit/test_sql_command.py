"""``backtest sql``: one read-only query, printed as an aligned table or CSV; errors are one
sentence."""

from __future__ import annotations

import io

import duckdb
import pytest

from backtest.cli import build_parser
from backtest.cli.sql import COMMANDS
from backtest.core.errors import BacktestError


def sql(*argv: str) -> int:
    args = build_parser().parse_args(["sql", *argv])
    return COMMANDS[args.command](args)


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table bt_index as select * from (values "
            "('AAPL.062724.1335.L', timestamp '2024-06-27 13:35', 'complete', 1.5, true), "
            "('NVDA.062724.1630.L', timestamp '2024-06-27 16:30', 'no_data', null, null)"
            ") as requests(uid, entry_time, status, pnl_pct, is_aligned)"
        )
    return str(path)


def test_a_query_prints_an_aligned_table_with_the_row_count(db, capsys):
    assert sql("select * from bt_index order by uid", "--db", db) == 0
    assert capsys.readouterr().out.splitlines() == [
        "uid                 entry_time           status    pnl_pct  is_aligned",
        "------------------  -------------------  --------  -------  ----------",
        "AAPL.062724.1335.L  2024-06-27 13:35:00  complete      1.5  true",
        "NVDA.062724.1630.L  2024-06-27 16:30:00  no_data      NULL  NULL",
        "(2 rows)",
    ]
    query = "select count(*) as requests from bt_index where status = 'complete'"
    assert sql(query, "--db", db) == 0
    assert capsys.readouterr().out.splitlines() == ["requests", "--------", "       1", "(1 row)"]


def test_csv_is_for_other_programs_and_the_query_can_come_from_stdin(db, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("select uid, pnl_pct, is_aligned\nfrom bt_index"))
    assert sql("-", "--csv", "--db", db) == 0
    assert capsys.readouterr().out == (
        "uid,pnl_pct,is_aligned\nAAPL.062724.1335.L,1.5,true\nNVDA.062724.1630.L,,\n"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "select * from bt_indx",
            "The query failed (Catalog Error: Table with name bt_indx does not exist; "
            'did you mean "bt_index"?): correct it and run it again.',
        ),
        (
            "selec 1",
            'The query failed (Parser Error: syntax error at or near "selec"): '
            "correct it and run it again.",
        ),
        (
            "select 1; select 2",
            "The query holds 2 statements: give exactly one, "
            'e.g. backtest sql "select * from bt_index limit 5".',
        ),
        ("  ", "The query holds 0 statements: give exactly one, "),
    ],
)
def test_a_bad_query_is_one_sentence_with_exit_code_2(db, query, message):
    with pytest.raises(BacktestError) as raised:
        sql(query, "--db", db)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_the_warehouse_is_opened_read_only(db):
    with pytest.raises(BacktestError, match="read-only mode"):
        sql("create table bt_extra as select 1 as one", "--db", db)
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables()").fetchone() == (1,)


def test_a_missing_warehouse_is_named_and_not_created(tmp_path):
    missing = tmp_path / "typo" / "backtest.duckdb"
    with pytest.raises(BacktestError, match=f"Warehouse {missing} does not exist: check --db"):
        sql("select 1", "--db", str(missing))
    assert not missing.parent.exists()
