"""The request UID: ``TICKER.MMDDYY.HHMM.SIDE`` with HHMM in UTC and SIDE ``L`` or ``S``."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

SIDE_CODES = {"LONG": "L", "SHORT": "S"}


def make_uid(symbol: str, entry_time: datetime, direction: str) -> str:
    """One UID.

    >>> make_uid("AAPL", datetime(2024, 6, 27, 13, 35), "LONG")
    'AAPL.062724.1335.L'
    """
    return f"{symbol}.{entry_time:%m%d%y.%H%M}.{SIDE_CODES[direction]}"


def make_uids(symbols: pd.Series, entry_times: pd.Series, directions: pd.Series) -> pd.Series:
    """UIDs for whole columns at once (entry times naive UTC)."""
    return symbols + "." + entry_times.dt.strftime("%m%d%y.%H%M") + "." + directions.map(SIDE_CODES)
