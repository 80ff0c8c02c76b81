"""Loading validated bars into ``raw.bars_1m``, idempotent on (symbol, minute).

A bar that is already stored with the same values is left alone; one with different values is
updated in place; a new one is inserted. Rejected rows go to ``raw.bar_rejects`` with a reason.
All statements run inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from backtest.warehouse import utc_now
from ingest.validation import split_valid

VALUE_COLUMNS = ["open", "high", "low", "close", "volume"]


@dataclass(frozen=True)
class LoadReport:
    """What one load did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __add__(self, other: LoadReport) -> LoadReport:
        return LoadReport(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.rejected + other.rejected,
        )


def _upsert(con: duckdb.DuckDBPyConnection, bars: pd.DataFrame, data_source: str) -> LoadReport:
    con.register("incoming_bars", bars[["symbol", "bar_time", *VALUE_COLUMNS]])
    con.execute(
        """
        create or replace temp table staged_bars as
        select incoming.*, stored.symbol is not null as is_stored,
               stored.symbol is not null
                 and (incoming.open, incoming.high, incoming.low, incoming.close, incoming.volume)
                   is not distinct from
                     (stored.open, stored.high, stored.low, stored.close, stored.volume)
                 as is_same
        from incoming_bars as incoming
        left join raw.bars_1m as stored using (symbol, bar_time)
        """
    )
    con.unregister("incoming_bars")
    inserted, updated, unchanged = con.execute(
        """
        select count(*) filter (not is_stored), count(*) filter (is_stored and not is_same),
               count(*) filter (is_same)
        from staged_bars
        """
    ).fetchall()[0]
    now = utc_now()
    con.execute(
        """
        update raw.bars_1m as stored
        set open = staged.open, high = staged.high, low = staged.low, close = staged.close,
            volume = staged.volume, data_source = $source, loaded_at = $now
        from staged_bars as staged
        where staged.is_stored and not staged.is_same
          and stored.symbol = staged.symbol and stored.bar_time = staged.bar_time
        """,
        {"source": data_source, "now": now},
    )
    con.execute(
        """
        insert into raw.bars_1m
        select symbol, bar_time, open, high, low, close, volume, $source, $now
        from staged_bars where not is_stored
        """,
        {"source": data_source, "now": now},
    )
    con.execute("drop table staged_bars")
    return LoadReport(inserted=inserted, updated=updated, unchanged=unchanged)


def _record_rejects(con: duckdb.DuckDBPyConnection, rejects: pd.DataFrame, data_source: str) -> None:
    if rejects.empty:
        return
    rejects = rejects.assign(data_source=data_source, rejected_at=utc_now())
    if "origin" not in rejects:
        rejects["origin"] = data_source
    con.register("incoming_rejects", rejects)
    con.execute(
        """
        insert into raw.bar_rejects
        select symbol, bar_time, open, high, low, close, volume, data_source, origin, reason,
               rejected_at
        from incoming_rejects
        """
    )
    con.unregister("incoming_rejects")


def load_bars(con: duckdb.DuckDBPyConnection, bars: pd.DataFrame, data_source: str) -> LoadReport:
    """Validate ``bars`` and load the valid ones; return the counts."""
    if bars.empty:
        return LoadReport()
    valid, rejects = split_valid(bars)
    _record_rejects(con, rejects, data_source)
    report = _upsert(con, valid, data_source) if not valid.empty else LoadReport()
    return LoadReport(report.inserted, report.updated, report.unchanged, rejected=len(rejects))
