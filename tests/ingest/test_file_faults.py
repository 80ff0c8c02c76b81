"""Bar files under faults: a huge sparse file in bounded memory, chunked reading that equals a
whole-file read, a bad --bars-time-format, and a symbol column that contradicts --bars-symbol."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from backtest.cli import main
from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from ingest import files
from ingest.files import FileOptions, iter_bar_chunks, normalise, read_bar_files, read_frame
from ingest.sources import ingest_batch
from tests.ingest.conftest import prepared, query

HEADER = "symbol,timestamp,open,high,low,close,volume\n"
REQUEST = ("AAPL", "2024-06-27 14:00:00", "LONG")
BIG_ROWS = 3_000_000
PEAK_GROWTH = """
    import resource, sys
    from pathlib import Path
    import pandas as pd
    from ingest import files
    from ingest.validation import validate_bars

    def rss_kb():
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])

    path, mode = Path(sys.argv[1]), sys.argv[2]
    one = {"symbol": ["A"], "bar_time": [pd.Timestamp("2024-01-02 14:30")], "open": [1.0],
           "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0]}
    validate_bars(pd.DataFrame(one))  # imports great-expectations before measuring
    base, rows = rss_kb(), 0
    if mode == "whole":
        rows = len(files.normalise(files.read_frame(path), str(path)))
    else:
        with files.spooled_bar_batches([path], folder=path.parent) as batches:
            for batch in batches:
                rows += len(validate_bars(batch).valid)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(rows, (peak - base) // 1024)
"""


def bar_file(tmp_path, rows: str, name: str = "bars.csv"):
    path = tmp_path / name
    path.write_text(HEADER + rows)
    return path


def sparse_csv(path, rows: int) -> None:
    """``rows`` valid bars of three symbols, one every 7 minutes over ~9 years, via DuckDB."""
    duckdb.sql(
        f"""
        copy (
            select ['AAPL', 'MSFT', 'SPY'][i % 3 + 1] as symbol,
                   strftime(timestamp '2000-01-03 14:30' + to_minutes((i // 3) * 7),
                            '%Y-%m-%dT%H:%M:%SZ') as timestamp,
                   10 + (i % 50) / 10 as open, 11 + (i % 50) / 10 as high,
                   9.5 + (i % 50) / 10 as low, 10 + (i % 50) / 10 as close, i % 1000 as volume
            from range({rows}) as numbers(i)
        ) to '{path}' (header)
        """
    )


def peak_growth_mb(path, mode: str) -> tuple[int, int]:
    """Rows read and peak RSS growth (MB) of reading ``path`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PEAK_GROWTH), str(path), mode],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows, growth = done.stdout.split()[-2:]
    return int(rows), int(growth)


def test_a_large_sparse_file_loads_in_bounded_memory(tmp_path, settings):
    path = tmp_path / "sparse.csv"
    sparse_csv(path, BIG_ROWS)
    whole_rows, whole_mb = peak_growth_mb(path, "whole")
    chunked_rows, chunked_mb = peak_growth_mb(path, "chunked")
    print(f"peak RSS growth: whole-file read {whole_mb} MB, chunked read+validate {chunked_mb} MB")
    assert whole_rows == chunked_rows == BIG_ROWS
    assert chunked_mb < whole_mb / 2
    _, report = ingest_batch(settings.db_path, prepared(REQUEST), "files", [path])
    assert (report.inserted, report.rejected, report.checked) == (BIG_ROWS, 0, BIG_ROWS)
    assert report.batches == -(-BIG_ROWS // files.CHUNK_ROWS)
    assert query(settings.db_path, "select count(*) from raw.bars_1m") == [(BIG_ROWS,)]


def test_duplicates_in_different_chunks_are_rejected_like_in_one_batch(
    tmp_path, settings, monkeypatch
):
    rows = [f"AAPL,2024-06-27T13:{minute:02d}:00Z,1,1,1,1,1\n" for minute in range(30, 40)]
    rows.append("AAPL,2024-06-27T13:31:00Z,2,2,2,2,2\n")  # repeats a minute of the first chunk
    path = bar_file(tmp_path, "".join(rows))
    monkeypatch.setattr(files, "CHUNK_ROWS", 3)
    _, report = ingest_batch(settings.db_path, prepared(REQUEST), "files", [path])
    assert (report.inserted, report.rejected, report.checked) == (9, 2, 11)
    assert report.reasons == (("duplicate minute for symbol", 2),)
    assert query(
        settings.db_path, "select count(*) from raw.bars_1m where bar_time = '2024-06-27 13:31'"
    ) == [(0,)]


def test_chunks_of_a_file_read_like_the_whole_file(tmp_path, shared_data):
    ambiguous = bar_file(  # the first stamp reads as month/day: later chunks must keep it
        tmp_path,
        "AAPL,01/02/2024 14:30,1,1,1,1,1\nAAPL,01/02/2024 14:31,1,1,1,1,1\n"
        "AAPL,13/02/2024 14:32,1,1,1,1,1\nAAPL,03/02/2024 14:33,1,1,1,1,1\n",
        "ambiguous.csv",
    )
    epochs = bar_file(tmp_path, "AAPL,1719495300,1,1,1,1,1\nAAPL,1719495360000,1,1,1,1,1\n")
    gzipped = tmp_path / "lumibot.csv.gz"
    gzipped.write_bytes(gzip.compress((shared_data / "lumibot" / "AAPL_Minute.csv").read_bytes()))
    cases = [
        (ambiguous, FileOptions()),
        (epochs, FileOptions()),
        (gzipped, FileOptions(symbol="AAPL")),
        (shared_data / "mplfinance" / "SP500_NOV2019_IDay.csv", FileOptions(symbol="SPX")),
    ]
    for path, options in cases:
        whole = normalise(read_frame(path), str(path), options, path)
        chunked = pd.concat(iter_bar_chunks([path], options, chunk_rows=2), ignore_index=True)
        pd.testing.assert_frame_equal(chunked.drop(columns="origin"), whole, obj=str(path))
    nt = shared_data / "pyalgotrade" / "nt-spy-minute-2011-03.csv"
    options = FileOptions(symbol="SPY")
    chunked = pd.concat(iter_bar_chunks([nt], options, chunk_rows=1000), ignore_index=True)
    pd.testing.assert_frame_equal(chunked, read_bar_files([nt], options))


def test_a_bad_time_format_directive_is_one_sentence_before_any_work(tmp_path, capsys):
    with pytest.raises(BacktestError, match="--bars-time-format '%Q' is not a strftime format"):
        FileOptions(time_format="%Q")
    path = bar_file(tmp_path, "AAPL,2024-06-27 13:59,1,1,1,1,1\n")
    db = tmp_path / "warehouse.duckdb"
    code = cli_run(db, path, "--bars-time-format", "%Y-%m-%d %H:%M%Q")
    error = capsys.readouterr().err.strip()
    assert code != 0 and error.count("\n") == 0
    assert "--bars-time-format '%Y-%m-%d %H:%M%Q'" in error and "e.g." in error
    assert not db.exists()


def test_a_time_format_that_reads_no_stamp_names_the_flag_and_writes_nothing(tmp_path, capsys):
    path = bar_file(tmp_path, "AAPL,2024-06-27 13:59,1,1,1,1,1\n")
    db = tmp_path / "warehouse.duckdb"
    code = cli_run(db, path, "--bars-time-format", "%m/%d/%Y %H:%M")
    error = capsys.readouterr().err.strip()
    assert code != 0 and error.count("\n") == 0
    assert f"No stamp in bar file {path} matches --bars-time-format '%m/%d/%Y %H:%M'" in error
    assert "'2024-06-27 13:59'" in error
    assert_nothing_stored(db)


def test_a_symbol_column_that_disagrees_with_bars_symbol_is_an_error(tmp_path, capsys):
    path = bar_file(tmp_path, "AAPL,2024-06-27T13:59:00Z,1,1,1,1,1\n")
    agreeing = read_bar_files([path], FileOptions(symbol=" aapl "))
    assert agreeing.symbol.tolist() == ["AAPL"]
    with pytest.raises(BacktestError) as raised:
        read_bar_files([path], FileOptions(symbol="MSFT"))
    message = str(raised.value)
    assert f"Bar file {path} holds symbol AAPL" in message and "--bars-symbol MSFT" in message
    db = tmp_path / "warehouse.duckdb"
    code = cli_run(db, path, "--bars-symbol", "MSFT", symbol="MSFT")
    error = capsys.readouterr().err.strip()
    assert code != 0 and error.count("\n") == 0 and "disagrees with --bars-symbol MSFT" in error
    assert_nothing_stored(db)


def cli_run(db, path, *flags: str, symbol: str = "AAPL") -> int:
    return main(
        [
            "run",
            "--db",
            str(db),
            "--symbol",
            symbol,
            "--entry-time",
            "2024-06-27 14:00:00",
            "--direction",
            "LONG",
            "--source",
            "files",
            "--bars",
            str(path),
            *flags,
        ]
    )


def assert_nothing_stored(db) -> None:
    if db.exists():
        for table in ("requests", "bars_1m", "validations"):
            assert query(db, f"select count(*) from raw.{table}") == [(0,)], table
