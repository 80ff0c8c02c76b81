"""``--output`` at scale and the summary of a large batch (issue 12, item 3): Parquet with the
JSON's fields, JSON written in chunks, and aggregate figures equal to a pandas recomputation."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from backtest.build import results
from backtest.build.results import (
    LARGE_BATCH,
    batch_figures,
    fetch_results,
    summarize,
    write_output,
)
from backtest.core.config import PROJECT_ROOT, Settings
from backtest.core.requests import RunOptions
from backtest.core.warehouse import connect
from backtest.engine import run_requests

SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY", "TSLA", "QQQ"]
NO_DATA = ("QQQQ", "2024-06-27 15:00:00", "LONG")  # not in the demo universe: no bars


def batch_requests(count: int) -> pd.DataFrame:
    """``count`` distinct demo requests over two days, both sides, then one without data."""
    rows = []
    for index in range(count):
        day = "2024-06-27" if index % 2 else "2024-06-28"
        minute = pd.Timestamp(f"{day} 13:35") + pd.Timedelta(minutes=(index * 7) % 300)
        side = "LONG" if index % 3 else "SHORT"
        rows.append((SYMBOLS[index % len(SYMBOLS)], minute.strftime("%Y-%m-%d %H:%M:%S"), side))
    rows.append(NO_DATA)
    return pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"])


@pytest.fixture(scope="module")
def batch(tmp_path_factory, _isolated_dbt_paths) -> tuple[Path, list[str]]:
    """A warehouse holding a batch above LARGE_BATCH (one request without data), built once
    through the real ingest and dbt build; its uids in request order."""
    path = tmp_path_factory.mktemp("large-batch") / "batch.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BACKTEST_DB", str(path))
        report = run_requests(
            Settings.from_env(path),
            batch_requests(LARGE_BATCH + 10),
            RunOptions(),
            source="demo",
            show_progress=False,
        )
    assert len(report.uids) > LARGE_BATCH
    return path, report.uids


@pytest.fixture
def con(batch):
    """The warehouse as the CLI opens it (with the project's DuckDB settings)."""
    with connect(batch[0], read_only=True) as connection:
        yield connection


def parquet_as_json(path: Path) -> list[dict]:
    """The Parquet rows in the JSON's terms: the UTC timestamp as ISO text, each signal's
    metadata parsed."""
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        assert row["entry_time"].utcoffset().total_seconds() == 0
        row["entry_time"] = row["entry_time"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for signal in row["signals"]:
            signal["metadata"] = json.loads(signal["metadata"])
    return rows


def test_parquet_has_the_json_fields_for_a_batch_and_a_single_request(batch, con, tmp_path):
    _, uids = batch
    write_output(con, uids, tmp_path / "batch.json", single=False)
    write_output(con, uids, tmp_path / "batch.parquet", single=False)
    expected = json.loads((tmp_path / "batch.json").read_text())
    got = parquet_as_json(tmp_path / "batch.parquet")
    assert [row["uid"] for row in got] == uids
    assert any(row["status"] == "no_data" for row in got)
    for row, wanted in zip(got, expected, strict=True):
        assert row == wanted, row["uid"]

    write_output(con, uids[-1:], tmp_path / "one.parquet", single=True)
    write_output(con, uids[-1:], tmp_path / "one.json", single=True)
    (single,) = parquet_as_json(tmp_path / "one.parquet")
    assert single == json.loads((tmp_path / "one.json").read_text())
    assert single["status"] == "no_data" and single["forward"]["pnl_pct"] is None


def test_the_parquet_types_are_nested(batch, con, tmp_path):
    write_output(con, batch[1], tmp_path / "batch.parquet", single=False)
    schema = pq.read_schema(tmp_path / "batch.parquet")
    assert str(schema.field("signals").type).startswith("list<element: struct<calculation")
    assert str(schema.field("entry_time").type) == "timestamp[us, tz=UTC]"
    consensus = schema.field("consensus").type
    assert str(consensus.field("vote_breakdown").type) == (
        "struct<BULLISH: int32, BEARISH: int32, NEUTRAL: int32>"
    )
    assert [field.name for field in schema.field("forward").type] == results.FORWARD_KEYS
    frame = pd.read_parquet(tmp_path / "batch.parquet")  # pandas reads it as it is
    assert frame["uid"].tolist() == batch[1]


def test_outputs_written_in_many_chunks_equal_one_piece(batch, con, tmp_path, monkeypatch):
    _, uids = batch
    write_output(con, uids, tmp_path / "whole.json", single=False)
    write_output(con, uids, tmp_path / "whole.parquet", single=False)
    expected = json.loads((tmp_path / "whole.json").read_text())

    monkeypatch.setattr(results, "RESULT_CHUNK", 7)  # 9 chunks, the last one short
    monkeypatch.setattr(results, "FETCH_ROWS", 3)
    write_output(con, uids, tmp_path / "chunked.json", single=False)
    write_output(con, uids, tmp_path / "chunked.parquet", single=False)
    assert (tmp_path / "chunked.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    assert parquet_as_json(tmp_path / "chunked.parquet") == parquet_as_json(
        tmp_path / "whole.parquet"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "chunked.json",
        "chunked.parquet",
        "whole.json",
        "whole.parquet",
    ]

    monkeypatch.setattr(results, "PRETTY_JSON_MAX", 10)  # above it: one result per line
    write_output(con, uids, tmp_path / "lines.json", single=False)
    lines = (tmp_path / "lines.json").read_text().splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(uids) + 2
    assert json.loads((tmp_path / "lines.json").read_text()) == expected


def test_a_small_json_output_is_what_json_dumps_writes(batch, con, tmp_path):
    uids = batch[1][:12]
    write_output(con, uids, tmp_path / "small.json", single=False)
    expected = json.dumps(fetch_results(con, uids), indent=2) + "\n"
    assert (tmp_path / "small.json").read_text() == expected
    write_output(con, uids[:1], tmp_path / "one.json", single=True)
    assert (tmp_path / "one.json").read_text() == (
        json.dumps(fetch_results(con, uids[:1])[0], indent=2) + "\n"
    )


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_writing_shows_progress_on_a_terminal_only(batch, con, tmp_path, monkeypatch, suffix):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(results, "RESULT_CHUNK", 25)
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    write_output(con, batch[1], tmp_path / f"shown{suffix}", single=False, show_progress=True)
    total = len(batch[1])
    frames = [frame.strip() for frame in screen.getvalue().split("\r") if frame.strip()]
    assert frames[0].startswith(f"writing shown{suffix} [")
    assert frames[-1].startswith(f"writing shown{suffix} [################]  {total}/{total}")

    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    write_output(con, batch[1], tmp_path / f"piped{suffix}", single=False, show_progress=True)
    assert pipe.getvalue() == ""


def expected_figures(con: duckdb.DuckDBPyConnection, uids: list[str]) -> dict:
    """The large-batch figures recomputed with pandas from the warehouse's rows."""
    frame = con.execute(
        "select request.uid, request.status, aggregated.* exclude (uid) from bt_index as request "
        "inner join bt_aggregated as aggregated on aggregated.uid = request.uid"
    ).df()
    frame = frame.set_index("uid").loc[uids].reset_index()  # request order

    def group_figures(group: pd.DataFrame) -> dict:
        measured = group["pnl_pct"].dropna()
        return {
            "requests": len(group),
            "aligned_pct": group["aligned_with_trade"].mean() * 100,
            "mean_pnl_pct": measured.mean(),
            "median_pnl_pct": measured.median(),
            "win_rate_pct": (measured > 0).mean() * 100,
            "mean_mfe_pct": group["max_favorable_excursion_pct"].mean(),
            "mean_mae_pct": group["max_adverse_excursion_pct"].mean(),
        }

    groups = {name: group_figures(group) for name, group in frame.groupby("consensus_direction")}
    groups["all"] = group_figures(frame)
    measured = frame.dropna(subset=["pnl_pct"])
    return {
        "by_status": frame["status"].value_counts().to_dict(),
        "groups": groups,
        "best": measured.loc[measured["pnl_pct"].idxmax(), "uid"],
        "worst": measured.loc[measured["pnl_pct"].idxmin(), "uid"],
    }


def test_the_large_batch_figures_equal_a_pandas_recomputation(batch, con):
    _, uids = batch
    figures = batch_figures(con, uids)
    expected = expected_figures(con, uids)
    assert figures.by_status == expected["by_status"]
    assert figures.by_status["no_data"] == 1
    assert [group.consensus for group in figures.groups][-1] == "all"
    assert {group.consensus for group in figures.groups} == set(expected["groups"])
    for group in figures.groups:
        wanted = expected["groups"][group.consensus]
        for name, value in wanted.items():
            got = getattr(group, name)
            assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-12), (group, name)
    assert (figures.best[0], figures.worst[0]) == (expected["best"], expected["worst"])


def test_the_summary_of_a_large_batch_shows_figures_not_a_row_per_request(batch, con):
    _, uids = batch
    summary = summarize(con, uids)
    figures = batch_figures(con, uids)
    assert figures.text() in summary.text
    assert "bull/bear/neutral" not in summary.text
    shown = [uid for uid in uids if uid in summary.text]
    assert shown == [uid for uid in uids if uid in (figures.best[0], figures.worst[0])]
    totals = summary.text.splitlines()[-1]
    assert totals.startswith(f"{len(uids)} requests: ") and "1 no_data" in totals
    all_row = next(line for line in summary.text.splitlines() if line.startswith("all "))
    assert all_row.split()[1] == str(len(uids))
    assert (summary.requests, summary.no_data) == (len(uids), 1)

    small = summarize(con, uids[:LARGE_BATCH])
    assert "bull/bear/neutral" in small.text and "... and 30 more" in small.text


def test_the_readme_shows_the_figures_as_the_run_prints_them(batch, con):
    readme = (PROJECT_ROOT / "README.md").read_text()
    printed = batch_figures(con, batch[1]).text().splitlines()
    headers = [line for line in printed if line.startswith(("status ", "consensus ", "-"))]
    assert len(headers) == 4
    assert all(f"\n{line}\n" in readme for line in headers), headers


class FailingConnection:
    """The warehouse connection, whose ``fail_at``-th statement fails as a full disk would."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fail_at: int) -> None:
        self.con, self.fail_at, self.statements = con, fail_at, 0

    def execute(self, query: str, *args):
        self.statements += 1
        if self.statements == self.fail_at:
            raise duckdb.IOException("IO Error: No space left on device")
        return self.con.execute(query, *args)

    def __getattr__(self, name: str):
        return getattr(self.con, name)


@pytest.mark.parametrize("name", ["results.json", "results.parquet"])
def test_a_failed_write_leaves_the_earlier_file_and_no_debris(
    batch, con, tmp_path, monkeypatch, name
):
    output = tmp_path / name
    output.write_text("the earlier results")
    monkeypatch.setattr(results, "RESULT_CHUNK", 25)  # three chunks: Parquet goes via parts
    with pytest.raises(duckdb.IOException):
        write_output(FailingConnection(con, fail_at=3), batch[1], output, single=False)
    assert output.read_text() == "the earlier results"
    assert [path.name for path in tmp_path.iterdir()] == [name]
