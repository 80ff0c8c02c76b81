"""Discovering plugins: every folder under ``plugins/`` that has a ``plugin.py``.

A folder is checked before it is used, and a malformed one stops the run with one sentence
naming the folder, the problem and the fix. Plugins whose calculation exists only as a
per-entry adapter (``runs = "adapter"``) may also live in the folders listed in
``BACKTEST_PLUGIN_DIRS`` (``os.pathsep``-separated); set-based plugins live in ``plugins/``,
where dbt finds their models.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from backtest.config import PROJECT_ROOT
from backtest.errors import BacktestError
from plugins.base import BacktestPlugin, CalculationAdapter, DataRequirements

PLUGINS_DIR = Path(__file__).resolve().parent
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_NAMES = {
    "base", "loader", "scaffold", "wrapper", "backtest", "ingest", "plugins", "models", "macros",
    "tests", "index", "bars", "signals", "aggregated", "signal_performance", "raw",
}  # fmt: skip
STANDARD_SIGNAL_COLUMNS = [
    "uid", "calculation", "signal_time", "direction", "strength", "confidence", "points",
    "metadata", "status", "error",
]  # fmt: skip
RUNS = ("sql", "adapter")


class PluginError(BacktestError):
    """A plugin folder that cannot be used as it is."""


@dataclass(frozen=True)
class PluginInfo:
    """A discovered, validated plugin and its settings for this project."""

    name: str
    plugin_class: type[BacktestPlugin]
    folder: Path
    enabled: bool
    points: float

    @property
    def requirements(self) -> DataRequirements:
        return self.plugin_class.data_requirements()

    @property
    def runs(self) -> str:
        return self.plugin_class.runs


def _import_plugin_module(folder: Path):
    if folder.parent == PLUGINS_DIR:
        return importlib.import_module(f"plugins.{folder.name}.plugin")
    if str(folder.parent) not in sys.path:
        sys.path.append(str(folder.parent))
    return importlib.import_module(f"{folder.name}.plugin")


def _plugin_class(folder: Path) -> type[BacktestPlugin]:
    try:
        module = _import_plugin_module(folder)
    except Exception as error:  # an author's import error, reported with its cause
        raise PluginError(
            f"{folder / 'plugin.py'} cannot be imported ({type(error).__name__}: {error}): "
            "fix the module so that `python -c 'import plugin'` works in that folder."
        ) from None
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BacktestPlugin)
        and value is not BacktestPlugin
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise PluginError(
            f"{folder / 'plugin.py'} defines {len(found)} BacktestPlugin subclasses: "
            "define exactly one."
        )
    return found[0]


def _check_metadata(folder: Path, plugin: type[BacktestPlugin]) -> None:
    where = folder / "plugin.py"
    for attribute in ("name", "version", "adapter_name", "adapter_class", "storage_table"):
        if not getattr(plugin, attribute, None):
            raise PluginError(f"{where} does not set `{attribute}`: add it to {plugin.__name__}.")
    name = plugin.name
    if name != folder.name:
        raise PluginError(
            f"Plugin in {folder} is named '{name}': name the folder and the plugin alike."
        )
    if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise PluginError(
            f"Plugin name '{name}' in {where} is not allowed: use lower_snake_case that is not "
            f"a core name ({', '.join(sorted(RESERVED_NAMES))})."
        )
    if plugin.storage_table != f"bt_{name}":
        raise PluginError(f"{where} sets storage_table '{plugin.storage_table}': use 'bt_{name}'.")
    if not (
        isinstance(plugin.adapter_class, type)
        and issubclass(plugin.adapter_class, CalculationAdapter)
    ):
        raise PluginError(f"{where}: adapter_class must be a CalculationAdapter subclass.")
    if plugin.adapter_class.__name__ != plugin.adapter_name:
        raise PluginError(
            f"{where} names its adapter '{plugin.adapter_name}' but adapter_class is "
            f"{plugin.adapter_class.__name__}: make them agree."
        )
    if plugin.runs not in RUNS:
        raise PluginError(f"{where} sets runs = '{plugin.runs}': use 'sql' or 'adapter'.")
    if not isinstance(plugin.points, int | float) or plugin.points < 0:
        raise PluginError(f"{where} sets points = {plugin.points!r}: use a number >= 0.")
    requirements = plugin.data_requirements()
    if not isinstance(requirements, DataRequirements) or requirements.lookback_minutes < 1:
        raise PluginError(
            f"{where}: get_data_requirements() must return DataRequirements with "
            "lookback_minutes >= 1."
        )


def _signal_model_columns(folder: Path, name: str) -> list[str] | None:
    model = f"sig_{name}__signals"
    for properties in sorted((folder / "models").glob("*.yml")):
        try:
            entries = (yaml.safe_load(properties.read_text()) or {}).get("models", [])
            for entry in entries:
                if entry.get("name") == model:
                    return [column["name"] for column in entry.get("columns", [])]
        except (yaml.YAMLError, AttributeError, TypeError, KeyError) as error:
            raise PluginError(
                f"{properties} is not valid dbt YAML ({type(error).__name__}): "
                "check its indentation and that every column is a mapping with a name."
            ) from None
    return None


def _check_models(folder: Path, plugin: type[BacktestPlugin]) -> None:
    if plugin.runs == "adapter":
        return
    name = plugin.name
    if folder.parent != PLUGINS_DIR:
        raise PluginError(
            f"Plugin {name} in {folder} has dbt models but lives outside {PLUGINS_DIR}: "
            "move it there (only runs = 'adapter' plugins may live elsewhere)."
        )
    model = folder / "models" / f"sig_{name}__signals.sql"
    if not model.is_file():
        raise PluginError(
            f"Plugin {name} has no public signal model {model.relative_to(folder)}: add it, or "
            "set runs = 'adapter' to run the adapter per entry."
        )
    columns = _signal_model_columns(folder, name)
    if columns != STANDARD_SIGNAL_COLUMNS:
        raise PluginError(
            f"The YAML of sig_{name}__signals in {folder / 'models'} declares columns "
            f"{columns or 'none'}: declare exactly {', '.join(STANDARD_SIGNAL_COLUMNS)} "
            "with an enforced contract."
        )


def plugin_folders() -> list[Path]:
    """Folders holding a plugin.py: plugins/* and every folder in BACKTEST_PLUGIN_DIRS."""
    roots = [PLUGINS_DIR] + [
        Path(entry)
        for entry in os.environ.get("BACKTEST_PLUGIN_DIRS", "").split(os.pathsep)
        if entry
    ]
    return [path.parent for root in roots for path in sorted(root.glob("*/plugin.py"))]


