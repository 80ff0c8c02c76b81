"""``backtest bench``: ingest and build timings for growing batches of demo requests.

Each size runs in its own process on a fresh warehouse, with requests drawn without replacement
from a SYNTHETIC universe sized to the request count: every demo symbol, and as many trading
days as it takes for the requests to fill about half of every minute of the regular session on
both sides (so the bars, trades and quotes per request stay the same at every size). Ingest
(request intake + synthetic bars, trades and quotes + load) and the dbt build are timed
separately, with the CPU time beside the wall time; the peak memory is that of the whole
process tree of the size (its process and every descendant, sampled from ``/proc``); then one
request of the batch is re-submitted on the full warehouse (the incremental path). The cost per
request is compared with the previous size's, so growth faster than the work shows.

``--via-files`` runs the same batch through the command line instead: the requests as a CSV,
their bars as one Parquet file (generic layout), ``backtest run --requests ... --source files
--bars ...`` as a child process; its re-run is ``backtest run`` of the first request with the
same file, a new process too (its files are unchanged, so nothing is loaded).

On a terminal a line shows which size and stage is running and for how long; in pipes and logs
only the table is printed.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.core.tables import format_table
from backtest.core.text import plural

FIRST_DAY = "2024-06-03"
REGULAR_MINUTES = 390
FILL = 0.5
"""The share of the universe's (symbol, day, minute, side) slots the requests take."""


def universe(count: int) -> tuple[list[str], pd.DatetimeIndex]:
    """The symbols and trading days of the benchmark of ``count`` requests.

    >>> symbols, days = universe(1_000_000)
    >>> len(symbols), len(days), str(days[0].date())
    (24, 107, '2024-06-03')
    """
    from ingest.demo import UNIVERSE

    symbols = sorted(UNIVERSE)
    slots_per_day = len(symbols) * REGULAR_MINUTES * 2
    days = max(1, math.ceil(count / (slots_per_day * FILL)))
    return symbols, pd.bdate_range(FIRST_DAY, periods=days)


