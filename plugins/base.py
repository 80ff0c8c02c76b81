"""The plugin contract, with the seed system's interfaces so existing calculations port easily.

A plugin is a folder ``plugins/<name>/`` whose ``plugin.py`` defines one ``BacktestPlugin``
subclass (metadata as class attributes) and whose ``adapter.py`` defines the calculation as a
``CalculationAdapter``. The set-based dbt models in ``models/`` are what the build runs; the
adapter is the same calculation per entry, importable and unit-testable without dbt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

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


OVERLAY_PANELS = ("price", "volume", "sub")
OVERLAY_KINDS = ("line", "band", "level")


def _floats(values: Iterable[float] | None) -> tuple[float, ...]:
    return tuple(float(value) for value in (() if values is None else values))


@dataclass(frozen=True)
class Overlay:
    """One thing a plugin draws on the dashboard's window chart (x = minutes from the entry).

    Args:
        name: Label shown in the legend and used to toggle it, unique on one chart.
        panel: ``price`` (over the candles), ``volume`` (over the volume bars) or ``sub`` (a
            panel of its own below, created only when an overlay asks for it).
        kind: ``line`` (``x``, ``y``), ``band`` (``x``, ``y_low``, ``y_high``) or ``level``
            (a horizontal line at ``level``; over ``x[0]..x[-1]`` when ``x`` is given, else
            across the chart).
        x: Bar offsets, whole minutes from the entry; negative before it (the lookback).
        y: Values of a line.
        y_low: Lower edge of a band.
        y_high: Upper edge of a band.
        level: The constant of a ``level``.
        color: A colour Qt understands (``#rrggbb`` or a name).
        y_range: Fixed y range of a sub panel, e.g. ``(0, 100)`` for an oscillator.
        levels: Reference lines drawn with the overlay on its panel (e.g. RSI 30 and 70).
        sub_panel: Title of the sub panel; overlays with the same title share one panel.

    >>> Overlay("EMA 9", "price", "line", x=[-2, -1], y=[10.0, 10.5]).y
    (10.0, 10.5)
    """

    name: str
    panel: Literal["price", "volume", "sub"]
    kind: Literal["line", "band", "level"]
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    y_low: tuple[float, ...] = ()
    y_high: tuple[float, ...] = ()
    level: float | None = None
    color: str = "#1f77b4"
    y_range: tuple[float, float] | None = None
    levels: tuple[float, ...] = ()
    sub_panel: str = ""

    def __post_init__(self) -> None:
        for label in ("x", "y", "y_low", "y_high", "levels"):
            object.__setattr__(self, label, _floats(getattr(self, label)))
        if self.panel not in OVERLAY_PANELS or self.kind not in OVERLAY_KINDS:
            raise ValueError(
                f"Overlay {self.name!r}: panel must be one of {OVERLAY_PANELS} and kind one of "
                f"{OVERLAY_KINDS}, got {self.panel!r} and {self.kind!r}."
            )
        expected = {"line": ("y",), "band": ("y_low", "y_high"), "level": ()}[self.kind]
        if any(len(getattr(self, label)) != len(self.x) for label in expected):
            raise ValueError(f"Overlay {self.name!r}: give as many values as x offsets.")
        if self.kind == "level" and self.level is None:
            raise ValueError(f"Overlay {self.name!r} is a level: give its value as level=.")


def metadata_columns(*keys: str) -> dict[str, str]:
    """A storage mapping whose columns are named like the signal's metadata keys.

    >>> metadata_columns("ema_9", "bars_used")
    {'ema_9': 'metadata.ema_9', 'bars_used': 'metadata.bars_used'}
    """
    return {key: f"metadata.{key}" for key in keys}


def bar_offsets(bar_times: pd.Series, entry_time: datetime) -> list[float]:
    """Whole minutes from ``entry_time`` to each bar time (negative before the entry).

    >>> bar_offsets(pd.Series(pd.to_datetime(["2024-06-27 13:33"])), datetime(2024, 6, 27, 13, 35))
    [-2.0]
    """
    minutes = (pd.to_datetime(bar_times) - pd.Timestamp(entry_time)) / pd.Timedelta(minutes=1)
    return [float(value) for value in minutes]


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
    """Metadata of one calculation plugin (subclass and set the class attributes).

    ``adapter_name`` defaults to the adapter class's name and ``storage_table`` to
    ``bt_<name>``; a plugin may still set them.

    >>> class Example(BacktestPlugin):
    ...     name = "example"
    ...     adapter_class = BarsAdapter
    >>> Example.adapter_name, Example.storage_table
    ('BarsAdapter', 'bt_example')
    """

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "storage_table" not in own and isinstance(getattr(cls, "name", None), str):
            cls.storage_table = f"bt_{cls.name}"
        if "adapter_name" not in own and isinstance(getattr(cls, "adapter_class", None), type):
            cls.adapter_name = cls.adapter_class.__name__

    def get_adapter_config(self) -> dict[str, Any]:
        """The ``config`` dict the adapter is created with."""
        return {}

    def get_storage_mapping(self) -> dict[str, str]:
        """Columns of ``storage_table`` and where each comes from in the signal.

        A source is a signal field (``direction``, ``strength``, ``confidence``, ...) or a
        metadata path (``metadata.ema_9``). For a ``runs = "adapter"`` plugin this mapping
        shapes its ``bt_<name>`` table (uid, signal_direction, strength, confidence, these
        columns, status), refreshed after every build; set-based plugins shape theirs in dbt.
        """
        return {}

    def create_adapter(self) -> CalculationAdapter:
        return self.adapter_class(self.get_adapter_config())

    def store_results(self, client: Any, results: pd.DataFrame) -> None:
        """The seed's per-plugin Supabase hook; the export calls it only when overridden.

        Args:
            client: The export's open client: the Supabase client (REST) or the psycopg
                connection (Postgres).
            results: This plugin's ``bt_signals`` rows in one delivered batch (uid,
                calculation, signal_time, direction, strength, confidence, points, metadata
                as JSON text, status, error). A batch whose hook raises is not recorded as
                delivered, so the next export sends it (and calls the hook) again: store
                idempotently, by uid.
        """

    @classmethod
    def data_requirements(cls) -> DataRequirements:
        return cls().create_adapter().get_data_requirements()

    @classmethod
    def chart_overlays(
        cls, bars: pd.DataFrame, entry_time: datetime, *, lookback_minutes: int | None = None
    ) -> list[Overlay]:
        """What this calculation draws on the dashboard's window chart; none by default.

        Args:
            bars: The real bars the signal saw, oldest first: ``entry_time - lookback <=
                bar_time < entry_time`` (columns bar_time, open, high, low, close, volume).
                Never the entry bar or anything after it.
            entry_time: The entry, naive UTC.
            lookback_minutes: The request's lookback (``historical_lookback_hours`` * 60), for
                calculations whose reading depends on it; None when unknown.

        Returns:
            Overlays with ``x`` in minutes from the entry (see ``bar_offsets``).
        """
        return []
