"""The Python API: the seed's programmatic usage, with this package's module paths.

>>> import asyncio
>>> from backtest.api import BacktestConfig, BacktestEngine
>>> from ingest.managers import DemoDataManager
>>> from plugins.loader import PluginLoader
>>> loader = PluginLoader()
>>> plugins = loader.load_all_plugins()
>>> engine = BacktestEngine(data_manager=DemoDataManager(),            # doctest: +SKIP
...                         plugin_registry=loader.get_registry())
>>> for name, entry in loader.get_adapter_configs().items():          # doctest: +SKIP
...     engine.register_adapter(name, entry["adapter_class"](entry["config"]))
>>> config = BacktestConfig(symbol="AAPL", entry_time="2024-06-27 13:35:00",
...                         direction="LONG", enabled_calculations=[])
>>> result = asyncio.run(engine.run_backtest(config))                 # doctest: +SKIP
>>> result["consensus"]["consensus_direction"]                        # doctest: +SKIP
'BULLISH'

Every run goes through the one set-based pipeline (``run_requests``: ingest, then one dbt
build). ``run_backtest`` runs one request and ``run_batch`` many in the same build; both run
the blocking pipeline in a worker thread, so an event loop (a GUI) stays responsive.

A registered adapter votes: a plugin's own adapter (its ``adapter_class`` with its
``get_adapter_config()``) selects that plugin, which runs as it always does (set-based in dbt,
or per entry through the generic wrapper); any other adapter, under a new name, becomes a
per-entry calculation of this engine's runs, executed by the generic wrapper inside the build
(``bt_signals``, the consensus and its own ``bt_<name>`` table). With adapters registered,
``enabled_calculations=[]`` runs exactly those; without, every plugin enabled in
dbt_project.yml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from backtest.build.results import fetch_results
from backtest.core.config import DEFAULT_FORWARD_BARS, DEFAULT_LOOKBACK_HOURS, Settings
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions
from backtest.core.warehouse import connect
from backtest.engine import RunReport, run_requests
from backtest.export import ExportTarget, export_tables
from ingest.managers import DataManager, DemoDataManager, data_manager_for
from ingest.validation import warm_up_in_background
from plugins.base import BacktestPlugin, CalculationAdapter
from plugins.loader import (
    PluginLoader,
    PluginRegistry,
    adapter_plugin,
    session_plugins,
    store_hooks,
)


@dataclass(frozen=True)
class BacktestConfig:
    """One backtest request and how to run it, with the seed's field names.

    ``enabled_calculations`` empty means all (the registered adapters, or every enabled
    plugin). ``calculations`` (a list or ``"all"``/``"a,b"``) and ``store_supabase`` are the
    earlier names of the same two fields and still work. ``data_source`` and ``bar_files``
    override the engine's data manager for this request.
    """

    symbol: str
    entry_time: str | datetime
    direction: str = "LONG"
    historical_lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    forward_bars: int = DEFAULT_FORWARD_BARS
    enabled_calculations: Sequence[str] = ()
    store_to_supabase: bool = False
    calculations: Sequence[str] | str | None = None
    store_supabase: bool | None = None
    data_source: str | None = None
    bar_files: Sequence[str | Path] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = _names(self.enabled_calculations)
        if self.calculations is not None:
            earlier = _names(self.calculations)
            if names and earlier != names:
                raise BacktestError(
                    f"BacktestConfig names calculations twice ({','.join(names)} and "
                    f"{','.join(earlier)}): set only enabled_calculations."
                )
            names = earlier
        object.__setattr__(self, "enabled_calculations", names)
        store = self.store_to_supabase or bool(self.store_supabase)
        object.__setattr__(self, "store_to_supabase", store)

    @property
    def calculation_selection(self) -> str:
        """``all`` or the comma-separated names, as ``--calculation`` takes them."""
        return ",".join(self.enabled_calculations) or "all"


def _names(selection: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(selection, str):
        selection = [] if selection.strip().lower() == "all" else selection.split(",")
    return tuple(name.strip() for name in selection if name.strip())


class BacktestEngine:
    """Runs BacktestConfigs against one warehouse and returns the ``--output`` JSON objects.

    An engine is meant to live: its builds after the first reuse dbt's parsed manifest, and
    great-expectations (seconds to import) is imported in the background when it starts, so a
    request whose bars are new validates them without that wait.

    Args:
        db_path: The warehouse; None means ``BACKTEST_DB`` or the default file.
        data_manager: Where the bars come from (``ingest.managers``); default the demo source.
        plugin_registry: The plugins, from ``PluginLoader().get_registry()``; default all
            discovered plugins.
        warm_up: Import great-expectations in the background now (False: when a run first
            validates new bars, e.g. for a script that runs once on data already loaded).
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        data_manager: DataManager | None = None,
        plugin_registry: PluginRegistry | None = None,
        warm_up: bool = True,
    ) -> None:
        if warm_up:
            warm_up_in_background()
        self.settings = Settings.from_env(db_path)
        self.data_manager = data_manager or DemoDataManager()
        self.plugin_registry = plugin_registry or PluginLoader().get_registry()
        self.adapters: dict[str, CalculationAdapter] = {}
        self._session: dict[str, type[BacktestPlugin]] = {}
        self.last_report: RunReport | None = None
        """What the last run did (loads, build, timings), for a caller that wants more than
        the results."""

    def register_adapter(self, name: str, adapter: CalculationAdapter) -> None:
        """Make ``adapter`` vote in this engine's runs (see the module's description).

        ``name`` is a plugin's name (or adapter_name) for a plugin's own adapter, or a new
        lower_snake_case name for any other ``CalculationAdapter``.
        """
        plugin = self.plugin_registry.find(name)
        if plugin is None:
            self._session[name] = adapter_plugin(name, adapter)
            self.adapters[name] = adapter
            return
        if not isinstance(adapter, plugin.adapter_class):
            raise BacktestError(
                f"'{name}' is plugin {plugin.name}, whose adapter is "
                f"{plugin.adapter_class.__name__}, not {type(adapter).__name__}: register "
                "this adapter under a new name."
            )
        if plugin.runs == "adapter":
            self._session[plugin.name] = adapter_plugin(plugin.name, adapter, type(plugin))
        elif getattr(adapter, "config", {}) != plugin.get_adapter_config():
            raise BacktestError(
                f"Plugin {plugin.name} runs set-based in dbt with its own parameters, so an "
                f"adapter with config {adapter.config!r} would not be what it computes: create "
                "it with the plugin's get_adapter_config(), or register it under a new name."
            )
        self.adapters[plugin.name] = adapter

    def _selection(self, config: BacktestConfig) -> str:
        if config.enabled_calculations or not self.adapters:
            return config.calculation_selection
        return ",".join(sorted(self.adapters))

    def _data_manager(self, config: BacktestConfig) -> DataManager:
        if config.data_source is None and not config.bar_files:
            return self.data_manager
        source = config.data_source or ("files" if config.bar_files else "demo")
        return data_manager_for(source, config.bar_files)

    def _run(self, configs: Sequence[BacktestConfig]) -> list[dict]:
        first = configs[0]
        shared = [
            (
                self._selection(config),
                config.historical_lookback_hours,
                config.forward_bars,
                self._data_manager(config),
                config.store_to_supabase,
            )
            for config in configs
        ]
        if any(item != shared[0] for item in shared):
            raise BacktestError(
                "run_batch needs configs that differ only in symbol, entry time and direction: "
                "run the others in another batch."
            )
        frame = pd.DataFrame(
            {
                "symbol": [config.symbol for config in configs],
                "entry_time": [str(config.entry_time) for config in configs],
                "direction": [config.direction for config in configs],
            }
        )
        manager = self._data_manager(first)
        with session_plugins(self._session):
            report = run_requests(
                self.settings,
                frame,
                RunOptions(first.historical_lookback_hours, first.forward_bars),
                source=manager.source,
                bar_paths=list(manager.bar_paths),
                calculation=self._selection(first),
                show_progress=False,
                source_options=manager.source_options(),
            )
        self.last_report = report
        with connect(self.settings.db_path) as con:
            results = fetch_results(con, report.uids)
        if first.store_to_supabase and (error := self._export()):
            results = [{**result, "export_error": error} for result in results]
        return results

    def _export(self) -> str | None:
        """Replicate to Supabase (plugins' own store_results included); local results stay
        whatever happens. The error, if any."""
        try:
            export_tables(self.settings.db_path, ExportTarget.from_env(), store_hooks=store_hooks())
        except BacktestError as error:
            return str(error)
        return None

    async def run_backtest(self, config: BacktestConfig) -> dict:
        """Backtest one request; the result has uid, status, signals, consensus, forward."""
        return (await asyncio.to_thread(self._run, [config]))[0]

    async def run_batch(self, configs: Sequence[BacktestConfig]) -> list[dict]:
        """Backtest many requests in one set-based build, results in the order given."""
        return await asyncio.to_thread(self._run, list(configs))
