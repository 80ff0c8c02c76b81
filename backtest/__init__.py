"""Intraday backtests of trading signals: DuckDB warehouse, dbt models, calculation plugins.

The public API is imported lazily, so ``import backtest.core.errors`` (used everywhere) stays light.
"""

from __future__ import annotations

__all__ = ["BacktestConfig", "BacktestEngine", "BacktestError", "load_all_plugins"]


def __getattr__(name: str):
    if name in ("BacktestConfig", "BacktestEngine"):
        from backtest import api

        return getattr(api, name)
    if name == "BacktestError":
        from backtest.core.errors import BacktestError

        return BacktestError
    if name == "load_all_plugins":
        from plugins.loader import load_all_plugins

        return load_all_plugins
    raise AttributeError(f"module 'backtest' has no attribute {name!r}")
