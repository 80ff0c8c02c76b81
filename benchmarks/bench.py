"""``backtest bench``: ingest and build timings for growing batches of demo requests.

Each size runs in its own process on a fresh warehouse (so peak memory is that run's), with
requests drawn without replacement from 20 symbols x 20 trading days x every minute of the
regular session x both sides. Ingest (request intake + synthetic bars + load) and the dbt build
are timed separately; a one-request re-run on the full warehouse shows the incremental cost.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.core.tables import format_table
from backtest.core.text import plural

SYMBOLS = 20
TRADING_DAYS = pd.bdate_range("2024-06-03", periods=20)


def bench_requests(count: int, seed: int = 7) -> pd.DataFrame:
    """``count`` distinct requests over the benchmark universe."""
    from ingest.demo import UNIVERSE

    symbols = sorted(UNIVERSE)[:SYMBOLS]
    minutes_per_day = 390
    grid = len(symbols) * len(TRADING_DAYS) * minutes_per_day * 2
    picks = np.random.default_rng(seed).choice(grid, size=min(count, grid), replace=False)
    symbol_index, rest = np.divmod(picks, len(TRADING_DAYS) * minutes_per_day * 2)
    day_index, rest = np.divmod(rest, minutes_per_day * 2)
    minute, side = np.divmod(rest, 2)
    local_open = (TRADING_DAYS[day_index] + pd.Timedelta(hours=9, minutes=30)).tz_localize(
        "America/New_York"
    )
    entry = local_open.tz_convert("UTC").tz_localize(None) + pd.to_timedelta(minute, unit="min")
    return pd.DataFrame(
        {
            "symbol": np.array(symbols)[symbol_index],
            "entry_time": entry.strftime("%Y-%m-%d %H:%M:%S"),
            "direction": np.where(side == 0, "LONG", "SHORT"),
        }
    )


def measure_one(count: int, workdir: Path) -> dict:
    """Ingest and build ``count`` requests into a fresh warehouse; return the figures."""
    from backtest.build.dbt import run_dbt_build
    from backtest.core.config import Settings
    from backtest.core.requests import RunOptions, prepare_requests
    from ingest import ingest_batch

    db_path = workdir / f"bench_{count}.duckdb"
    db_path.unlink(missing_ok=True)
    settings = Settings.from_env(db_path)
    frame = bench_requests(count)
    started = time.perf_counter()
    requests = prepare_requests(frame, RunOptions())
    _, load = ingest_batch(settings.db_path, requests, "demo")
    ingested = time.perf_counter()
    run_dbt_build(db_path, show_progress=False)
    built = time.perf_counter()
    ingest_batch(settings.db_path, requests.head(1), "demo")
    rerun_started = time.perf_counter()
    run_dbt_build(db_path, show_progress=False)
    rerun_seconds = time.perf_counter() - rerun_started
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    bars_rows = con.execute("select count(*) from bt_bars").fetchall()[0][0]
    con.close()
    return {
        "requests": len(requests),
        "bars_loaded": load.inserted,
        "ingest_seconds": ingested - started,
        "build_seconds": built - ingested,
        "rerun_one_seconds": rerun_seconds,
        "bt_bars_rows": bars_rows,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_benchmark(sizes: list[int], workdir: str | None = None) -> list[dict]:
    """Measure each size in a child process and print a table of the figures."""
    folder = Path(workdir or tempfile.mkdtemp(prefix="backtest-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(
        f"Benchmark on SYNTHETIC demo bars: 20 symbols x 20 trading days (warehouses in {folder})"
    )
    figures = []
    for count in sizes:
        print(f"  {plural(count, 'request')} ...", flush=True)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench", str(count), str(folder)],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            raise SystemExit(
                f"benchmark of {plural(count, 'request')} failed:\n{child.stderr[-2000:]}"
            )
        figures.append(json.loads(child.stdout.strip().splitlines()[-1]))
    rows = [
        [
            f["requests"],
            f["ingest_seconds"],
            f["build_seconds"],
            f["requests"] / f["build_seconds"],
            f["rerun_one_seconds"],
            f["bt_bars_rows"],
            f["peak_mb"],
        ]
        for f in figures
    ]
    print()
    print(
        format_table(
            [
                "requests",
                "ingest s",
                "build s",
                "build req/s",
                "re-run 1 s",
                "bt_bars rows",
                "peak MB",
            ],
            rows,
            digits=1,
        )
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(measure_one(int(sys.argv[1]), Path(sys.argv[2]))))
