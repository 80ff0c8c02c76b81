"""The live table: the calls for the coming minute, and how the entries of 5, 15, 30 and 60
minutes ago have turned out so far. Rows are plain text cells, for the terminal and the
dashboard alike."""

from __future__ import annotations

import pandas as pd

from backtest.core.config import HORIZONS
from backtest.core.tables import Grid
from backtest.live.cycle import Cycle

EXCHANGE_TZ = "America/New_York"
AGES = HORIZONS
"""The ages (minutes) at which an earlier entry is shown: when each horizon's return is in."""


def _entry_time(result: dict) -> pd.Timestamp:
    return pd.Timestamp(result["entry_time"]).tz_convert("UTC").tz_localize(None)


def _new_york(moment: pd.Timestamp) -> str:
    return f"{moment.tz_localize('UTC').tz_convert(EXCHANGE_TZ):%H:%M}"


def _call(signal: dict | None) -> str:
    """A calculation's call and strength, e.g. ``BULLISH 62``.

    >>> _call({"status": "ok", "direction": "BEARISH", "strength": 61.6})
    'BEARISH 62'
    >>> _call({"status": "failed", "direction": None, "strength": None})
    'failed'
    """
    if signal is None:
        return "-"
    if signal["status"] != "ok" or signal["direction"] is None:
        return signal["status"]
    return f"{signal['direction']} {signal['strength']:.0f}"


def _consensus(result: dict) -> str:
    consensus = result["consensus"]
    if consensus.get("consensus_direction") is None:
        return "-"
    return f"{consensus['consensus_direction']} {consensus['agreement_score']:.0f}%"


def calculation_names(results: tuple[dict, ...]) -> list[str]:
    """Every calculation that voted in ``results``, in the order they are reported."""
    names = {signal["calculation"]: None for result in results for signal in result["signals"]}
    return list(names)


def calls_grid(cycle: Cycle) -> Grid:
    """One row per new entry: symbol, side, entry (UTC and New York), each calculation's call
    and strength, and the consensus with its agreement."""
    names = calculation_names(cycle.entered)
    rows = []
    for result in cycle.entered:
        entry = _entry_time(result)
        signals = {signal["calculation"]: signal for signal in result["signals"]}
        rows.append(
            (
                result["symbol"],
                result["direction"],
                f"{entry:%H:%M}",
                _new_york(entry),
                *(_call(signals.get(name)) for name in names),
                _consensus(result),
            )
        )
    headers = ("symbol", "side", "entry UTC", "New York", *names, "consensus")
    return Grid(headers, tuple(rows), (False,) * len(headers))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}%"


def outcome_grid(cycle: Cycle) -> Grid:
    """One row per earlier entry now 5, 15, 30 or 60 minutes old: its status, its consensus,
    the returns of the horizons it has reached, and its P&L so far."""
    rows = []
    for result in cycle.earlier:
        entry = _entry_time(result)
        age = int((cycle.present - entry) / pd.Timedelta(minutes=1))
        if age not in AGES:
            continue
        forward = result.get("forward") or {}
        returns = [
            _percent(forward.get(f"return_{minutes}m")) if minutes <= age else ""
            for minutes in HORIZONS
        ]
        rows.append(
            (
                result["symbol"],
                result["direction"],
                f"{entry:%H:%M}",
                f"{age}m",
                result["status"],
                _consensus(result),
                *returns,
                _percent(forward.get("pnl_pct")),
            )
        )
    rows.sort(key=lambda row: (int(row[3][:-1]), row[0], row[1]))
    headers = (
        "symbol",
        "side",
        "entry UTC",
        "age",
        "status",
        "consensus",
        *(f"{minutes}m" for minutes in HORIZONS),
        "P&L so far",
    )
    numeric = (False,) * 6 + (True,) * (len(HORIZONS) + 1)
    return Grid(headers, tuple(rows), numeric)


def calls_caption(cycle: Cycle) -> str:
    """The line above the calls: the minute they are for, in UTC and New York.

    >>> calls_caption(Cycle(pd.Timestamp("2024-06-27 13:32")))
    'Calls for the minute from 13:32 UTC (09:32 New York), on the bars before it:'
    """
    return (
        f"Calls for the minute from {cycle.present:%H:%M} UTC "
        f"({_new_york(cycle.present)} New York), on the bars before it:"
    )


def render(cycle: Cycle, heading: str) -> str:
    """The whole refreshed table of one minute, under ``heading``."""
    if cycle.skipped:
        return f"{heading}\n{cycle.status_line()}"
    parts = [heading, calls_caption(cycle), calls_grid(cycle).text()]
    outcomes = outcome_grid(cycle)
    if outcomes.rows:
        parts += ["", "Earlier entries so far:", outcomes.text()]
    parts += ["", cycle.status_line()]
    return "\n".join(parts)
