"""Data managers: the seed's name for "where the bars come from", as thin objects.

A data manager names one source of ``ingest`` and its options; ``BacktestEngine`` hands them to
the one set-based pipeline (``run_requests``), which fetches, caches, validates and loads. It
fetches nothing itself.

>>> PolygonDataManager(api_key="secret").source
'polygon'
>>> FileDataManager(["bars.csv"]).bar_paths
('bars.csv',)
>>> data_manager_for("demo")
DemoDataManager(allow_synthetic=False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from backtest.core.errors import BacktestError
from ingest.files import FileOptions
from ingest.polygon import PolygonOptions
from ingest.sources import SOURCES, SourceOptions


@dataclass(frozen=True)
class DataManager:
    """A source of ``ingest`` with its options (subclass per source)."""

    source: ClassVar[str]

    @property
    def bar_paths(self) -> tuple[str | Path, ...]:
        """The bar files to load (the files source only)."""
        return ()

    def source_options(self) -> SourceOptions:
        """The options ``run_requests`` ingests with."""
        return SourceOptions()


@dataclass(frozen=True)
class DemoDataManager(DataManager):
    """Synthetic demo bars, trades and quotes (``ingest/demo.py``); never market prices.

    Attributes:
        allow_synthetic: write into a warehouse that already holds real data.
    """

    source: ClassVar[str] = "demo"
    allow_synthetic: bool = False

    def source_options(self) -> SourceOptions:
        return SourceOptions(allow_synthetic=self.allow_synthetic)


@dataclass(frozen=True)
class FileDataManager(DataManager):
    """Bar files (CSV or Parquet, optionally .gz; files, folders or globs), as ``--bars``.

    Attributes:
        paths: the files to load.
        options: how to read them (layout, time zone, labels, columns).
        trades: trade files, for calculations that need trades.
        quotes: quote files, for calculations that need quotes.
    """

    source: ClassVar[str] = "files"
    paths: Sequence[str | Path] = ()
    options: FileOptions = field(default_factory=FileOptions)
    trades: Sequence[str | Path] = ()
    quotes: Sequence[str | Path] = ()

    @property
    def bar_paths(self) -> tuple[str | Path, ...]:
        return tuple(self.paths)

    def source_options(self) -> SourceOptions:
        ticks = {"trades": self.trades, "quotes": self.quotes}
        return SourceOptions(
            files=self.options,
            tick_files={kind: tuple(map(str, paths)) for kind, paths in ticks.items() if paths},
        )


@dataclass(frozen=True)
class PolygonDataManager(DataManager):
    """Polygon's REST API, fetched once per minute and then cached in the warehouse.

    Attributes:
        api_key: the key; None reads ``POLYGON_API_KEY`` when the run starts.
        base_url: the API root; None reads ``POLYGON_BASE_URL``, else Polygon's own.
        adjusted: split-adjusted bars (Polygon's default); False loads raw prices.
    """

    source: ClassVar[str] = "polygon"
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    adjusted: bool = True

    def source_options(self) -> SourceOptions:
        polygon = PolygonOptions(
            api_key=self.api_key, base_url=self.base_url, adjusted=self.adjusted
        )
        return SourceOptions(polygon=polygon)


def data_manager_for(source: str, bar_paths: Sequence[str | Path] = ()) -> DataManager:
    """The data manager of a source named as on the command line (``--source``, ``--bars``)."""
    if source == "demo":
        return DemoDataManager()
    if source == "files":
        return FileDataManager(tuple(bar_paths))
    if source == "polygon":
        return PolygonDataManager()
    raise BacktestError(f"Unknown source '{source}': use one of {', '.join(SOURCES)}.")
