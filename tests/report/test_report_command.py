"""``backtest report`` as a command: the selection, its errors, and figures that are the marts'
own numbers."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from backtest.cli import main
from backtest.report import build_report, tear_sheet
from backtest.report.marts import render_mart
from backtest.report.queries import event_path, signal_performance
from backtest.report.selection import RELATIONS, select_requests

EVENT_KEY = ["group_kind", "group_value", "bar_offset"]
PERFORMANCE_KEY = ["calculation", "call_direction", "horizon_minutes"]


def sorted_frame(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def assert_same_table(got: pd.DataFrame, stored: pd.DataFrame, key: list[str]) -> None:
    got, stored = sorted_frame(got, key), sorted_frame(stored, key)
    assert list(got.columns) == list(stored.columns)
    assert len(got) == len(stored) > 0
    for column in stored.columns:
        if pd.api.types.is_float_dtype(stored[column]):
            np.testing.assert_allclose(got[column], stored[column], rtol=1e-9, atol=1e-12)
        else:
            assert got[column].tolist() == stored[column].tolist(), column


@pytest.mark.parametrize("where", [None, "true"], ids=["no filter", "a filter keeping all"])
def test_the_marts_rendered_on_a_whole_selection_equal_the_built_marts(demo_warehouse, where):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        select_requests(con, where)
        assert_same_table(
            event_path(con), con.execute("select * from bt_event_path").df(), EVENT_KEY
        )
        assert_same_table(
            signal_performance(con),
            con.execute("select * from bt_signal_performance").df(),
            PERFORMANCE_KEY,
        )


def test_the_drawn_path_and_hit_rates_are_the_marts_numbers(demo_warehouse):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        report = build_report(con, demo_warehouse, where="true")
        path = con.execute("select * from bt_event_path order by bar_offset").df()
        performance = con.execute("select * from bt_signal_performance").df()
    figures = {section.key: section.figure for section in report.sections}
    lines = [trace for trace in figures["path-consensus"].data if trace.name]
    assert lines
    for trace in lines:
        group = "all" if trace.name.startswith("all entries") else trace.name.split(" (")[0]
        kind = "all" if group == "all" else "consensus_direction"
        expected = path[(path.group_kind == kind) & (path.group_value == group)]
        np.testing.assert_allclose(trace.y, expected.mean_return_pct, rtol=1e-9)
    bars = [trace for trace in figures["hit-rate"].data if trace.type == "bar"]
    assert bars
    for trace in bars:
        call = "BULLISH" if trace.xaxis == "x" else "BEARISH"
        expected = performance[
            (performance.calculation == trace.name) & (performance.call_direction == call)
        ].sort_values("horizon_minutes")
        np.testing.assert_allclose(trace.y, expected.hit_rate_pct, rtol=1e-9)


def test_a_where_clause_narrows_every_view(demo_warehouse):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        selection = select_requests(con, "symbol = 'AAPL' and direction = 'LONG'")
        expected = con.execute(
            "select count(*) from bt_index where symbol = 'AAPL' and direction = 'LONG'"
        ).fetchone()[0]
        assert selection.requests == expected > 0
        assert selection.symbols == ("AAPL",)
        assert selection.synthetic_requests == expected
        for name, view in RELATIONS.items():
            outside = con.execute(
                f"select count(*) from {view} inner join bt_index using (uid) "
                "where bt_index.symbol <> 'AAPL' or bt_index.direction <> 'LONG'"
            ).fetchone()[0]
            assert outside == 0, name
        measured = con.execute(
            "select entries from (" + render_mart("bt_event_path", RELATIONS) + ") "
            "where group_kind = 'all' and bar_offset = 0"
        ).fetchone()[0]
    assert measured == selection.measured


@pytest.mark.parametrize(
    "where, says",
    [
        ("symbl = 'AAPL'", 'Referenced column "symbl" not found'),
        ("symbol = = 'AAPL'", "syntax error"),
        ("true); drop table bt_index; select (1", "is not one SQL condition"),
        ("true; drop table bt_index", "syntax error"),
        ("no_such_function(symbol)", "no_such_function does not exist"),
    ],
)
def test_a_bad_where_is_one_sentence_and_writes_nothing(
    demo_warehouse, tmp_path, capsys, where, says
):
    output = tmp_path / "report.html"
    code = main(["report", "--db", str(demo_warehouse), "--output", str(output), "--where", where])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: --where ") and error.count("\n") == 1, error
    assert says in error
    assert "use columns of bt_index and bt_aggregated" in error or "one SQL condition" in error
    assert list(tmp_path.iterdir()) == []


def test_a_missing_warehouse_is_one_sentence(tmp_path, capsys):
    missing = tmp_path / "nowhere.duckdb"
    code = main(["report", "--db", str(missing), "--output", str(tmp_path / "report.html")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert f"Warehouse {missing} does not exist" in error
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_refused_before_any_work(demo_warehouse, tmp_path, capsys):
    code = main(
        ["report", "--db", str(demo_warehouse), "--output", str(tmp_path / "no" / "r.html")]
    )
    assert code == 2
    assert "does not exist; create it first" in capsys.readouterr().err


def test_a_failed_write_keeps_the_previous_report_and_leaves_no_partial_file(
    demo_warehouse, tmp_path, monkeypatch
):
    def fail(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(tear_sheet.os, "replace", fail)
    output = tmp_path / "report.html"
    output.write_text("the previous report")
    with pytest.raises(OSError, match="disk full"):
        main(["report", "--db", str(demo_warehouse), "--output", str(output)])
    assert output.read_text() == "the previous report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]


def test_help_names_the_flags(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["report", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for flag in ("--db", "--output", "--where", "--title"):
        assert flag in shown
