"""``backtest gui`` and the seed's ``backtest/backtest_system.py``, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PyQt6.QtGui import QImage

from backtest.cli import main as backtest
from backtest.core.config import PROJECT_ROOT

SEED = PROJECT_ROOT / "backtest" / "backtest_system.py"
BACKTEST = Path(sys.executable).with_name("backtest")
REQUEST = ["--symbol", "AAPL", "--entry-time", "2024-06-27 13:35:00", "--direction", "LONG"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _assert_screenshot(path: Path) -> None:
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1400, 900)
    colours = {image.pixel(x, y) for x in range(0, 1400, 7) for y in range(0, 900, 7)}
    assert len(colours) > 50, "the screenshot is (nearly) blank"


def test_screenshot_command_runs_the_request_and_writes_a_png(tmp_path):
    png = tmp_path / "window.png"
    done = _run([str(BACKTEST), "gui", "--db", "w.duckdb", "--screenshot", str(png), *REQUEST],
                tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    _assert_screenshot(png)


def test_seed_entry_point_cli_is_backtest_run_and_gui_is_wired(tmp_path):
    seed_cli = [sys.executable, str(SEED), "--cli", *REQUEST, "--calculation", "all"]
    done = _run([*seed_cli, "--db", "w.duckdb", "--output", "x.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "x.json").read_text())
    assert result["uid"] == "AAPL.062724.1335.L"
    assert {"signals", "consensus", "forward", "status"} <= set(result)
    png = tmp_path / "stored.png"
    done = _run([sys.executable, str(SEED), "--gui", "--db", "w.duckdb", "--screenshot", str(png),
                 "--uid", "AAPL.062724.1335.L"], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    _assert_screenshot(png)


def test_seed_entry_point_needs_one_mode(tmp_path):
    done = _run([sys.executable, str(SEED), *REQUEST], tmp_path)
    assert done.returncode == 2
    assert "give exactly one of --gui or --cli" in done.stderr


def test_screenshot_flags_are_refused_in_one_sentence(tmp_path, capsys):
    png = str(tmp_path / "x.png")
    assert backtest(["gui", "--screenshot", png, "--db", str(tmp_path / "w.duckdb")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --screenshot needs --uid UID, or --symbol, --entry-time and --direction."
    )
    assert backtest(["gui", "--screenshot", str(tmp_path / "x.jpg"), "--uid", "A"]) == 2
    assert "is not a .png file name" in capsys.readouterr().err
    missing = tmp_path / "none.duckdb"
    assert backtest(["gui", "--screenshot", png, "--uid", "A", "--db", str(missing)]) == 2
    assert f"Warehouse {missing} does not exist" in capsys.readouterr().err


def test_window_opens_without_importing_dbt_or_great_expectations(tmp_path):
    probe = (
        "import sys; from pathlib import Path; from backtest.gui.app import open_window; "
        f"open_window(Path({str(tmp_path / 'w.duckdb')!r})); "
        "print(sorted(m for m in ('dbt', 'great_expectations') if m in sys.modules))"
    )
    done = _run([sys.executable, "-c", probe], PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
