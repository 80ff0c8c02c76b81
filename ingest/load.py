"""Loading validated bars into ``raw.bars_1m``, idempotent on (source, symbol, minute); ticks.

Every bar keeps its source: a bar that the same source already stored with the same values is
left alone, one with different values is updated in place, a new one is inserted, and another
source's bars are never touched (demo bars never overwrite real ones, nor files Polygon's).
Rejected rows go to ``raw.bar_rejects`` with the reason and the great-expectations expectation that
failed, and every validated batch's suite result is kept in ``raw.validations``. Trades and quotes
of a fetched range replace what the same source stored for that range. All statements run inside
the caller's transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import duckdb
import pandas as pd

from backtest.core.text import plural
from backtest.core.warehouse import utc_now
from ingest.validation import Validation, validate_bars

VALUE_COLUMNS = ["open", "high", "low", "close", "volume"]
TRADE_COLUMNS = [
    "symbol",
    "sip_time",
    "participant_time",
    "trf_time",
    "price",
    "size",
    "exchange",
    "conditions",
    "correction",
    "trade_id",
    "sequence_number",
    "tape",
    "trf_id",
]
QUOTE_COLUMNS = [
    "symbol",
    "sip_time",
    "participant_time",
    "trf_time",
    "bid_price",
    "bid_size",
    "bid_exchange",
    "ask_price",
    "ask_size",
    "ask_exchange",
    "conditions",
    "indicators",
    "sequence_number",
    "tape",
]
TICK_COLUMNS = {"trades": TRADE_COLUMNS, "quotes": QUOTE_COLUMNS}


@dataclass(frozen=True)
class LoadReport:
    """What one load did, with the validation suite's counts."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    checked: int = 0
    batches: int = 0
    reasons: tuple[tuple[str, int], ...] = ()

    def __add__(self, other: LoadReport) -> LoadReport:
        reasons = Counter(dict(self.reasons)) + Counter(dict(other.reasons))
        return LoadReport(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.rejected + other.rejected,
            self.checked + other.checked,
            self.batches + other.batches,
            tuple(sorted(reasons.items())),
        )

    def validation_summary(self) -> str:
        """One line on what the great-expectations suite checked and rejected.

        >>> LoadReport(checked=960, batches=1, rejected=2,
        ...            reasons=(("high < low", 2),)).validation_summary()
        'Validation (great-expectations): 960 bars in 1 batch checked, 2 rejected (2 high < low).'
        """
        batches = plural(self.batches, "batch", "batches")
        line = (
            f"Validation (great-expectations): {plural(self.checked, 'bar')} in {batches} checked, "
        )
        if not self.rejected:
            return line + "all passed."
        detail = ", ".join(f"{count:,} {reason}" for reason, count in self.reasons)
        return line + f"{self.rejected:,} rejected ({detail})."


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
        left join (select * from raw.bars_1m where data_source = $source) as stored
            using (symbol, bar_time)
        """,
        {"source": data_source},
    )
    con.unregister("incoming_bars")
    inserted, updated, unchanged = con.execute(
        """
        select count(*) filter (not is_stored), count(*) filter (is_stored and not is_same),
               count(*) filter (is_same)
        from staged_bars
        """
    ).fetchone()
    now = utc_now()
    con.execute(
        """
        update raw.bars_1m as stored
        set open = staged.open, high = staged.high, low = staged.low, close = staged.close,
            volume = staged.volume, data_source = $source, loaded_at = $now
        from staged_bars as staged
        where staged.is_stored and not staged.is_same
          and stored.data_source = $source
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


