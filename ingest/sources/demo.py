"""The demo source: SYNTHETIC whole days from ``ingest.demo``, never beside real data unless the
user allows it.

Each symbol-day is made, validated and loaded once: the parts loaded are recorded in the coverage
(``ingest.coverage``), as a fetching source records its ranges, so a request on a day the
warehouse already holds generates, validates and loads nothing (and does not import
great-expectations). Only what the coverage lacks is stored: clearing the cache (``backtest cache
--clear``) cuts the coverage back, and the next run makes that part again; a live run's present
(``SourceOptions.now``) cuts each day there, and the next minute adds just the minute since.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.errors import BacktestError
from backtest.core.warehouse import connect
from ingest import demo
from ingest.coverage import missing_ranges, record_ranges
from ingest.load import replace_ticks
from ingest.planning import inside, merge_ranges, needed_days
from ingest.sources.base import Batch, IngestReport, SourceOptions, load_batch


class DemoSource:
    """``--source demo``."""

    name = "demo"

    def check(self, options: SourceOptions) -> None:
        """Nothing to check: the demo needs no key and no files."""

    def labels(self, options: SourceOptions) -> tuple[str, str]:
        return demo.DATA_SOURCE, demo.DATA_SOURCE

    def load(self, batch: Batch) -> IngestReport:
        needed = needed_days(batch.requests, batch.kinds, batch.options.now)
        ticks = {}
        with connect(batch.db_path) as con:
            if not batch.options.allow_synthetic:
                refuse_demo_beside_real_data(con, batch.db_path)
            gaps = missing_ranges(con, needed, dict.fromkeys(batch.kinds, demo.DATA_SOURCE))
            con.begin()
            bar_gaps = gaps[gaps.kind == "bars"]
            bars = [inside(demo.demo_bars(bar_gaps), "bar_time", bar_gaps)] if len(bar_gaps) else []
            load = load_batch(con, batch.requests, bars, demo.DATA_SOURCE)
            for kind in batch.kinds[1:]:
                ticks[kind] = _load_demo_ticks(con, gaps[gaps.kind == kind], kind)
            record_ranges(con, gaps, demo.DATA_SOURCE)
            con.commit()
        made = len(bar_gaps.drop_duplicates(["symbol", "day"]))
        held = int((needed.kind == "bars").sum()) - made
        return IngestReport.of(load, demo.DATA_SOURCE, days_held=held, **ticks)


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


def _load_demo_ticks(con: duckdb.DuckDBPyConnection, gaps: pd.DataFrame, kind: str) -> int:
    """SYNTHETIC trades or quotes for ``gaps`` (parts of New York days), replacing what the demo
    stored there."""
    if gaps.empty:
        return 0
    windows = merge_ranges(gaps[gaps.symbol.isin(list(demo.UNIVERSE))])
    made = inside(demo.demo_ticks(kind, windows), "sip_time", gaps)
    return replace_ticks(con, kind, made, gaps, demo.DATA_SOURCE)


SOURCE = DemoSource()
