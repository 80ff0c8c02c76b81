"""One small function per table a report draws, each computed in DuckDB over the selection's
views (``report_bt_*``): Python receives only aggregates, samples and a few windows, so a
report over a million requests stays small.

The event path, hit rates, baseline and rank IC are not here: they are the marts' own SQL
(``backtest.report.marts``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from backtest.core.config import HORIZONS
from backtest.report.marts import query_mart
from backtest.report.selection import RELATIONS

INDEX = RELATIONS["bt_index"]
AGGREGATED = RELATIONS["bt_aggregated"]
BARS = RELATIONS["bt_bars"]
SIGNALS = RELATIONS["bt_signals"]
EXCHANGE_TZ = "America/New_York"

HISTOGRAM_BINS = 40
SCATTER_LIMIT = 5_000
CURVE_POINTS = 2_000
EXTREME_ENTRIES = 3


GROUP_KINDS = ("all", "direction", "consensus_direction", "aligned_with_trade", "calculation")
"""The event path's group kinds (``bt_event_path.group_kind``)."""


def event_path(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``bt_event_path`` over the selection: the mean path by group and bar offset.

    One group kind at a time: an exact median holds every return of its group in memory and
    cannot spill, and DuckDB pushes the kind's filter into the mart's SQL, so the peak is that
    of the largest kind (the calculation calls: about 4.7 GB at 1,000,000 requests), not of all
    five together.
    """
    return pd.concat(
        [query_mart(con, "bt_event_path", RELATIONS, group_kind=kind) for kind in GROUP_KINDS],
        ignore_index=True,
    )


def signal_performance(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``bt_signal_performance`` over the selection: hit rates, baseline and IC per horizon."""
    return query_mart(con, "bt_signal_performance", RELATIONS)


def return_histograms(con: duckdb.DuckDBPyConnection, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Per horizon, the returns binned between their 0.5% and 99.5% quantiles (the tails fall
    in the edge bins): ``horizon_minutes, bin_low_pct, bin_high_pct, entries``, plus each
    horizon's ``total`` and ``mean_pct``."""
    measured = "\n        union all\n        ".join(
        f"select {minutes} as horizon_minutes, return_{minutes}m as return_pct from {AGGREGATED} "
        f"where return_{minutes}m is not null"
        for minutes in HORIZONS
    )
    return con.execute(
        f"""
        with

        measured as (
            {measured}
        ),

        bounds as (
            select
                horizon_minutes,
                quantile_cont(return_pct, 0.005) as low_pct,
                greatest(
                    quantile_cont(return_pct, 0.995) - quantile_cont(return_pct, 0.005), 1e-9
                ) / {bins} as width_pct,
                count(*) as total,
                avg(return_pct) as mean_pct
            from measured
            group by horizon_minutes
        ),

        binned as (
            select
                measured.horizon_minutes,
                least(greatest(floor((measured.return_pct - bounds.low_pct)
                    / bounds.width_pct), 0), {bins - 1}) as bin_number
            from measured
            inner join bounds on measured.horizon_minutes = bounds.horizon_minutes
        ),

        counted as (
            select horizon_minutes, bin_number, count(*) as entries
            from binned
            group by horizon_minutes, bin_number
        )

        select
            counted.horizon_minutes,
            bounds.low_pct + counted.bin_number * bounds.width_pct as bin_low_pct,
            bounds.low_pct + (counted.bin_number + 1) * bounds.width_pct as bin_high_pct,
            counted.entries,
            bounds.total,
            bounds.mean_pct
        from counted
        inner join bounds on counted.horizon_minutes = bounds.horizon_minutes
        order by counted.horizon_minutes, counted.bin_number
        """
    ).df()


def excursions(con: duckdb.DuckDBPyConnection, limit: int = SCATTER_LIMIT) -> pd.DataFrame:
    """MFE and MAE of every measured entry, or of a deterministic sample of ``limit`` (by a
    hash of the uid) when there are more: ``uid, mfe_pct, mae_pct, pnl_pct, is_winner,
    total``."""
    return con.execute(
        f"""
        with measured as (
            select
                uid,
                max_favorable_excursion_pct as mfe_pct,
                max_adverse_excursion_pct as mae_pct,
                pnl_pct,
                pnl_pct > 0 as is_winner,
                count(*) over () as total
            from {AGGREGATED}
            where pnl_pct is not null
        )
        select * from measured
        order by hash(uid), uid
        limit {limit}
        """
    ).df()


def minutes_to_extremes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Entries per minute after the entry at which the MFE and the MAE were first reached:
    ``bars_to_extreme, mfe_entries, mae_entries``, plus ``same_bar`` (entries whose two
    extremes fall in the same bar) and ``total``."""
    return con.execute(
        f"""
        with

        measured as (
            select bars_to_mfe, bars_to_mae, has_same_bar_extremes
            from {AGGREGATED}
            where bars_to_mfe is not null and bars_to_mae is not null
        ),

        totals as (
            select count(*) as total, count(*) filter (where has_same_bar_extremes) as same_bar
            from measured
        ),

        extremes as (
            select bars_to_mfe as bars_to_extreme, 'mfe' as extreme from measured
            union all
            select bars_to_mae as bars_to_extreme, 'mae' as extreme from measured
        ),

        per_minute as (
            select
                bars_to_extreme,
                count(*) filter (where extreme = 'mfe') as mfe_entries,
                count(*) filter (where extreme = 'mae') as mae_entries
            from extremes
            group by bars_to_extreme
        )

        select per_minute.*, totals.same_bar, totals.total
        from per_minute
        cross join totals
        order by bars_to_extreme
        """
    ).df()


def returns_by_time(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Mean P&L % with its 95% interval by New York hour of the entry and by weekday:
    ``grouping ('hour'|'weekday'), bucket, label, entries, mean_pnl_pct, ci_half_pct``."""
    return con.execute(
        f"""
        with

        measured as (
            select
                timezone('{EXCHANGE_TZ}', request.entry_time::timestamptz) as local_time,
                aggregated.pnl_pct
            from {INDEX} as request
            inner join {AGGREGATED} as aggregated on request.uid = aggregated.uid
            where aggregated.pnl_pct is not null
        ),

        bucketed as (
            select 'hour' as grouping, hour(local_time) as bucket,
                   lpad(hour(local_time)::varchar, 2, '0') || ':00' as label, pnl_pct
            from measured
            union all
            select 'weekday' as grouping, isodow(local_time) as bucket,
                   dayname(local_time) as label, pnl_pct
            from measured
        )

        select
            grouping,
            bucket,
            any_value(label) as label,
            count(*) as entries,
            avg(pnl_pct) as mean_pnl_pct,
            1.96 * stddev_samp(pnl_pct) / sqrt(count(*)) as ci_half_pct
        from bucketed
        group by grouping, bucket
        order by grouping, bucket
        """
    ).df()


def cumulative_pnl(con: duckdb.DuckDBPyConnection, points: int = CURVE_POINTS) -> pd.DataFrame:
    """The running sum of P&L % over entries in time order (equal notional per entry) and the
    drawdown from its running peak (the start, 0, included), downsampled to at most ``points``
    buckets of consecutive entries: each point is its bucket's last entry, with the bucket's
    deepest drawdown. Columns ``entry_number, entry_time, cumulative_pnl_pct, drawdown_pct,
    total``."""
    return con.execute(
        f"""
        with

        measured as (
            select request.entry_time, request.uid, aggregated.pnl_pct
            from {INDEX} as request
            inner join {AGGREGATED} as aggregated on request.uid = aggregated.uid
            where aggregated.pnl_pct is not null
        ),

        running as (
            select
                entry_time,
                row_number() over in_time_order as entry_number,
                sum(pnl_pct) over in_time_order as cumulative_pnl_pct,
                count(*) over () as total
            from measured
            window in_time_order as (order by entry_time, uid rows unbounded preceding)
        ),

        drawdowns as (
            select
                *,
                cumulative_pnl_pct - greatest(0, max(cumulative_pnl_pct) over (
                    order by entry_number rows unbounded preceding
                )) as drawdown_pct,
                (entry_number - 1) * {points} // total as bucket
            from running
        )

        select
            max(entry_number) as entry_number,
            arg_max(entry_time, entry_number) as entry_time,
            arg_max(cumulative_pnl_pct, entry_number) as cumulative_pnl_pct,
            min(drawdown_pct) as drawdown_pct,
            any_value(total) as total
        from drawdowns
        group by bucket
        order by entry_number
        """
    ).df()


def calculation_agreement(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """For every pair of calculations, the requests on which both gave a result and the share
    on which they called the same direction: ``calculation_a, calculation_b,
    common_requests, same_direction_pct``."""
    return con.execute(
        f"""
        with calls as (
            select uid, calculation, direction from {SIGNALS} where status = 'ok'
        )
        select
            first_call.calculation as calculation_a,
            second_call.calculation as calculation_b,
            count(*) as common_requests,
            100.0 * avg((first_call.direction = second_call.direction)::int)
                as same_direction_pct
        from calls as first_call
        inner join calls as second_call on first_call.uid = second_call.uid
        group by first_call.calculation, second_call.calculation
        order by calculation_a, calculation_b
        """
    ).df()


def status_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Requests per status: ``status, requests``."""
    return con.execute(
        f"select status, count(*) as requests from {INDEX} group by status order by status"
    ).df()


def filled_minutes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per bar offset, the window minutes and the share of them that were filled (no real bar):
    ``bar_offset, minutes, filled, filled_pct``."""
    return con.execute(
        f"""
        select
            bar_offset,
            count(*) as minutes,
            count(*) filter (where is_filled) as filled,
            100.0 * count(*) filter (where is_filled) / count(*) as filled_pct
        from {BARS}
        group by bar_offset
        order by bar_offset
        """
    ).df()


def rejected_bars(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Bars refused at load for the selection's symbols and sources, by reason:
    ``reason, bars``."""
    return con.execute(
        f"""
        select reason, count(*) as bars
        from raw.bar_rejects
        where symbol in (select distinct symbol from {INDEX})
          and data_source in (select distinct data_source from {INDEX})
        group by reason
        order by bars desc, reason
        """
    ).df()


def signal_statuses(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Signals per calculation and status (ok, no_data, failed): ``calculation, status,
    signals``."""
    return con.execute(
        f"""
        select calculation, status, count(*) as signals
        from {SIGNALS}
        group by calculation, status
        order by calculation, status
        """
    ).df()


def extreme_entries(con: duckdb.DuckDBPyConnection, count: int = EXTREME_ENTRIES) -> pd.DataFrame:
    """The ``count`` best and ``count`` worst measured entries by P&L % (never the same entry
    twice): ``rank_kind ('best'|'worst'), rank_number, uid, symbol, direction, entry_time,
    entry_price, pnl_pct``."""
    return con.execute(
        f"""
        with

        measured as (
            select
                request.uid,
                request.symbol,
                request.direction,
                request.entry_time,
                aggregated.entry_price,
                aggregated.pnl_pct,
                row_number() over (order by aggregated.pnl_pct desc, request.uid) as best_rank,
                row_number() over (order by aggregated.pnl_pct, request.uid) as worst_rank,
                count(*) over () as total
            from {INDEX} as request
            inner join {AGGREGATED} as aggregated on request.uid = aggregated.uid
            where aggregated.pnl_pct is not null
        ),

        ranked as (
            select 'best' as rank_kind, best_rank as rank_number, *
            from measured
            where best_rank <= least({count}, ceil(total / 2))
            union all
            select 'worst' as rank_kind, worst_rank as rank_number, *
            from measured
            where worst_rank <= least({count}, floor(total / 2))
        )

        select rank_kind, rank_number, uid, symbol, direction, entry_time, entry_price, pnl_pct
        from ranked
        order by rank_kind, rank_number
        """
    ).df()


def entry_windows(con: duckdb.DuckDBPyConnection, uids: list[str]) -> pd.DataFrame:
    """The 75-minute windows of a few entries: ``uid, bar_offset, bar_time, open, high, low,
    close, volume, is_filled``."""
    if not uids:
        return pd.DataFrame()
    return con.execute(
        f"""
        select uid, bar_offset, bar_time, open, high, low, close, volume, is_filled
        from {BARS}
        where uid in (select unnest(?))
        order by uid, bar_offset
        """,
        [uids],
    ).df()
