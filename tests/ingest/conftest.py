"""Helpers of the ingest suite. Its fixtures (the local Polygon server, the real data it serves)
live in tests/fixtures.py, shared with the live suite."""

from __future__ import annotations

import pandas as pd

from backtest.core.requests import RunOptions, prepare_requests
from tests.fixtures import SHARED_DATA, query

__all__ = ["SHARED_DATA", "prepared", "query"]


def prepared(*rows: tuple[str, str, str], lookback_hours: float = 2.0) -> pd.DataFrame:
    """Requests as the engine hands them to ingest."""
    frame = pd.DataFrame(rows, columns=["symbol", "entry_time", "direction"])
    return prepare_requests(frame, RunOptions(lookback_hours=lookback_hours))
