"""Ingestion: plan what requests need, fetch it (through the cache), validate, load."""

from __future__ import annotations

from ingest.files import FileOptions
from ingest.load import LoadReport, load_bars
from ingest.planning import plan_windows
from ingest.polygon import PolygonOptions
from ingest.sources import SOURCES, IngestReport, SourceOptions, ingest_batch

__all__ = [
    "SOURCES",
    "FileOptions",
    "IngestReport",
    "LoadReport",
    "PolygonOptions",
    "SourceOptions",
    "ingest_batch",
    "load_bars",
    "plan_windows",
]
