"""Discovering plugins: every folder under ``plugins/`` that has a ``plugin.py``."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from backtest.config import PROJECT_ROOT
from backtest.errors import BacktestError
from plugins.base import BacktestPlugin

PLUGINS_DIR = Path(__file__).resolve().parent


def _plugin_class(folder: Path) -> type[BacktestPlugin]:
    module = importlib.import_module(f"plugins.{folder.name}.plugin")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BacktestPlugin)
        and value is not BacktestPlugin
    ]
    if len(found) != 1:
        raise BacktestError(
            f"{folder / 'plugin.py'} defines {len(found)} BacktestPlugin subclasses: "
            "define exactly one."
        )
    return found[0]


def load_all_plugins() -> dict[str, type[BacktestPlugin]]:
    """All plugins by name, in name order."""
    folders = sorted(path.parent for path in PLUGINS_DIR.glob("*/plugin.py"))
    plugins = {}
    for folder in folders:
        plugin = _plugin_class(folder)
        if plugin.name != folder.name:
            raise BacktestError(
                f"Plugin in {folder} is named '{plugin.name}': "
                "name the folder and the plugin alike."
            )
        plugins[plugin.name] = plugin
    return plugins


def project_plugin_settings() -> dict[str, dict]:
    """``vars.backtest_plugins`` of dbt_project.yml: the one enable/points setting."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return dict(project.get("vars", {}).get("backtest_plugins", {}))


def plugin_settings(selection: str = "all") -> dict[str, dict]:
    """The plugin settings for a run: ``all`` keeps the project's, ``a,b`` enables only those."""
    settings = project_plugin_settings()
    known = load_all_plugins()
    if selection.strip().lower() == "all":
        return settings
    chosen = [name.strip() for name in selection.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise BacktestError(
            f"Unknown calculation '{','.join(unknown) or selection}': "
            f"use all or one of {', '.join(known)}."
        )
    return {
        name: {**settings.get(name, {}), "enabled": name in chosen}
        for name in sorted(set(settings) | set(known))
    }
