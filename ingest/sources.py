"""The bar sources a run can use, behind one function."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from backtest.errors import BacktestError
from ingest import demo, files

SOURCES = ("demo", "files")


def fetch_bars(source: str, windows: pd.DataFrame, bar_paths: Sequence[str | Path] = ()) -> tuple[
    pd.DataFrame, str
]:
    """Bars for the planned ``windows`` from ``source``, and the data-source label to store.

    The demo source makes whole synthetic days; the files source reads every given file whole
    (the files are the user's chosen cache, so nothing in them is dropped).
    """
    if source == "demo":
        return demo.demo_bars(windows), demo.DATA_SOURCE
    if source == "files":
        return files.read_bar_files(list(bar_paths)), "files"
    raise BacktestError(f"Unknown source '{source}': use one of {', '.join(SOURCES)}.")
