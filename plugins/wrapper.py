"""The generic wrapper: runs per-entry adapters (``runs = "adapter"``) inside the dbt build.

Called by the Python model ``int_adapter_signals_computed`` with every pending request and the
bars each may see. For each enabled adapter plugin and each request it fills the seed's shared
data cache, feeds the bars before the entry and asks for the signal. Failures stay with the
entry that caused them: an exception, a call slower than the plugin's ``timeout_seconds`` or an
answer that is not a valid StandardSignal yields status ``failed`` with the error text, and
every other signal, plugin and request is unaffected.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from plugins.base import BacktestPlugin, SignalDirection, StandardSignal
from plugins.loader import STANDARD_SIGNAL_COLUMNS, adapter_plugin_names, load_all_plugins

BAR_COLUMNS = ["bar_time", "open", "high", "low", "close", "volume"]


class AdapterTimeout(Exception):
    pass


def call_with_timeout(function: Callable[[], Any], seconds: float) -> Any:
    """Run ``function`` in a daemon thread; raise AdapterTimeout if it has not returned in time.

    A thread that overruns is abandoned, not killed (Python cannot kill threads); it is a
    daemon, so it never holds the process open.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AdapterTimeout(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _problem(signal: object, entry_time: pd.Timestamp) -> str | None:
    if not isinstance(signal, StandardSignal):
        return f"returned {type(signal).__name__}, not a StandardSignal"
    if signal.direction not in set(SignalDirection):
        return f"direction {signal.direction!r} is not BULLISH, BEARISH or NEUTRAL"
    for label in ("strength", "confidence"):
        value = getattr(signal, label)
        if not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 100:
            return f"{label} {value!r} is outside 0-100"
    if pd.Timestamp(signal.timestamp) != entry_time:
        return f"signal time {signal.timestamp} is not the entry time {entry_time}"
    try:
        json.dumps(signal.metadata)
    except (TypeError, ValueError) as error:
        return f"metadata is not JSON ({error})"
    return None


def _ticks_before(
    ticks: dict[tuple[str, str], pd.DataFrame] | None,
    request,
    time_column: str,
    entry_time: pd.Timestamp,
    minutes: int,
) -> pd.DataFrame | None:
    """The request's own source's trades or quotes of its symbol with
    ``entry - minutes <= time < entry`` (None if unloaded)."""
    if ticks is None:
        return None
    frame = ticks.get((request.tick_data_source, request.symbol))
    if frame is None:
        return pd.DataFrame(columns=[time_column])
    times = frame[time_column]
    return frame[(times >= entry_time - pd.Timedelta(minutes=minutes)) & (times < entry_time)]


def _signal_row(
    plugin: BacktestPlugin,
    request,
    bars: pd.DataFrame,
    points: float,
    ticks: dict[str, dict[tuple[str, str], pd.DataFrame] | None],
) -> dict:
    entry_time = pd.Timestamp(request.entry_time)
    row = {
        "uid": request.uid,
        "calculation": plugin.name,
        "signal_time": entry_time,
        "direction": None,
        "strength": None,
        "confidence": None,
        "points": points,
        "metadata": None,
        "status": "failed",
        "error": None,
    }
    adapter = plugin.create_adapter()
    minutes = adapter.get_data_requirements().lookback_minutes
    cache = {
        "symbol": request.symbol,
        "data_start": bars.bar_time.min() if len(bars) else None,
        "data_end": bars.bar_time.max() if len(bars) else None,
        "entry_time": entry_time,
        "1min_bars": bars,
        "trades": _ticks_before(ticks["trades"], request, "trade_time", entry_time, minutes),
        "quotes": _ticks_before(ticks["quotes"], request, "quote_time", entry_time, minutes),
    }

    def compute():
        adapter.set_data_cache(cache)
        adapter.initialize()
        adapter.feed_historical_data(bars)
        return adapter.get_signal_at_time(entry_time.to_pydatetime())

    try:
        signal = call_with_timeout(compute, plugin.timeout_seconds)
    except Exception as error:
        return {**row, "error": f"{type(error).__name__}: {error}"[:500]}
    if signal is None:
        return {**row, "status": "no_data", "error": "the adapter returned no signal"}
    problem = _problem(signal, entry_time)
    if problem:
        return {**row, "error": f"invalid signal: {problem}"}
    return {
        **row,
        "direction": str(signal.direction),
        "strength": float(signal.strength),
        "confidence": float(signal.confidence),
        "metadata": json.dumps(signal.metadata),
        "status": "ok",
    }


def run_adapters(
    settings: dict[str, dict],
    requests: pd.DataFrame,
    bars: pd.DataFrame,
    trades: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Signals of every enabled ``runs = "adapter"`` plugin for every request (standard columns).

    Args:
        settings: ``vars.backtest_plugins`` of the build (enabled, points, runs per plugin).
        requests: Pending requests (uid, symbol, entry_time, tick_data_source).
        bars: ``int_lookback_bars_selected`` rows (uid, bar_time, OHLCV) of those requests.
        trades: ``stg_raw__trades`` rows of their symbols (with ``data_source``), when an
            adapter needs trades; each request sees only its ``tick_data_source``'s.
        quotes: ``stg_raw__quotes`` rows of their symbols, likewise.
    """
    names = adapter_plugin_names(settings)
    rows = []
    if names:
        plugins = load_all_plugins()
        bars_by_uid = {
            uid: group[BAR_COLUMNS].reset_index(drop=True) for uid, group in bars.groupby("uid")
        }
        empty = pd.DataFrame(columns=BAR_COLUMNS)
        ticks = {
            kind: None if frame is None else dict(tuple(frame.groupby(["data_source", "symbol"])))
            for kind, frame in (("trades", trades), ("quotes", quotes))
        }
        for name in names:
            plugin = plugins[name]()
            points = float(settings[name].get("points", plugin.points))
            rows += [
                _signal_row(plugin, request, bars_by_uid.get(request.uid, empty), points, ticks)
                for request in requests.itertuples(index=False)
            ]
    signals = pd.DataFrame(rows, columns=STANDARD_SIGNAL_COLUMNS)
    return signals.astype(
        {
            "strength": "float64",
            "confidence": "float64",
            "points": "float64",
            "signal_time": "datetime64[us]",
        }
    )
