"""The Python API, close to the seed's programmatic usage.

>>> import asyncio
>>> from backtest import BacktestConfig, BacktestEngine
>>> engine = BacktestEngine("warehouse/backtest.duckdb")          # doctest: +SKIP
>>> result = asyncio.run(engine.run_backtest(BacktestConfig(      # doctest: +SKIP
...     symbol="AAPL", entry_time="2024-06-27 13:35:00", direction="LONG")))
>>> result["consensus"]["consensus_direction"]                    # doctest: +SKIP
'BULLISH'

``run_backtest`` runs one request; ``run_batch`` runs many through the same single build.
Both run the blocking pipeline in a worker thread, so an event loop (a GUI) stays responsive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from backtest.config import DEFAULT_FORWARD_BARS, DEFAULT_LOOKBACK_HOURS, Settings
from backtest.engine import run_requests
from backtest.requests import RunOptions
from backtest.results import fetch_results
from backtest.warehouse import connect


@dataclass(frozen=True)
class BacktestConfig:
    """One backtest request and how to run it (the seed's fields)."""

    symbol: str
    entry_time: str | datetime
    direction: str = "LONG"
    calculations: Sequence[str] | str = "all"
    historical_lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    forward_bars: int = DEFAULT_FORWARD_BARS
    data_source: str = "demo"
    bar_files: Sequence[str | Path] = field(default_factory=tuple)
    store_supabase: bool = False

    @property
    def calculation_selection(self) -> str:
        if isinstance(self.calculations, str):
            return self.calculations
        return ",".join(self.calculations)


class BacktestEngine:
    """Runs BacktestConfigs against one warehouse and returns the --output JSON objects."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        self.settings = Settings.from_env(db_path)

    def _run(self, configs: Sequence[BacktestConfig]) -> list[dict]:
        first = configs[0]
        shared = [
            (
                config.calculation_selection,
                config.historical_lookback_hours,
                config.forward_bars,
                config.data_source,
                tuple(config.bar_files),
                config.store_supabase,
            )
            for config in configs
        ]
        if len(set(shared)) != 1:
            raise ValueError("run_batch needs configs that differ only in symbol, time and side.")
        frame = pd.DataFrame(
            {
                "symbol": [config.symbol for config in configs],
                "entry_time": [str(config.entry_time) for config in configs],
                "direction": [config.direction for config in configs],
            }
        )
        report = run_requests(
            self.settings,
            frame,
            RunOptions(first.historical_lookback_hours, first.forward_bars),
            source=first.data_source,
            bar_paths=list(first.bar_files),
            calculation=first.calculation_selection,
            show_progress=False,
        )
        with connect(self.settings.db_path) as con:
            results = fetch_results(con, report.uids)
        if first.store_supabase:
            results = (
                [{**result, "export_error": error} for result in results]
                if (error := self._export())
                else results
            )
        return results

    def _export(self) -> str | None:
        """Replicate to Supabase; local results stay whatever happens. The error, if any."""
        from backtest.errors import BacktestError
        from backtest.export import ExportTarget, export_tables

        try:
            export_tables(self.settings.db_path, ExportTarget.from_env())
        except BacktestError as error:
            return str(error)
        return None

    async def run_backtest(self, config: BacktestConfig) -> dict:
        """Backtest one request; the result has uid, status, signals, consensus, forward."""
        return (await asyncio.to_thread(self._run, [config]))[0]

    async def run_batch(self, configs: Sequence[BacktestConfig]) -> list[dict]:
        """Backtest many requests in one set-based build, results in the order given."""
        return await asyncio.to_thread(self._run, list(configs))
