"""The plugin contract, with the seed system's interfaces so existing calculations port easily.

A plugin is a folder ``plugins/<name>/`` whose ``plugin.py`` defines one ``BacktestPlugin``
subclass (metadata as class attributes) and whose ``adapter.py`` defines the calculation as a
``CalculationAdapter``. The set-based dbt models in ``models/`` are what the build runs; the
adapter is the same calculation per entry, importable and unit-testable without dbt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import pandas as pd


class SignalDirection(StrEnum):
    BULLISH = "BULLISH"
    BEARISH = "BEARISH"
    NEUTRAL = "NEUTRAL"


@dataclass(frozen=True)
class StandardSignal:
    """One calculation's call at one entry time."""

    name: str
    timestamp: datetime
    direction: SignalDirection
    strength: float
    confidence: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label, value in (("strength", self.strength), ("confidence", self.confidence)):
            if not 0 <= value <= 100:
                raise ValueError(f"{label} must be within 0-100, got {value}")


@dataclass(frozen=True)
class DataRequirements:
    """What a calculation needs to see before the entry."""

    lookback_minutes: int = 120
    needs_trades: bool = False
    needs_quotes: bool = False

    @property
    def kinds(self) -> frozenset[str]:
        """The data kinds to load: bars always, trades and quotes when needed."""
        wanted = {
            "bars",
            "trades" if self.needs_trades else "bars",
            "quotes" if self.needs_quotes else "bars",
        }
        return frozenset(wanted)

    def __or__(self, other: DataRequirements) -> DataRequirements:
        """What two calculations need together: the longer lookback and every data kind."""
        return DataRequirements(
            max(self.lookback_minutes, other.lookback_minutes),
            self.needs_trades or other.needs_trades,
            self.needs_quotes or other.needs_quotes,
        )


class CalculationAdapter(ABC):
    """The seed's per-entry calculation interface.

    The engine calls ``set_data_cache`` with the shared cache dict (symbol, data_start,
    data_end, entry_time, 1min_bars, trades, quotes), then ``initialize``,
    ``feed_historical_data`` with the bars strictly before the entry, and finally
    ``get_signal_at_time``.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.data_cache: dict[str, Any] = {}

    def get_data_requirements(self) -> DataRequirements:
        return DataRequirements()

    def set_data_cache(self, cache: dict[str, Any]) -> None:
        self.data_cache = cache

    def initialize(self) -> None:  # noqa: B027 - optional hook, a no-op unless overridden
        """Reset state before a new entry."""

    @abstractmethod
    def feed_historical_data(self, bars: pd.DataFrame) -> None:
        """Consume the bars before the entry (columns bar_time, open, high, low, close, volume)."""

    @abstractmethod
    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        """The signal at ``entry_time``, or None when there is no data to call."""


class BarsAdapter(CalculationAdapter):
    """A CalculationAdapter over 1-minute bars with the run's lookback (the common case).

    ``config["lookback_minutes"]`` (default 120) sets the lookback; ``bars_before(entry)``
    returns the fed bars with ``entry - lookback <= bar_time < entry``, oldest first.
    """

    def get_data_requirements(self) -> DataRequirements:
        return DataRequirements(lookback_minutes=int(self.config.get("lookback_minutes", 120)))

    def initialize(self) -> None:
        self.bars = pd.DataFrame(columns=["bar_time", "open", "high", "low", "close", "volume"])

    def feed_historical_data(self, bars: pd.DataFrame) -> None:
        self.bars = bars.sort_values("bar_time").reset_index(drop=True)

    def bars_before(self, entry_time: datetime) -> pd.DataFrame:
        entry = pd.Timestamp(entry_time)
        lookback = pd.Timedelta(minutes=self.get_data_requirements().lookback_minutes)
        return self.bars[(self.bars.bar_time >= entry - lookback) & (self.bars.bar_time < entry)]


class BacktestPlugin:
    """Metadata of one calculation plugin (subclass and set the class attributes)."""

    name: ClassVar[str]
    version: ClassVar[str] = "0.1.0"
    adapter_name: ClassVar[str]
    adapter_class: ClassVar[type[CalculationAdapter]]
    storage_table: ClassVar[str]
    points: ClassVar[float] = 1.0
    description: ClassVar[str] = ""
    runs: ClassVar[str] = "sql"
    """``sql``: the plugin's dbt models compute its signals set-based (built-in plugins).
    ``adapter``: dbt's generic wrapper runs the adapter once per entry inside the build."""
    timeout_seconds: ClassVar[float] = 10.0
    """Longest a single get_signal_at_time may take before that entry's signal is failed."""

    def get_adapter_config(self) -> dict[str, Any]:
        return {}

    def get_storage_mapping(self) -> dict[str, str]:
        """Columns of ``storage_table`` and where each comes from in the signal."""
        return {}

    def create_adapter(self) -> CalculationAdapter:
        return self.adapter_class(self.get_adapter_config())

    def store_results(self, con, uids: list[str]) -> None:
        """Results are stored by the dbt build (``bt_<name>``); nothing to do per entry."""

    @classmethod
    def data_requirements(cls) -> DataRequirements:
        return cls.adapter_class().get_data_requirements()
