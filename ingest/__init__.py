"""Ingestion: plan the minutes requests need, fetch them from a source, validate, load."""

from __future__ import annotations

from ingest.load import LoadReport, load_bars
from ingest.planning import plan_windows
from ingest.sources import SOURCES, fetch_bars

__all__ = ["SOURCES", "LoadReport", "fetch_bars", "load_bars", "plan_windows"]
