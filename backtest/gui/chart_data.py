"""What the window chart of one stored backtest shows, read from the warehouse (nothing recomputed).

``load_chart_data`` reads the result object (as ``--output`` writes it), the 75 ``bt_bars`` of
the window and the real bars the signals saw, and asks every calculation that ran for that uid
for its overlays, computed from those lookback bars only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from backtest.build.results import fetch_results
from backtest.core.errors import BacktestError
from plugins.base import Overlay
from plugins.loader import load_all_plugins

WINDOW_SQL = """
select bar_offset, bar_time, open, high, low, close, volume, is_filled
from bt_bars
where uid = ?
order by bar_offset
"""

LOOKBACK_SQL = """
select bar_time, open, high, low, close, volume
from raw.bars_1m
where symbol = ? and data_source = ? and bar_time >= ? and bar_time < ?
order by bar_time
"""


@dataclass
class ChartData:
    """One stored backtest as the chart draws it.

    Attributes:
        uid: The request's UID.
        result: Its result object (``fetch_results``: uid, symbol, entry_time, direction,
            status, signals, consensus, forward, ...).
        bars: The 75 window bars, ``bar_offset`` -15..59 ascending (bar_offset, bar_time,
            open, high, low, close, volume, is_filled).
        lookback_bars: The real bars the signals saw, ``entry - lookback <= bar_time < entry``.
        overlays: Every overlay of the calculations that ran, in calculation order.
        overlay_errors: Calculation name -> one sentence, for overlays that could not be drawn.
    """

    uid: str
    result: dict
    bars: pd.DataFrame
    lookback_bars: pd.DataFrame
    overlays: list[Overlay]
    overlay_errors: dict[str, str] = field(default_factory=dict)

    @property
    def entry_time(self) -> pd.Timestamp:
        """The entry, naive UTC."""
        return pd.Timestamp(self.result["entry_time"]).tz_convert("UTC").tz_localize(None)

    @property
    def direction(self) -> str:
        return self.result["direction"]

    @property
    def forward(self) -> dict:
        """entry_price, exit_price, MFE/MAE, bars_to_*, returns (None for no_data)."""
        return self.result.get("forward") or {}

    @property
    def forward_bars(self) -> int:
        return int(self.result["forward_bars"])


def lookback_minutes(result: dict) -> int:
    """The request's lookback in whole minutes, as the build computes it (floor of hours * 60).

    >>> lookback_minutes({"historical_lookback_hours": 2.0})
    120
    """
    return int(math.floor(float(result["historical_lookback_hours"]) * 60))


def read_lookback_bars(con: duckdb.DuckDBPyConnection, result: dict) -> pd.DataFrame:
    """The real bars the signals of ``result`` saw: its own source and symbol, before the entry."""
    entry = pd.Timestamp(result["entry_time"]).tz_convert("UTC").tz_localize(None)
    start = entry - pd.Timedelta(minutes=lookback_minutes(result))
    parameters = [result["symbol"], result["data_source"], start.to_pydatetime(), entry]
    return con.execute(LOOKBACK_SQL, parameters).df()


def plugin_overlays(
    result: dict, lookback_bars: pd.DataFrame
) -> tuple[list[Overlay], dict[str, str]]:
    """Ask each calculation named in ``result["signals"]`` for its overlays.

    A calculation whose plugin is no longer installed, or whose hook fails, gets an entry in the
    returned errors instead (the chart still shows everything else).
    """
    plugins = load_all_plugins()
    entry = pd.Timestamp(result["entry_time"]).tz_convert("UTC").tz_localize(None)
    bars = lookback_bars[lookback_bars.bar_time < entry].reset_index(drop=True)
    overlays: list[Overlay] = []
    errors: dict[str, str] = {}
    for name in [signal["calculation"] for signal in result.get("signals", [])]:
        plugin = plugins.get(name)
        if plugin is None:
            errors[name] = f"Calculation {name} is not installed, so its overlays are not drawn."
            continue
        try:
            overlays += plugin.chart_overlays(
                bars.copy(), entry.to_pydatetime(), lookback_minutes=lookback_minutes(result)
            )
        except Exception as error:  # a plugin's bug must not hide the backtest itself
            errors[name] = f"Overlays of {name} failed ({type(error).__name__}: {error})."
    return overlays, errors


def load_chart_data(con: duckdb.DuckDBPyConnection, uid: str) -> ChartData:
    """Read the stored backtest ``uid`` for the chart, without recomputing anything.

    Raises:
        BacktestError: No stored backtest has that uid.
    """
    found = fetch_results(con, [uid])
    if not found:
        raise BacktestError(
            f"No stored backtest has uid {uid!r}: run it first, or pick one from the history."
        )
    result = found[0]
    bars = con.execute(WINDOW_SQL, [uid]).df()
    lookback_bars = read_lookback_bars(con, result)
    overlays, errors = plugin_overlays(result, lookback_bars)
    return ChartData(uid, result, bars, lookback_bars, overlays, errors)