def load_all_plugins() -> dict[str, type[BacktestPlugin]]:
    """Every plugin by name, validated, in name order."""
    plugins: dict[str, type[BacktestPlugin]] = {}
    for folder in plugin_folders():
        plugin = _plugin_class(folder)
        _check_metadata(folder, plugin)
        _check_models(folder, plugin)
        if plugin.name in plugins:
            raise PluginError(
                f"Two plugins are named '{plugin.name}' (one in {folder}): rename one of them."
            )
        plugins[plugin.name] = plugin
    return dict(sorted(plugins.items()))


def project_plugin_settings() -> dict[str, dict]:
    """``vars.backtest_plugins`` of dbt_project.yml: the one enable/points setting."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return dict(project.get("vars", {}).get("backtest_plugins", {}) or {})


def plugin_infos(settings: dict[str, dict] | None = None) -> list[PluginInfo]:
    """Every discovered plugin with its enabled flag and points from ``settings``."""
    settings = project_plugin_settings() if settings is None else settings
    plugins = load_all_plugins()
    unknown = sorted(set(settings) - set(plugins))
    if unknown:
        raise PluginError(
            f"vars.backtest_plugins in dbt_project.yml names {', '.join(unknown)}, which has no "
            "folder with a plugin.py: remove the entry or add the plugin."
        )
    return [
        PluginInfo(
            name=name,
            plugin_class=plugin,
            folder=Path(sys.modules[plugin.__module__].__file__).parent,
            enabled=bool(settings.get(name, {}).get("enabled", False)),
            points=float(settings.get(name, {}).get("points", plugin.points)),
        )
        for name, plugin in plugins.items()
    ]


def combined_requirements(settings: dict[str, dict]) -> DataRequirements:
    """What the enabled plugins of ``settings`` need together (the engine plans loads with it)."""
    plugins = load_all_plugins()
    needs = DataRequirements(lookback_minutes=1)
    for name, entry in settings.items():
        if entry.get("enabled"):
            needs = needs | plugins[name].data_requirements()
    return needs


def build_plugin_settings(requested: Iterable[str] = ()) -> dict[str, dict]:
    """The ``vars.backtest_plugins`` of a build over the stored requests.

    Every plugin enabled in the project is computed and belongs to the default set (``in_all``)
    that requests without a selection run; a plugin that a stored request names explicitly
    (``--calculation``) is computed too, for the requests that name it. Names of plugins that no
    longer exist are ignored, so their rows go at the next full refresh.
    """
    requested = set(requested)
    return {
        info.name: {
            "enabled": info.enabled or info.name in requested,
            "in_all": info.enabled,
            "points": info.points,
            "runs": info.runs,
        }
        for info in plugin_infos()
    }


def calculation_selection(selection: str = "all") -> str | None:
    """What a request stores of its run's ``--calculation``: None for all, else sorted names.

    >>> calculation_selection("all") is None
    True
    >>> calculation_selection("rsi_14, m1_ema")
    'm1_ema,rsi_14'
    """
    settings = plugin_settings(selection)
    if selection.strip().lower() == "all":
        return None
    return ",".join(name for name, entry in settings.items() if entry["enabled"])


def plugin_settings(selection: str = "all") -> dict[str, dict]:
    """The ``vars.backtest_plugins`` for a run.

    ``all`` keeps the project's setting; ``a,b`` enables exactly those plugins. Every entry
    carries ``runs`` so dbt knows which plugins its generic adapter wrapper must run.
    """
    project = project_plugin_settings()
    infos = {info.name: info for info in plugin_infos(project)}
    if selection.strip().lower() == "all":
        chosen = [name for name, info in infos.items() if info.enabled]
    else:
        chosen = [name.strip() for name in selection.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in infos]
        if unknown or not chosen:
            raise BacktestError(
                f"Unknown calculation '{','.join(unknown) or selection}': "
                f"use all or one of {', '.join(infos)}."
            )
    return {
        name: {"enabled": name in chosen, "points": info.points, "runs": info.runs}
        for name, info in infos.items()
    }
