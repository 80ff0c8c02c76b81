"""Discovering plugins: every folder under ``plugins/`` that has a ``plugin.py``.

A folder is checked before it is used, and a malformed one stops the run with one sentence
naming the folder, the problem and the fix. Plugins whose calculation exists only as a
per-entry adapter (``runs = "adapter"``) may also live in the folders listed in
``BACKTEST_PLUGIN_DIRS`` (``os.pathsep``-separated); set-based plugins live in ``plugins/``,
where dbt finds their models. ``session_plugins`` adds plugins made from adapters registered
in this process (``BacktestEngine.register_adapter``) for the duration of one run.

The seed's interface is ``PluginLoader``:

>>> loader = PluginLoader()
>>> "m1_ema" in loader.load_all_plugins()
True
>>> loader.get_adapter_configs()["m1_ema"]["adapter_name"]
'M1EmaAdapter'
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backtest.core.config import PLUGINS_DIR, project_vars, read_yaml
from backtest.core.errors import BacktestError
from plugins.base import BacktestPlugin, CalculationAdapter, DataRequirements

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_NAMES = {
    "base", "loader", "scaffold", "wrapper", "backtest", "ingest", "plugins", "models", "macros",
    "tests", "index", "bars", "signals", "aggregated", "signal_performance", "event_path", "raw",
}  # fmt: skip
STANDARD_SIGNAL_COLUMNS = [
    "uid", "calculation", "signal_time", "direction", "strength", "confidence", "points",
    "metadata", "status", "error",
]  # fmt: skip
RUNS = ("sql", "adapter")
SIGNAL_FIELDS = ("direction", "strength", "confidence", "signal_time", "points", "status", "error")
BASE_STORAGE_MAPPING = {
    "signal_direction": "direction",
    "strength": "strength",
    "confidence": "confidence",
}
COLUMN_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
METADATA_PATH = re.compile(r"^metadata(\.[A-Za-z0-9_]+)+$")


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


_session: dict[str, type[BacktestPlugin]] = {}
_session_lock = threading.Lock()  # guards _session itself
_session_turn = threading.Lock()  # one session at a time


@contextmanager
def session_plugins(plugins: Mapping[str, type[BacktestPlugin]]) -> Iterator[None]:
    """Let discovery see ``plugins`` (made from registered adapters) for one run of this process.

    They override discovered plugins of the same name; the build's generic wrapper, which runs
    in this process, finds them through ``load_all_plugins`` like any folder's plugin. One
    session at a time: a second one waits for the first to end.
    """
    with _session_turn:
        with _session_lock:
            _session.update(plugins)
        try:
            yield
        finally:
            with _session_lock:
                _session.clear()


def adapter_plugin(
    name: str, adapter: CalculationAdapter, base: type[BacktestPlugin] = BacktestPlugin
) -> type[BacktestPlugin]:
    """A plugin class that runs ``adapter`` per entry (a fresh copy of it for every entry).

    ``base`` is the discovered plugin of that name, if any, whose metadata it keeps.
    """
    if not isinstance(adapter, CalculationAdapter):
        raise PluginError(
            f"The adapter registered as '{name}' is a {type(adapter).__name__}, not a "
            "CalculationAdapter: subclass plugins.base.CalculationAdapter."
        )
    if base is BacktestPlugin and (not NAME_PATTERN.match(name) or name in RESERVED_NAMES):
        raise PluginError(
            f"Adapter name '{name}' is not allowed: use lower_snake_case that is not a core "
            f"name ({', '.join(sorted(RESERVED_NAMES))})."
        )
    attributes = {
        "__module__": type(adapter).__module__,
        "name": name,
        "adapter_class": type(adapter),
        "adapter_name": type(adapter).__name__,
        "runs": "adapter",
        "create_adapter": lambda self: copy.deepcopy(adapter),
    }
    if base is BacktestPlugin:
        attributes["version"] = "0.0.0"
        attributes["description"] = f"{type(adapter).__name__} registered in this process."
    return type(f"Registered_{name}", (base,), attributes)


def storage_mapping(plugin: type[BacktestPlugin], where: object = None) -> dict[str, str]:
    """The columns of a ``runs = "adapter"`` plugin's ``bt_<name>`` table and their sources:
    the standard call columns, then ``get_storage_mapping()``'s (checked).

    >>> from plugins.m1_ema.plugin import M1EmaPlugin
    >>> list(storage_mapping(M1EmaPlugin))[:4]
    ['signal_direction', 'strength', 'confidence', 'ema_9']
    """
    where = where or f"{plugin.__name__}.get_storage_mapping()"
    mapping = plugin().get_storage_mapping()
    if not isinstance(mapping, Mapping):
        raise PluginError(f"{where} returned {type(mapping).__name__}: return a dict.")
    for column, source in mapping.items():
        if (
            not isinstance(column, str)
            or not COLUMN_PATTERN.match(column)
            or column
            in (
                "uid",
                "status",
            )
        ):
            raise PluginError(
                f"{where} maps column {column!r}: use lower_snake_case names other than uid "
                "and status."
            )
        if not isinstance(source, str) or not (
            source in SIGNAL_FIELDS or METADATA_PATH.match(source)
        ):
            raise PluginError(
                f"{where} maps {column} to {source!r}: use one of {', '.join(SIGNAL_FIELDS)} "
                "or a metadata path such as metadata.ema_9."
            )
    return {**BASE_STORAGE_MAPPING, **mapping}


def overrides_store_results(plugin: type[BacktestPlugin]) -> bool:
    """Whether a plugin has its own ``store_results`` (the export calls only those)."""
    return plugin.store_results is not BacktestPlugin.store_results


def store_hooks() -> dict[str, Callable[[Any, Any], None]]:
    """The ``store_results`` of every plugin that overrides it, by plugin name (for the export)."""
    return {
        name: plugin().store_results
        for name, plugin in load_all_plugins().items()
        if overrides_store_results(plugin)
    }


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
    for attribute in ("name", "version", "adapter_class", "adapter_name", "storage_table"):
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
    if not isinstance(plugin.adapter_name, str):
        raise PluginError(
            f"{where} sets adapter_name to a {type(plugin.adapter_name).__name__}: "
            "use a string (or leave it out: it defaults to the class name)."
        )
    if plugin.runs not in RUNS:
        raise PluginError(f"{where} sets runs = '{plugin.runs}': use 'sql' or 'adapter'.")
    if plugin.runs == "adapter":
        storage_mapping(plugin, f"{where}: get_storage_mapping()")
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
            entries = (read_yaml(properties) or {}).get("models", [])
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
    """Every plugin by name, validated, in name order (with this run's registered adapters)."""
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
    with _session_lock:
        plugins.update(_session)
    return dict(sorted(plugins.items()))


def _plugin_folder(plugin: type[BacktestPlugin]) -> Path:
    module_file = getattr(sys.modules.get(plugin.__module__), "__file__", None)
    return Path(module_file).parent if module_file else Path.cwd()


def project_plugin_settings() -> dict[str, dict]:
    """``vars.backtest_plugins`` of dbt_project.yml: the one enable/points setting."""
    return dict(project_vars().get("backtest_plugins") or {})


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
            folder=_plugin_folder(plugin),
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


def adapter_plugin_names(settings: dict[str, dict]) -> list[str]:
    """The plugins of ``vars.backtest_plugins`` that run as per-entry adapters in the build
    (``runs = "adapter"``), the rule the dbt macro ``set_based_plugins`` mirrors.

    >>> adapter_plugin_names({"a": {"runs": "adapter"}, "b": {"runs": "sql"},
    ...                       "c": {"runs": "adapter", "enabled": False}})
    ['a']
    """
    return [
        name
        for name, entry in settings.items()
        if entry.get("enabled", True) and entry.get("runs") == "adapter"
    ]


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


class PluginRegistry(Mapping[str, BacktestPlugin]):
    """The loaded plugins by name (instances), as the seed's engine receives them.

    ``find`` also accepts a plugin's ``adapter_name`` when exactly one plugin has it.
    """

    def __init__(self, plugins: Mapping[str, BacktestPlugin], enabled: Iterable[str]) -> None:
        self._plugins = dict(plugins)
        self.enabled = tuple(name for name in self._plugins if name in set(enabled))

    def __getitem__(self, name: str) -> BacktestPlugin:
        return self._plugins[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)

    def find(self, name: str) -> BacktestPlugin | None:
        """The plugin named ``name``, or the only one whose adapter_name is ``name``."""
        if name in self._plugins:
            return self._plugins[name]
        matches = [plugin for plugin in self._plugins.values() if plugin.adapter_name == name]
        return matches[0] if len(matches) == 1 else None


class PluginLoader:
    """The seed's loader: discovers the plugins and hands out their adapters' configurations.

    ``load_all_plugins()`` returns the plugins (instances) by name, ``get_registry()`` the
    registry a ``BacktestEngine`` takes, and ``get_adapter_configs()`` what to create each
    enabled plugin's adapter with: ``adapter_class(config)``.
    """

    def __init__(self) -> None:
        self.plugins: dict[str, BacktestPlugin] = {}
        self.enabled: tuple[str, ...] = ()

    def load_all_plugins(self) -> dict[str, BacktestPlugin]:
        """Discover and validate every plugin; the enabled ones are those of dbt_project.yml."""
        infos = plugin_infos()
        self.plugins = {info.name: info.plugin_class() for info in infos}
        self.enabled = tuple(info.name for info in infos if info.enabled)
        return dict(self.plugins)

    def _loaded(self) -> dict[str, BacktestPlugin]:
        return self.plugins or self.load_all_plugins()

    def get_registry(self) -> PluginRegistry:
        """The loaded plugins, for ``BacktestEngine(plugin_registry=...)``."""
        return PluginRegistry(self._loaded(), self.enabled)

    def get_adapter_configs(self) -> dict[str, dict[str, Any]]:
        """Per enabled plugin: ``adapter_name``, ``adapter_class``, ``config``,
        ``storage_table`` and ``points``."""
        plugins = self._loaded()
        return {
            name: {
                "adapter_name": plugins[name].adapter_name,
                "adapter_class": plugins[name].adapter_class,
                "config": plugins[name].get_adapter_config(),
                "storage_table": plugins[name].storage_table,
                "points": plugins[name].points,
            }
            for name in self.enabled
        }
