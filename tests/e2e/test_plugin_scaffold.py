"""`backtest plugins new` makes a plugin that builds, votes and passes its own tests as generated.

Runs on a copy of the project, so the real tree is never modified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backtest.core.config import PROJECT_ROOT
from plugins.loader import PluginError, load_all_plugins

SKIP = shutil.ignore_patterns(
    ".venv",
    ".git",
    "warehouse",
    "target",
    "logs",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "*.duckdb",
)


@pytest.fixture
def project_copy(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=SKIP)
    return copy


def in_copy(copy, *args, check=True):
    environment = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "BACKTEST_DB": str(copy / "w.duckdb"),
        "DBT_TARGET_PATH": str(copy / "target"),
        "DBT_LOG_PATH": str(copy / "logs"),
    }
    environment.pop("BACKTEST_PLUGIN_DIRS", None)
    done = subprocess.run(
        [sys.executable, *args], cwd=copy, env=environment, capture_output=True, text=True
    )
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_scaffolded_plugin_builds_votes_and_passes_its_tests(project_copy):
    in_copy(project_copy, "-m", "backtest.cli", "plugins", "new", "close_vs_mean")
    folder = project_copy / "plugins" / "close_vs_mean"
    for expected in [
        "plugin.py",
        "adapter.py",
        "schema.sql",
        "README.md",
        "models/sig_close_vs_mean__signals.sql",
        "models/_close_vs_mean.yml",
        "models/bt_close_vs_mean.sql",
        "tests/test_close_vs_mean.py",
    ]:
        assert (folder / expected).is_file(), expected
    project = (project_copy / "dbt_project.yml").read_text()
    assert "close_vs_mean: {enabled: true, points: 1}" in project
    listed = in_copy(project_copy, "-m", "backtest.cli", "plugins", "list").stdout
    assert "close_vs_mean" in listed and "m1_ema" in listed
    in_copy(project_copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "plugins/close_vs_mean")
    ran = in_copy(
        project_copy,
        "-m",
        "backtest.cli",
        "run",
        "--symbol",
        "AAPL",
        "--entry-time",
        "2024-06-27 16:00",
        "--direction",
        "LONG",
        "--output",
        "out.json",
    )
    assert ran.returncode == 0
    import json

    result = json.loads((project_copy / "out.json").read_text())
    assert {signal["calculation"] for signal in result["signals"]} >= {"close_vs_mean", "m1_ema"}
    again = in_copy(
        project_copy, "-m", "backtest.cli", "plugins", "new", "close_vs_mean", check=False
    )
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_plugin_cannot_reference_another_plugins_private_models(project_copy):
    in_copy(project_copy, "-m", "backtest.cli", "plugins", "new", "borrower")
    (project_copy / "plugins" / "borrower" / "models" / "int_borrower__peek.sql").write_text(
        "{{ config(group='borrower', access='private') }}\n"
        "select uid from {{ ref('int_m1_ema__at_entry') }}\n"
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    parsed = subprocess.run(
        [dbt, "parse"],
        cwd=project_copy,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DBT_TARGET_PATH": str(project_copy / "target"),
            "DBT_LOG_PATH": str(project_copy / "logs"),
        },
    )
    assert parsed.returncode != 0
    assert "int_m1_ema__at_entry" in parsed.stdout and "private" in parsed.stdout


def test_malformed_plugin_folders_are_explained(tmp_path, monkeypatch):
    broken = tmp_path / "extra" / "half_done"
    broken.mkdir(parents=True)
    (broken / "plugin.py").write_text(
        "from plugins.base import BacktestPlugin\n\n"
        "class HalfDone(BacktestPlugin):\n    name = 'half_done'\n"
    )
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(tmp_path / "extra"))
    with pytest.raises(PluginError, match="half_done/plugin.py does not set `adapter_class`"):
        load_all_plugins()
    unimportable = tmp_path / "other" / "unimportable"
    unimportable.mkdir(parents=True)
    (unimportable / "plugin.py").write_text("import no_such_module\n")
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(tmp_path / "other"))
    with pytest.raises(PluginError, match="unimportable/plugin.py cannot be imported"):
        load_all_plugins()
    twin = tmp_path / "twin" / "m1_ema"
    shutil.copytree(PROJECT_ROOT / "plugins" / "m1_ema", twin, ignore=SKIP)
    monkeypatch.setenv("BACKTEST_PLUGIN_DIRS", str(tmp_path / "twin"))
    with pytest.raises(PluginError, match="(has dbt models but lives outside|Two plugins)"):
        load_all_plugins()


def test_a_signal_model_without_the_standard_columns_is_refused(tmp_path, monkeypatch):
    import plugins.loader as loader

    copy = tmp_path / "m1_ema"
    shutil.copytree(PROJECT_ROOT / "plugins" / "m1_ema", copy, ignore=SKIP)
    properties = copy / "models" / "_m1_ema.yml"
    properties.write_text(
        properties.read_text().replace("      - {name: points, data_type: double}\n", "")
    )
    monkeypatch.setattr(loader, "PLUGINS_DIR", tmp_path)
    with pytest.raises(PluginError, match="declare exactly uid, calculation, signal_time"):
        loader.load_all_plugins()
