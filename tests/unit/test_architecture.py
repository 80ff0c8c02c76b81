"""The dependency rule of the code map (README) holds: import-linter's contracts in
pyproject.toml are kept, and they do catch an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from backtest.core.config import PROJECT_ROOT

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = ("backtest", "ingest", "plugins", "benchmarks")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": ""},
    )


def test_the_import_contracts_are_kept():
    checked = lint_imports(PROJECT_ROOT)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in checked.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    uid = tmp_path / "backtest" / "core" / "uid.py"
    uid.write_text(uid.read_text() + "\nfrom backtest.engine import run_requests  # noqa\n")
    checked = lint_imports(tmp_path)
    assert checked.returncode != 0
    assert "backtest.core is not allowed to import backtest.engine" in checked.stdout
