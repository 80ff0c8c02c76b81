"""Live signals: every minute, the coming minute's entries go through the same requests, ingest,
dbt models and ``bt_*`` tables as any backtest, with data up to the present only; a replay
clock runs a past session the same way."""

from backtest.live.clock import Clock, parse_clock
from backtest.live.cycle import Cycle, LivePlan, parse_directions, parse_symbols
from backtest.live.loop import LiveSummary, run_live
from backtest.live.table import render

__all__ = [
    "Clock",
    "Cycle",
    "LivePlan",
    "LiveSummary",
    "parse_clock",
    "parse_directions",
    "parse_symbols",
    "render",
    "run_live",
]
