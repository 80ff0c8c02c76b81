"""Real `backtest` processes for fault tests: started on a pseudo-terminal (so their stage lines
and dbt's progress print, as for a person), interrupted at a chosen moment, compared by content."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

BACKTEST = [sys.executable, "-m", "backtest.cli"]
VOLATILE = {"created_at", "updated_at", "requested_at"}


@dataclass
class Outcome:
    """How a process ended: its exit code, what it printed, and whether we stopped it."""

    code: int
    output: str
    stopped: bool


def start(argv: Sequence[str], env: dict[str, str] | None = None):
    """Start ``backtest argv`` with stdout and stderr on a new pseudo-terminal."""
    master, child_side = pty.openpty()
    process = subprocess.Popen(
        [*BACKTEST, *argv],
        stdin=subprocess.DEVNULL,
        stdout=child_side,
        stderr=child_side,
        env={**os.environ, **(env or {})},
    )
    os.close(child_side)
    return process, master


def _read(master: int, timeout: float) -> str:
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return ""
    try:
        return os.read(master, 65536).decode(errors="replace")
    except OSError:  # the child closed its side
        return ""


def run_and_stop_at(
    argv: Sequence[str],
    marker: str,
    send: int = signal.SIGKILL,
    delay: float = 0.0,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Outcome:
    """Run ``backtest argv``; once its output matches ``marker``, wait ``delay`` and send
    ``send``. Returns how it ended (``stopped`` is False if it finished first)."""
    process, master = start(argv, env)
    output, stopped, deadline = "", False, time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            output += _read(master, 0.05)
            if not stopped and re.search(marker, output):
                time.sleep(delay)
                process.send_signal(send)
                stopped = True
        while chunk := _read(master, 0.2):
            output += chunk
        return Outcome(process.wait(timeout=60), output, stopped)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()


def run(argv: Sequence[str], env: dict[str, str] | None = None) -> Outcome:
    """Run ``backtest argv`` to the end."""
    return run_and_stop_at(argv, marker=r"(?!)", env=env)


def _rounded(value):
    """JSON numbers to 10 significant digits, so sums added in another order compare equal."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _comparable_json(text):
    if not isinstance(text, str) or not text.startswith(("{", "[")):
        return text
    return json.dumps(_rounded(json.loads(text)), sort_keys=True)


def marts(db_path: Path) -> dict[str, pd.DataFrame]:
    """Every bt_* table's rows, sorted, without the bookkeeping timestamps."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_name like 'bt\\_%' escape '\\' "
                "order by 1"
            ).fetchall()
        ]
        tables = {}
        for name in names:
            frame = con.execute(f"select * from {name}").df()
            frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
            for column in frame.select_dtypes(include=["object", "string"]).columns:
                frame[column] = frame[column].map(_comparable_json)
            order = frame.astype(str)  # a stable row order whatever the types
            rows = order.sort_values(list(order.columns)).index
            tables[name] = frame.loc[rows].reset_index(drop=True)
    return tables


def assert_same_marts(got: Path, expected: Path) -> None:
    """The two warehouses hold the same results, row for row (numbers to 1e-9 relative: sums
    over many rows may be added in another order), with no duplicates."""
    got_tables, expected_tables = marts(got), marts(expected)
    assert sorted(got_tables) == sorted(expected_tables)
    for name, frame in expected_tables.items():
        pd.testing.assert_frame_equal(got_tables[name], frame, obj=name, rtol=1e-9)
        assert not got_tables[name].astype(str).duplicated().any(), name