def bench_requests(count: int, seed: int = 7) -> pd.DataFrame:
    """``count`` distinct requests over the benchmark universe (deterministic for a seed)."""
    symbols, days = universe(count)
    grid = len(symbols) * len(days) * REGULAR_MINUTES * 2
    picks = np.random.default_rng(seed).choice(grid, size=count, replace=False)
    symbol_index, rest = np.divmod(picks, len(days) * REGULAR_MINUTES * 2)
    day_index, rest = np.divmod(rest, REGULAR_MINUTES * 2)
    minute, side = np.divmod(rest, 2)
    local_open = (days[day_index] + pd.Timedelta(hours=9, minutes=30)).tz_localize(
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


def _emit(**message) -> None:
    """One JSON line to the parent (the stage this child is in, or its figures)."""
    print(json.dumps(message), flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _progress():
    """The engine's progress, forwarded to the parent as stage lines and node counts."""
    from backtest.engine import Progress

    last = [0.0]

    def node(done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or done == total:
            last[0] = now
            _emit(node=f"{done} of {total} nodes ({name})")

    return Progress(stage=lambda message: _emit(stage=message.strip()), node=node)


def _counts(db_path: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        indexed, bars = con.execute(
            "select (select count(*) from bt_index), (select count(*) from bt_bars)"
        ).fetchone()
    finally:
        con.close()
    return {"bt_index_rows": indexed, "bt_bars_rows": bars}


def _rerun_one(db_path: Path, frame: pd.DataFrame, source: str, bar_paths=()) -> dict:
    """Re-submit the batch's first request on the full warehouse, in this (warm) process."""
    from backtest.core.config import Settings
    from backtest.core.requests import RunOptions
    from backtest.engine import run_requests

    _emit(stage="re-run of one request")
    cpu, started = _cpu(), time.perf_counter()
    run_requests(
        Settings.from_env(db_path),
        frame.head(1),
        RunOptions(),
        source=source,
        bar_paths=bar_paths,
        show_progress=False,
        progress=_progress(),
    )
    return {"rerun_one_seconds": time.perf_counter() - started, "rerun_one_cpu": _cpu() - cpu}


def measure_one(count: int, workdir: Path) -> dict:
    """Ingest and build ``count`` requests into a fresh warehouse; return the figures."""
    from backtest.core.config import Settings
    from backtest.core.requests import RunOptions
    from backtest.engine import run_requests

    db_path = workdir / f"bench_{count}.duckdb"
    db_path.unlink(missing_ok=True)
    frame = bench_requests(count)
    cpu = _cpu()
    report = run_requests(
        Settings.from_env(db_path),
        frame,
        RunOptions(),
        source="demo",
        show_progress=False,
        progress=_progress(),
    )
    total_cpu = _cpu() - cpu
    figures = {
        "requests": len(report.uids),
        "bars_loaded": report.load.inserted,
        "ingest_seconds": report.ingest_seconds,
        "build_seconds": report.build.seconds,
        "cpu_seconds": total_cpu,
        **_rerun_one(db_path, frame, "demo"),
        **_counts(db_path),
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    return figures


def _write_inputs(count: int, workdir: Path) -> tuple[pd.DataFrame, Path, Path]:
    """The batch as a requests CSV and its universe's SYNTHETIC bars as one Parquet file."""
    from ingest import demo

    frame = bench_requests(count)
    requests_csv = workdir / f"requests_{count}.csv"
    frame.to_csv(requests_csv, index=False)
    symbols, days = universe(count)
    bars_path = workdir / f"bars_{count}.parquet"
    frames = [demo.session_bars(symbol, day.date()) for symbol in symbols for day in days]
    bars = pd.concat(frames, ignore_index=True).rename(columns={"bar_time": "timestamp"})
    bars.to_parquet(bars_path, index=False)
    return frame, requests_csv, bars_path


def measure_via_files(count: int, workdir: Path) -> dict:
    """``backtest run --requests CSV --source files --bars PARQUET`` on a fresh warehouse."""
    _emit(stage="writing the requests CSV and the bars Parquet")
    frame, requests_csv, bars_path = _write_inputs(count, workdir)
    db_path = workdir / f"bench_files_{count}.duckdb"
    db_path.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "backtest.cli", "run", "--requests", str(requests_csv)]
    argv += ["--source", "files", "--bars", str(bars_path), "--db", str(db_path)]
    _emit(stage="backtest run --source files (ingest and build)")
    cpu, started = _cpu(), time.perf_counter()
    child = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if child.returncode not in (0, 1):
        raise SystemExit(f"`backtest run` failed:\n{child.stderr[-2000:]}")
    counts = _counts(db_path)
    _emit(stage="re-run of one request (backtest run --source files, a new process)")
    first = frame.iloc[0]
    argv = [sys.executable, "-m", "backtest.cli", "run", "--symbol", first.symbol]
    argv += ["--entry-time", first.entry_time, "--direction", first.direction]
    argv += ["--source", "files", "--bars", str(bars_path), "--db", str(db_path)]
    cpu, started = _cpu(), time.perf_counter()
    child = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rerun = {"rerun_one_seconds": time.perf_counter() - started, "rerun_one_cpu": _cpu() - cpu}
    if child.returncode not in (0, 1):
        raise SystemExit(f"`backtest run` of one request failed:\n{child.stderr[-2000:]}")
    return {
        "requests": counts["bt_index_rows"],
        "run_seconds": seconds,
        "cpu_seconds": cpu,
        **rerun,
        **counts,
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and every descendant (kB), from ``/proc``."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


@dataclass
class _Watch:
    """What a size's child is doing, and the peak memory of its process tree."""

    count: int
    started: float = field(default_factory=time.monotonic)
    stage: str = "starting"
    node: str = ""
    peak_kb: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        detail = f", {self.node}" if self.node else ""
        return f"  {plural(self.count, 'request')} [{elapsed:,.0f} s]: {self.stage}{detail}"


def _sample(watch: _Watch, pid: int, show: bool) -> None:
    """Sample the tree's memory every 0.2 s; on a terminal, rewrite the progress line."""
    while not watch.done.wait(0.2):
        watch.peak_kb = max(watch.peak_kb, _tree_rss_kb(pid))
        if show:
            sys.stderr.write("\r" + watch.line()[:110].ljust(110))
            sys.stderr.flush()
    if show:
        sys.stderr.write("\r" + " " * 110 + "\r")
        sys.stderr.flush()


def _run_size(count: int, folder: Path, via_files: bool, show: bool) -> dict:
    """One size in a child process: its figures, with the peak memory of its whole tree."""
    argv = [sys.executable, "-m", "benchmarks.bench", str(count), str(folder)]
    environment = {
        **os.environ,
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
    }
    child = subprocess.Popen(
        [*argv, *(["--via-files"] if via_files else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    watch = _Watch(count)
    sampler = threading.Thread(target=_sample, args=(watch, child.pid, show), daemon=True)
    sampler.start()
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)
    reader.start()
    figures = None
    for raw in child.stdout:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if "stage" in message:
            watch.stage, watch.node = message["stage"], ""
        elif "node" in message:
            watch.node = message["node"]
        elif "figures" in message:
            figures = message["figures"]
    child.wait()
    reader.join()
    watch.done.set()
    sampler.join()
    if child.returncode != 0 or figures is None:
        raise SystemExit(
            f"benchmark of {plural(count, 'request')} failed:\n{''.join(errors)[-2000:]}"
        )
    figures["peak_mb"] = max(watch.peak_kb / 1024, figures["process_peak_mb"])
    figures["wall_seconds"] = time.monotonic() - watch.started
    return figures


def _growth(figures: list[dict], seconds_key: str) -> list[str]:
    """Each size's cost per request against the previous size's (1.00 = linear)."""
    growth, previous = [], None
    for row in figures:
        per_request = row[seconds_key] / max(row["requests"], 1)
        growth.append("-" if previous is None else f"{per_request / previous:.2f}x")
        previous = per_request
    return growth


def render(figures: list[dict], via_files: bool) -> str:
    """The benchmark's table."""
    stages = (
        {"run s": "run_seconds"}
        if via_files
        else {
            "ingest s": "ingest_seconds",
            "build s": "build_seconds",
            "total s": "total_seconds",
        }
    )
    for row in figures:
        row["total_seconds"] = (
            row["run_seconds"] if via_files else row["ingest_seconds"] + row["build_seconds"]
        )
    headers = ["requests", *stages, "CPU s", "req/s", "us/req", "vs prev"]
    rows = [
        [
            row["requests"],
            *(row[key] for key in stages.values()),
            row["cpu_seconds"],
            row["requests"] / row["total_seconds"],
            1e6 * row["total_seconds"] / row["requests"],
            growth,
        ]
        for row, growth in zip(figures, _growth(figures, "total_seconds"), strict=True)
    ]
    headers += ["peak MB", "re-run 1 s", "re-run CPU s"]
    for row, values in zip(figures, rows, strict=True):
        values += [row["peak_mb"], row["rerun_one_seconds"], row["rerun_one_cpu"]]
    return format_table(headers, rows, digits=1)


def run_benchmark(
    sizes: list[int], workdir: str | None = None, via_files: bool = False
) -> list[dict]:
    """Measure each size in a child process and print a table of the figures."""
    folder = Path(workdir or tempfile.mkdtemp(prefix="backtest-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty()
    how = "`backtest run --source files` on a CSV and a Parquet file" if via_files else "demo"
    print(f"Benchmark on SYNTHETIC demo bars, every calculation, {how} (warehouses in {folder}):")
    for count in sizes:
        symbols, days = universe(count)
        print(
            f"  {plural(count, 'request')}: {len(symbols)} symbols x "
            f"{plural(len(days), 'trading day')} from {days[0].date()}"
        )
    figures = []
    for count in sizes:
        figures.append(_run_size(count, folder, via_files, show))
        if workdir is None:  # a folder of its own: its warehouses are not needed afterwards
            for path in folder.glob(f"*_{count}.*"):
                path.unlink()
    print()
    print(render(figures, via_files))
    print(
        "us/req is the time per request; vs prev compares it with the previous size's "
        "(1.00x = linear); CPU s is the size's processes' CPU time (both cores); peak MB is the "
        "whole process tree's."
    )
    return figures


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
    measure = measure_via_files if "--via-files" in sys.argv else measure_one
    _emit(figures=measure(int(arguments[0]), Path(arguments[1])))
