"""``backtest export-bench``: rows/second of the Postgres export on synthetic demo requests.

Builds N demo requests (20 symbols x 20 weekdays, random minutes of the regular session and
random sides, seeded), then exports the bt_* tables to a throwaway local PostgreSQL cluster
(fsync on, as a real server runs) three times: first export into empty tables, re-export with
nothing changed, forced full re-export of identical rows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from backtest.core.config import Settings
from backtest.core.text import plural
from backtest.export.exporter import ExportReport, export_tables
from backtest.export.target import DEFAULT_BATCH_SIZES, ExportTarget
from benchmarks.bench import bench_requests
from benchmarks.pgcluster import start_cluster


def _line(label: str, report: ExportReport) -> str:
    bars = next((table.upserted for table in report.tables if table.table == "bt_bars"), 0)
    return (
        f"{label:<28} {plural(report.changed, 'row'):>14} ({bars:,} bt_bars) in "
        f"{report.seconds:6.2f} s"
        f"  = {report.rows_per_second:>9,.0f} rows/s"
    )


def _exports(db_path: Path, target: ExportTarget) -> list[str]:
    first = export_tables(db_path, target, init_schema=True)
    unchanged = export_tables(db_path, target)
    forced = export_tables(db_path, target, full=True)
    return [
        _line("first export (empty tables)", first),
        _line("re-export, nothing changed", unchanged),
        _line("forced full re-export", forced),
    ]


def run_export_benchmark(
    requests: int = 10_000,
    workdir: str | None = None,
    batch_size: int | None = None,
    db_url: str | None = None,
) -> list[str]:
    """Build, export three times and print the figures; returns the printed result lines.

    Args:
        requests: Demo requests to build (75 bt_bars rows each).
        workdir: Folder for the benchmark warehouse (kept); default a temporary one (removed).
        batch_size: Rows per batch; default the Postgres transport's.
        db_url: Export into this empty database instead of a throwaway local cluster.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="backtest-export-bench-") as folder:
            return _benchmark(Path(folder), requests, batch_size, db_url)
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    return _benchmark(folder, requests, batch_size, db_url)


def _benchmark(
    folder: Path, requests: int, batch_size: int | None, db_url: str | None
) -> list[str]:
    """Build the benchmark warehouse in ``folder``, export it three times, print the figures."""
    from backtest.core.requests import RunOptions
    from backtest.engine import run_requests

    db_path = folder / f"export-bench-{requests}.duckdb"
    for stale in folder.glob(f"{db_path.name}*"):
        stale.unlink()
    print(f"Building {plural(requests, 'demo request')} (SYNTHETIC bars) into {db_path} ...")
    started = time.perf_counter()
    report = run_requests(
        Settings.from_env(db_path),
        bench_requests(requests),
        RunOptions(),
        source="demo",
        show_progress=False,
    )
    print(f"Built {plural(len(report.uids), 'request')} in {time.perf_counter() - started:.1f} s.")
    if db_url:
        lines = _exports(db_path, ExportTarget("postgres", db_url=db_url, batch_size=batch_size))
    else:
        with start_cluster(durable=True) as cluster:
            target = ExportTarget("postgres", db_url=cluster.url(), batch_size=batch_size)
            print(
                f"Exporting to a throwaway PostgreSQL cluster ({cluster.bindir.parent.name}, "
                f"fsync on) at 127.0.0.1:{cluster.port} ..."
            )
            lines = _exports(db_path, target)
    batch = batch_size or DEFAULT_BATCH_SIZES["postgres"]
    print(f"\nPostgres export of {plural(requests, 'request')}, batches of {plural(batch, 'row')}:")
    for line in lines:
        print("  " + line)
    return lines
