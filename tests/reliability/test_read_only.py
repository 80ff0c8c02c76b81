"""Readers open the warehouse read-only: they work on a read-only mount (issue 8, item 3)."""

from __future__ import annotations

import subprocess

import pytest

from tests.reliability.processes import run


@pytest.fixture
def read_only_copy(tmp_path, run_cli_warehouse):
    """The warehouse's folder bind-mounted read-only (skipped where mounting is not allowed)."""
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    source = run_cli_warehouse.parent
    steps = [
        ["mount", "--bind", str(source), str(mounted)],
        ["mount", "-o", "remount,bind,ro", str(mounted)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode:
            subprocess.run(["umount", str(mounted)], capture_output=True)
            pytest.skip(f"cannot make a read-only mount here ({done.stderr.strip()})")
    yield mounted / run_cli_warehouse.name
    subprocess.run(["umount", str(mounted)], check=True)


@pytest.fixture
def run_cli_warehouse(tmp_path):
    db = tmp_path / "source" / "warehouse.duckdb"
    db.parent.mkdir()
    request = ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"]
    assert run(["run", *request, "--db", str(db)]).code == 0
    return db


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["cache"], "Bars: 549"),
        (["validate"], "Batch 1"),
        (["sql", "select uid, status from bt_index"], "AAPL.062724.1335.L"),
    ],
)
def test_readers_work_on_a_read_only_mount(read_only_copy, argv, shown):
    with pytest.raises(OSError):
        (read_only_copy.parent / "probe").write_text("x")  # the mount really is read-only
    outcome = run([*argv, "--db", str(read_only_copy)])
    assert outcome.code == 0, outcome.output
    assert shown in outcome.output
