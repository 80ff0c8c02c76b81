"""``backtest bench`` latencies: one new request on data the warehouse already holds.

Two numbers a trader feels, on SYNTHETIC demo bars (AAPL, 27 June 2024, every calculation):

* **cold CLI**: ``backtest run`` for one new request, as a new process, wall time from start to
  exit (imports, ingest, dbt, results, summary), after one earlier run loaded the day and left
  dbt's parsed manifest in the target folder;
* **warm process**: the Python API's ``BacktestEngine`` running one new request in-process,
  after a first warm-up request in the same process (manifest in memory, modules imported).

Each is measured ``repeats`` times with a new request every time (a new entry minute), in child
processes on a warehouse and dbt target folder of their own; the median is shown with a
breakdown: imports (cold only), ingest, the manifest (a stored copy, or a parse), the dbt build
and the rest (reading the results, the summary, interpreter start and exit). The cold CLI's
breakdown comes from one more run of the same path in a child process that times its stages. CPU
time is shown beside wall time: on a busy machine the wall time of a mostly single-threaded run
grows, its CPU time does not.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYMBOL = "AAPL"
DAY = "2024-06-27"
FIRST_MINUTE = 14 * 60  # 14:00 UTC, inside the regular session


def _entry(index: int) -> str:
    """A distinct entry minute per measured request: 14:00, 14:03, ... UTC."""
    minute = FIRST_MINUTE + 3 * index
    return f"{DAY} {minute // 60:02d}:{minute % 60:02d}:00"


def _environment(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BACKTEST_DB": str(workdir / "latency.duckdb"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
    }


def _child(mode: str, workdir: Path, *args: str) -> dict:
    """Run this module as a child process in ``mode``; its last output line is JSON."""
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.latency", mode, str(workdir), *args],
        capture_output=True,
        text=True,
        env=_environment(workdir),
    )
    if child.returncode != 0:
        raise SystemExit(f"latency benchmark ({mode}) failed:\n{child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli_run(workdir: Path, entry: str) -> dict:
    """Wall and CPU time of ``backtest run`` for one request, as a new process."""
    argv = [sys.executable, "-m", "backtest.cli", "run", "--symbol", SYMBOL]
    argv += ["--entry-time", entry, "--direction", "LONG", "--source", "demo"]
    cpu, started = _children_cpu(), time.perf_counter()
    child = subprocess.run(argv, capture_output=True, text=True, env=_environment(workdir))
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"`backtest run` failed:\n{child.stderr[-2000:]}")
    return {"wall": seconds, "cpu": _children_cpu() - cpu}


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def measure_latency(workdir: str | Path | None = None, repeats: int = 3) -> dict:
    """Measure both latencies; return the medians and their breakdowns (seconds).

    Args:
        workdir: where the warehouse and dbt's target folder go (a new temporary folder
            when None).
        repeats: new requests measured for each latency.
    """
    folder = Path(workdir or tempfile.mkdtemp(prefix="backtest-latency-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latency.duckdb").unlink(missing_ok=True)
    first = _cli_run(folder, _entry(0))  # loads the day and parses: the cache both later use
    cold = [_cli_run(folder, _entry(index)) for index in range(1, repeats + 1)]
    phases = _child("phases", folder, _entry(repeats + 1))
    warm = _child("warm", folder, str(repeats), str(repeats + 2))["runs"]
    cold_parts = ("imports", "ingest", "manifest", "dbt")
    warm_parts = ("ingest", "manifest", "dbt")
    cold_wall, warm_wall = _median(cold, "wall"), _median(warm, "wall")
    return {
        "first_run": first["wall"],
        "cold_cli": {
            "wall": cold_wall,
            "cpu": _median(cold, "cpu"),
            **{key: phases[key] for key in cold_parts},
            "rest": cold_wall - sum(phases[key] for key in cold_parts),
        },
        "warm_process": {
            "wall": warm_wall,
            "cpu": _median(warm, "cpu"),
            **{key: _median(warm, key) for key in warm_parts},
            "rest": warm_wall - sum(_median(warm, key) for key in warm_parts),
        },
        "repeats": repeats,
        "workdir": str(folder),
    }


def render_latency(figures: dict) -> str:
    """The two latencies as a few lines with their breakdowns."""

    def parts(row: dict, keys: tuple[str, ...]) -> str:
        return ", ".join(f"{key} {row[key]:.2f}" for key in keys)

    cold, warm = figures["cold_cli"], figures["warm_process"]
    return "\n".join(
        [
            f"One new request on cached data ({SYMBOL} {DAY}, SYNTHETIC demo bars, every "
            f"calculation; median of {figures['repeats']}, seconds):",
            f"  cold CLI (`backtest run`, new process): {cold['wall']:.2f} wall, "
            f"{cold['cpu']:.2f} CPU  [{parts(cold, ('imports', 'ingest', 'manifest', 'dbt'))}, "
            f"rest {cold['rest']:.2f}]",
            f"  warm process (BacktestEngine, after a warm-up request): {warm['wall']:.2f} wall, "
            f"{warm['cpu']:.2f} CPU  [{parts(warm, ('ingest', 'manifest', 'dbt'))}, "
            f"rest {warm['rest']:.2f}]",
            f"  (the first run, which loaded the day and parsed the project: "
            f"{figures['first_run']:.2f})",
        ]
    )


def run_latency(workdir: str | Path | None = None, repeats: int = 3) -> dict:
    """Measure and print both latencies."""
    print("Latency of one request ...", flush=True)
    figures = measure_latency(workdir, repeats)
    print(render_latency(figures))
    return figures


def _phases(entry: str) -> dict:
    """The stages of one ``backtest run`` (the CLI's own path, in this fresh process)."""
    started = time.perf_counter()
    import dbt.cli.main  # noqa: F401  (what the build imports, counted with the imports)
    import pandas as pd

    from backtest.build.results import summarize
    from backtest.core.config import Settings
    from backtest.core.requests import RunOptions
    from backtest.core.warehouse import connect
    from backtest.engine import run_requests

    imported = time.perf_counter()
    settings = Settings.from_env()
    frame = pd.DataFrame({"symbol": [SYMBOL], "entry_time": [entry], "direction": ["LONG"]})
    report = run_requests(settings, frame, RunOptions(), source="demo", show_progress=False)
    with connect(settings.db_path) as con:
        summarize(con, report.uids)
    return {
        "imports": imported - started,
        "ingest": report.ingest_seconds,
        "manifest": report.build.manifest_seconds,
        "dbt": report.build.seconds - report.build.manifest_seconds,
        "parsed": report.build.parsed,
    }


def _warm(repeats: int, first_index: int) -> dict:
    """A warm-up request, then ``repeats`` new ones, in this process through the Python API."""
    import asyncio

    from backtest.api import BacktestConfig, BacktestEngine
    from ingest.validation import warm_up_in_background

    engine = BacktestEngine()
    runs = []
    for index in range(first_index, first_index + repeats + 1):
        config = BacktestConfig(symbol=SYMBOL, entry_time=_entry(index), direction="LONG")
        warm_up_in_background().join()  # a long-lived process has finished warming up
        cpu, started = time.process_time(), time.perf_counter()
        asyncio.run(engine.run_backtest(config))
        report = engine.last_report
        runs.append(
            {
                "wall": time.perf_counter() - started,
                "cpu": time.process_time() - cpu,
                "ingest": report.ingest_seconds,
                "manifest": report.build.manifest_seconds,
                "dbt": report.build.seconds - report.build.manifest_seconds,
                "parsed": report.build.parsed,
            }
        )
    return {"runs": runs[1:]}


if __name__ == "__main__":
    mode, _workdir, *rest = sys.argv[1:]
    if mode == "phases":
        print(json.dumps(_phases(rest[0])))
    else:
        print(json.dumps(_warm(int(rest[0]), int(rest[1]))))
