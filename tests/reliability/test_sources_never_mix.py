"""Bars of different sources never overwrite or mix: each request is built from its own source's
bars, bt_index.data_source tells the truth, and the demo source stays out of a warehouse holding
real data unless the user says otherwise (issue 8, item 1)."""

from __future__ import annotations

import duckdb
import pytest

from backtest.cli import main
from backtest.core.errors import BacktestError
from ingest import SourceOptions
from ingest.files import FileOptions
from tests.fixtures import requests_frame

REAL = requests_frame(("AAPL", "2021-08-24 14:00:00", "LONG"))
BY_NAME = SourceOptions(files=FileOptions(symbol_pattern=r"^([A-Z]+)_"))


@pytest.fixture
def aapl_file(shared_data):
    return shared_data / "lumibot" / "AAPL_Minute.csv"


def rows(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def real_state(settings) -> dict:
    return {
        "bars": rows(
            settings,
            "select * exclude (loaded_at) from raw.bars_1m "
            "where data_source = 'files' order by all",
        ),
        "result": rows(
            settings,
            "select index.uid, index.data_source, entry_price, exit_price, "
            "pnl from bt_index as index join bt_aggregated using (uid) "
            "where index.data_source = 'files' order by all",
        ),
    }


def test_the_demo_source_refuses_a_warehouse_holding_real_bars(run, settings, aapl_file):
    run(REAL, source="files", bars=[aapl_file], source_options=BY_NAME)
    before = real_state(settings)
    with pytest.raises(BacktestError, match=r"holds real data \(files\).*--allow-synthetic"):
        run(REAL)
    assert real_state(settings) == before
    assert rows(settings, "select count(*) from raw.requests where data_source <> 'files'") == [
        (0,)
    ]


def test_the_cli_says_so_in_one_sentence_and_exits_non_zero(run, settings, aapl_file, capsys):
    run(REAL, source="files", bars=[aapl_file], source_options=BY_NAME)
    request = ["--symbol", "AAPL", "--entry-time", "2021-08-24 14:00:00", "--direction", "LONG"]
    capsys.readouterr()  # what the first run printed
    assert main(["run", *request, "--db", str(settings.db_path)]) == 2

    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: Warehouse ")


def test_allowed_demo_bars_sit_beside_real_ones_and_never_replace_them(run, settings, aapl_file):
    real = run(REAL, source="files", bars=[aapl_file], source_options=BY_NAME)
    before = real_state(settings)
    assert before["result"][0][1] == "files" and 140 < before["result"][0][2] < 160
    other = requests_frame(("AAPL", "2021-08-24 15:00:00", "SHORT"))
    demo = run(other, source_options=SourceOptions(allow_synthetic=True))
    assert demo.load.updated == 0 and demo.load.inserted > 0
    assert real_state(settings) == before
    sources = rows(settings, "select uid, data_source from bt_index order by uid")
    assert sources == [(real.uids[0], "files"), (demo.uids[0], "demo-synthetic")]
    run(
        requests_frame(("MSFT", "2021-08-24 15:00:00", "LONG")),
        source="files",
        bars=[aapl_file.with_name("MSFT_Minute.csv")],
        source_options=BY_NAME,
        full_refresh=True,
    )
    assert real_state(settings)["result"][0] == before["result"][0]
    demo_entry = rows(
        settings, f"select entry_price from bt_aggregated where uid = '{demo.uids[0]}'"
    )
    assert demo_entry[0][0] < 100  # the demo request still reads its own (synthetic) bars


def test_a_request_moved_to_another_source_says_so(run, settings, aapl_file):
    run(REAL, source="files", bars=[aapl_file], source_options=BY_NAME)
    run(REAL, source_options=SourceOptions(allow_synthetic=True))
    ((source, entry),) = rows(
        settings,
        "select data_source, entry_price from bt_index join bt_aggregated using (uid)",
    )
    assert source == "demo-synthetic" and entry < 100
    run(REAL, source="files", bars=[aapl_file], source_options=BY_NAME)
    ((source, entry),) = rows(
        settings,
        "select data_source, entry_price from bt_index join bt_aggregated using (uid)",
    )
    assert source == "files" and 140 < entry < 160