def _record_rejects(
    con: duckdb.DuckDBPyConnection, rejects: pd.DataFrame, data_source: str, origin: str | None
) -> None:
    """Keep rejected rows with their reason; a row already kept for the same reason is not
    repeated, so loading the same input again changes nothing."""
    if rejects.empty:
        return
    rejects = rejects.assign(data_source=data_source, rejected_at=utc_now())
    if "origin" not in rejects:
        rejects["origin"] = origin or data_source
    con.register("incoming_rejects", rejects)
    con.execute(
        """
        insert into raw.bar_rejects (symbol, bar_time, open, high, low, close, volume,
                                     data_source, origin, reason, rejected_at, expectation)
        select symbol, bar_time, open, high, low, close, volume, data_source, origin, reason,
               rejected_at, expectation
        from incoming_rejects as incoming
        where not exists (
            select 1 from raw.bar_rejects as kept
            where (kept.symbol, kept.bar_time, kept.open, kept.high, kept.low, kept.close,
                   kept.volume, kept.data_source, kept.origin, kept.reason)
                  is not distinct from
                  (incoming.symbol, incoming.bar_time, incoming.open, incoming.high, incoming.low,
                   incoming.close, incoming.volume, incoming.data_source, incoming.origin,
                   incoming.reason)
        )
        """
    )
    con.unregister("incoming_rejects")


def _record_validation(
    con: duckdb.DuckDBPyConnection,
    bars: pd.DataFrame,
    outcome: Validation,
    data_source: str,
    requested: tuple[pd.Timestamp, pd.Timestamp] | None,
    origin: str | None,
) -> None:
    start, end = requested or (None, None)
    symbols = sorted(bars.symbol.dropna().astype(str).unique().tolist())
    con.execute(
        """
        insert into raw.validations
        select coalesce(max(batch_id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
        from raw.validations
        """,
        [
            utc_now(),
            data_source,
            origin,
            symbols,
            start,
            end,
            len(bars),
            len(outcome.rejects),
            outcome.success,
            json.dumps(outcome.result),
        ],
    )


def load_bars(
    con: duckdb.DuckDBPyConnection,
    bars: pd.DataFrame,
    data_source: str,
    requested: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    origin: str | None = None,
) -> LoadReport:
    """Validate ``bars`` as one batch and load the valid ones; return the counts.

    Args:
        con: a warehouse connection inside the caller's transaction.
        bars: ``symbol, bar_time, open, high, low, close, volume`` (naive UTC, start-labelled).
        data_source: the label stored with each bar.
        requested: the ``[start, end)`` the batch was fetched for; bars outside are rejected.
        origin: where the batch came from (a file, an API range), kept with the validation.
    """
    outcome = validate_bars(bars, requested)
    _record_rejects(con, outcome.rejects, data_source, origin)
    _record_validation(con, bars, outcome, data_source, requested, origin)
    valid = outcome.valid
    report = _upsert(con, valid, data_source) if not valid.empty else LoadReport()
    return LoadReport(
        report.inserted,
        report.updated,
        report.unchanged,
        rejected=len(outcome.rejects),
        checked=len(bars),
        batches=1,
        reasons=tuple(sorted(outcome.reason_counts.items())),
    )


def replace_ticks(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    ticks: pd.DataFrame,
    ranges: pd.DataFrame,
    data_source: str,
) -> int:
    """Store trades or quotes fetched for ``ranges``, replacing what the source held there.

    Args:
        con: a warehouse connection inside the caller's transaction.
        kind: ``trades`` or ``quotes``.
        ticks: rows with ``symbol`` and ``sip_time`` (naive UTC) and any of the table's columns;
            the others are stored as NULL.
        ranges: ``symbol, start_time, end_time`` (end exclusive) the ticks were fetched for.
        data_source: the label stored with each row; other sources' rows are left alone.

    Returns:
        The number of rows stored; loading the same ranges again changes nothing.
    """
    table = f"raw.{kind}"
    con.register("replaced_ranges", ranges[["symbol", "start_time", "end_time"]])
    con.execute(
        f"""
        delete from {table} as stored where stored.data_source = $source and exists (
            select 1 from replaced_ranges as replaced
            where replaced.symbol = stored.symbol
              and stored.sip_time >= replaced.start_time and stored.sip_time < replaced.end_time
        )
        """,
        {"source": data_source},
    )
    con.unregister("replaced_ranges")
    if ticks.empty:
        return 0
    columns = [column for column in TICK_COLUMNS[kind] if column in ticks.columns]
    con.register("incoming_ticks", ticks[columns])
    con.execute(
        f"""
        insert into {table} ({", ".join(columns)}, data_source, loaded_at)
        select {", ".join(columns)}, $source, $now from incoming_ticks
        """,
        {"source": data_source, "now": utc_now()},
    )
    con.unregister("incoming_ticks")
    return len(ticks)
