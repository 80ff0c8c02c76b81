"""The demo source: SYNTHETIC whole days from ``ingest.demo``, never beside real data unless the
user allows it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from ingest import demo
from ingest.load import replace_ticks
from ingest.planning import merge_ranges, plan_windows, signal_ranges, split_by_day
from ingest.sources.base import Batch, IngestReport, SourceOptions, load_batch


class DemoSource:
    """``--source demo``."""

    name = "demo"

    def check(self, options: SourceOptions) -> None:
        """Nothing to check: the demo needs no key and no files."""

    def labels(self, options: SourceOptions) -> tuple[str, str]:
        return demo.DATA_SOURCE, demo.DATA_SOURCE

    def load(self, batch: Batch) -> IngestReport:
        bars = demo.demo_bars(plan_windows(batch.requests))
        ticks = {}
        with connect(batch.db_path) as con:
            if not batch.options.allow_synthetic:
                refuse_demo_beside_real_data(con, batch.db_path)
            con.begin()
            load = load_batch(con, batch.requests, [bars], demo.DATA_SOURCE)
            for kind in batch.kinds[1:]:
                ticks[kind] = _load_demo_ticks(con, batch.requests, kind)
            con.commit()
        return IngestReport.of(load, demo.DATA_SOURCE, **ticks)


def refuse_demo_beside_real_data(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Stop a demo run on a warehouse holding real data, unless the user allowed it.

    Each request reads only its own source's bars, so nothing would be overwritten; but a real
    warehouse's marts (and every aggregate over them) would quietly gain SYNTHETIC results.
    """
    real = [
        row[0]
        for row in con.execute(
            """
            select data_source from raw.bars_1m where data_source <> $demo
            union select data_source from raw.requests where data_source <> $demo
            order by 1
            """,
            {"demo": demo.DATA_SOURCE},
        ).fetchall()
    ]
    if real:
        raise BacktestError(
            f"Warehouse {db_path} holds real data ({', '.join(real)}), and the demo source "
            "would add SYNTHETIC results beside it: name the source with --source "
            f"{real[0].split('-')[0]}, use another --db for the demo, or pass --allow-synthetic."
        )


def _load_demo_ticks(con: duckdb.DuckDBPyConnection, requests: pd.DataFrame, kind: str) -> int:
    """SYNTHETIC trades or quotes for the whole New York days the signal inputs touch."""
    days = split_by_day(signal_ranges(requests))
    days = days[days.symbol.isin(list(demo.UNIVERSE))].drop_duplicates(["symbol", "day"])
    ranges = days.assign(start_time=days.day_start, end_time=days.day_end)
    windows = merge_ranges(ranges)
    return replace_ticks(con, kind, demo.demo_ticks(kind, windows), ranges, demo.DATA_SOURCE)


SOURCE = DemoSource()
