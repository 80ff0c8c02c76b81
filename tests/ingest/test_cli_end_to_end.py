"""`backtest run --source polygon` against the local server, `backtest ingest`, and `run` with the
file-loader flags, from the command line to the bt_* tables."""

from __future__ import annotations

import pandas as pd

from backtest.cli import main
from tests.ingest.conftest import query

ENTRY = pd.Timestamp("2013-10-07 14:00")
SINGLE = ["--symbol", "SPY", "--entry-time", str(ENTRY), "--direction", "LONG"]
BARS_ONLY = ["--calculation", "m1_ema,rsi_14"]  # no quote-based plugin: one bars call, no quotes


def test_run_with_polygon_produces_results_from_the_served_bars(
    polygon, tmp_path, capsys, lean_bars
):
    db = str(tmp_path / "polygon.duckdb")
    assert main(["run", "--source", "polygon", *SINGLE, *BARS_ONLY, "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "Polygon: 1 API call made for 1 range, 0 saved by the cache" in shown
    assert "Validation (great-expectations):" in shown and "all passed" in shown
    spy = lean_bars[lean_bars.symbol == "SPY"].set_index("bar_time")
    [(uid, status, source)] = query(db, "select uid, status, data_source from bt_index")
    assert (uid, status, source) == ("SPY.100713.1400.L", "complete", "polygon")
    [(entry_price, exit_price)] = query(db, "select entry_price, exit_price from bt_aggregated")
    assert entry_price == spy.loc[ENTRY, "open"]
    assert exit_price == spy.loc[ENTRY + pd.Timedelta(minutes=59), "close"]
    assert query(db, "select count(*) from bt_bars") == [(75,)]
    polygon.reset()
    assert main(["run", "--source", "polygon", *SINGLE, *BARS_ONLY, "--db", db]) == 0
    assert "0 API calls made for 0 ranges, 1 saved by the cache" in capsys.readouterr().out
    assert polygon.log == []


def test_ingest_loads_a_requests_file_without_building(polygon, tmp_path, capsys):
    requests = tmp_path / "requests.csv"
    requests.write_text(
        "symbol,entry_time,direction\n"
        "SPY,2013-10-07 14:00:00,LONG\nAAPL,2014-06-06 19:00:00,SHORT\n"
    )
    db = str(tmp_path / "ingest.duckdb")
    args = ["ingest", "--requests", str(requests), "--source", "polygon", "--raw", "--db", db]
    assert main(args) == 0
    shown = capsys.readouterr().out
    assert "Polygon: 2 API calls made" in shown and "Stored 2 requests" in shown
    assert query(db, "select count(*) from raw.requests where data_source = 'polygon-raw'") == [
        (2,)
    ]
    tables = {name for (name,) in query(db, "select table_name from information_schema.tables")}
    assert "bt_index" not in tables
    assert [call.query["adjusted"] for call in polygon.requests_to("/v2/aggs/")] == ["false"] * 2
    assert main([*args, "--kinds", "bars,ticks"]) == 2
    assert "--kinds ticks is unknown" in capsys.readouterr().err


def test_polygon_errors_reach_the_user_as_one_line_without_a_traceback(
    polygon, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("POLYGON_API_KEY", "wrong")
    assert main(["run", "--source", "polygon", *SINGLE, "--db", str(tmp_path / "e.duckdb")]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    [line] = [line for line in error.splitlines() if line.startswith("error:")]
    assert line == "error: Polygon rejected the API key (Unknown API Key): check POLYGON_API_KEY."


def test_run_reads_a_ninjatrader_export_with_the_file_flags(shared_data, tmp_path, capsys):
    path = shared_data / "pyalgotrade" / "nt-spy-minute-2011-03.csv"
    db = str(tmp_path / "files.duckdb")
    flags = ["--symbol", "SPY", "--entry-time", "2011-03-14 13:30:00", "--direction", "LONG"]
    assert (
        main(
            [
                "run",
                "--source",
                "files",
                "--bars",
                str(path),
                "--bars-symbol",
                "SPY",
                "--db",
                db,
                *flags,
            ]
        )
        == 0
    )
    raw = pd.read_csv(
        path, sep=";", header=None, names=["stamp", "o", "h", "l", "c", "v"], dtype={"stamp": str}
    )
    # end-labelled UTC: the bar that starts at 13:30 UTC (09:30 EDT) is stamped 13:31
    [(entry_price,)] = query(db, "select entry_price from bt_aggregated")
    assert entry_price == raw.set_index("stamp").loc["20110314 133100", "o"]
    assert "Bars: 17,577 new" in capsys.readouterr().out
