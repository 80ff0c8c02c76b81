"""The tear sheet: the selection, then one section per figure, composed into one HTML file.

Only composition lives here (alphalens' ``tears.py``): the tables come from ``queries`` and
the marts' SQL, the pictures from ``figures``. plotly's JavaScript is inlined once in the page's
head and every figure is a ``div`` that uses it, so the file opens without any network.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import plotly.offline

from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.warehouse import connect
from backtest.report import figures, queries
from backtest.report.figures import ALIGNED_COLORS, DIRECTION_COLORS
from backtest.report.selection import Selection, select_requests

Notify = Callable[[str], None]
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
SYMBOLS_SHOWN = 30


@dataclass(frozen=True)
class Section:
    """One part of the report: a figure, or a sentence saying why there is none."""

    key: str
    heading: str
    explanation: str
    figure: go.Figure | None = None
    note: str = ""


@dataclass(frozen=True)
class Report:
    """What a report shows, before it becomes HTML."""

    title: str
    db_path: Path
    selection: Selection
    sections: list[Section] = field(default_factory=list)
    message: str = ""
    """Said plainly at the top when the selection leaves nothing (or little) to chart."""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def charts(self) -> int:
        return sum(section.figure is not None for section in self.sections)


@dataclass(frozen=True)
class WrittenReport:
    """A report written to disk, for the command's last line."""

    path: Path
    size_bytes: int
    charts: int
    seconds: float
    selection: Selection


def _quiet(message: str) -> None:
    """The default progress sink: say nothing."""


def _section(key, heading, explanation, figure, empty) -> Section:
    return Section(key, heading, explanation, figure, "" if figure is not None else empty)


def _event_sections(con: duckdb.DuckDBPyConnection, notify: Notify) -> list[Section]:
    notify("Average paths (bt_event_path over the selection) ...")
    path = queries.event_path(con)
    explanation = (
        "The direction-signed return from the entry price to each minute's close, averaged "
        "over the entries, from 15 minutes before the entry to 59 after. A band that leaves "
        "zero after the entry is an effect; before the entry it shows what the signal saw."
    )
    none = "No entry of the selection has forward data for this grouping."
    return [
        _section(
            "path-consensus",
            "Average path by consensus direction",
            explanation,
            figures.event_path(
                path,
                "consensus_direction",
                "Average path after the entry by consensus direction",
                list(DIRECTION_COLORS),
                DIRECTION_COLORS,
            ),
            none,
        ),
        _section(
            "path-aligned",
            "Average path by alignment with the trade",
            "Aligned: the consensus called the trade's direction (BULLISH for LONG, BEARISH "
            "for SHORT). If the consensus means anything, the aligned path lies above the other.",
            figures.event_path(
                path,
                "aligned_with_trade",
                "Average path: consensus aligned with the trade or not",
                ["true", "false"],
                ALIGNED_COLORS,
            ),
            none,
        ),
        _section(
            "path-calculation",
            "Average path per calculation call",
            "One panel per calculation: the entries after which it called BULLISH, BEARISH or "
            "NEUTRAL. The trade's direction signs the return, so read a panel together with the "
            "directions of the trades selected.",
            figures.event_path_by_calculation(path),
            "No calculation gave a result on an entry with forward data.",
        ),
    ]


def _signal_sections(con: duckdb.DuckDBPyConnection, notify: Notify) -> list[Section]:
    notify("Hit rates and rank IC (bt_signal_performance over the selection) ...")
    performance = queries.signal_performance(con)
    return [
        _section(
            "hit-rate",
            "Hit rate per calculation and horizon",
            "Read this first with the event path: a hit rate means little until it is compared "
            "with the baseline, the share of all measured entries whose price moved the called "
            "way anyway. Bars whose whiskers overlap the baseline show no edge.",
            figures.hit_rates(performance),
            "No calculation made a BULLISH or BEARISH call on an entry with forward data.",
        ),
        _section(
            "rank-ic",
            "Rank IC per horizon",
            "Spearman's rank correlation between a calculation's signed strength and the price "
            "move: above zero, stronger calls met larger moves their way.",
            figures.rank_ics(performance),
            "Too few scored entries to rank (the strength or the move does not vary).",
        ),
    ]


def _trade_sections(con: duckdb.DuckDBPyConnection, notify: Notify) -> list[Section]:
    notify("Return distributions, excursions and timing ...")
    sections = [
        _section(
            "returns",
            "Return distributions per horizon",
            "How the direction-signed returns to 5, 15, 30 and 60 minutes spread: a mean far "
            "from the bulk of the histogram is carried by a few entries.",
            figures.return_histograms(queries.return_histograms(con)),
            "No entry has a return at any horizon.",
        ),
        _section(
            "excursions",
            "MFE vs MAE",
            "Each entry's best (MFE) and worst (MAE) move within the forward window, winners "
            "and losers by P&L. Losers high above the diagonal were winners once: a target "
            "would have kept them.",
            figures.excursions(queries.excursions(con)),
            "No entry has forward data.",
        ),
        _section(
            "extreme-minutes",
            "Minutes to MFE and MAE",
            "When the best and the worst prices came. Within one minute bar the order of high "
            "and low is unknown, so entries whose two extremes share a bar are counted apart.",
            figures.minutes_to_extremes(queries.minutes_to_extremes(con)),
            "No entry has forward data.",
        ),
    ]
    notify("Returns by time, cumulative P&L ...")
    sections += [
        _section(
            "by-time",
            "Mean return by hour and weekday",
            "Mean P&L % by the New York hour and weekday of the entry, with each bucket's count.",
            figures.returns_by_time(queries.returns_by_time(con)),
            "No entry has a P&L.",
        ),
        _section(
            "cumulative",
            "Cumulative P&L and drawdown",
            "The sum of P&L % with equal notional per entry, in entry-time order (overlapping "
            "trades included as if each had its own capital), and the fall from its peak.",
            figures.cumulative_pnl(queries.cumulative_pnl(con)),
            "No entry has a P&L.",
        ),
    ]
    return sections


def _agreement_section(con: duckdb.DuckDBPyConnection, notify: Notify) -> Section:
    notify("Agreement between calculations ...")
    return _section(
        "agreement",
        "Agreement between calculations",
        "Calculations that always agree add no information to the vote; ones that never "
        "agree may measure opposite things (trend against mean reversion).",
        figures.calculation_agreement(queries.calculation_agreement(con)),
        "No calculation gave a result.",
    )


def _quality_section(con: duckdb.DuckDBPyConnection, notify: Notify) -> Section:
    notify("Data quality ...")
    return _section(
        "quality",
        "Data quality",
        "Check this before trusting the figures: no_data requests are left out of every "
        "figure above, filled minutes carry the last close forward, and a calculation that "
        "failed did not vote.",
        figures.data_quality(
            queries.status_counts(con),
            queries.filled_minutes(con),
            queries.rejected_bars(con),
            queries.signal_statuses(con),
        ),
        "The selection holds no request.",
    )


def _extremes_section(con: duckdb.DuckDBPyConnection, notify: Notify) -> Section:
    notify("Best and worst entries ...")
    entries = queries.extreme_entries(con)
    return _section(
        "extremes",
        "Best and worst entries",
        "The three best and three worst trades by P&L %, as candles around the entry: check "
        "that the extremes are trades, not data errors.",
        figures.extreme_entries(entries, queries.entry_windows(con, entries.uid.tolist())),
        "No entry has a P&L.",
    )


def build_report(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    where: str | None = None,
    title: str | None = None,
    notify: Notify = _quiet,
) -> Report:
    """Select the requests on ``con`` and compute every section (nothing is written)."""
    notify("Selecting requests ...")
    selection = select_requests(con, where, str(db_path))
    title = title or "Backtest report"
    if selection.requests == 0:
        message = (
            "The selection holds no request, so there is nothing to chart: widen or drop "
            "--where, or run some backtests first."
        )
        return Report(title, db_path, selection, message=message)
    if selection.measured == 0:
        message = (
            f"Every selected request is no_data ({plural(selection.requests, 'request')} "
            "without a real bar in the forward window), so there is no return to chart: only "
            "the data-quality panel is drawn. Check the symbols, the entry times (UTC) and the "
            "source."
        )
        sections = [_quality_section(con, notify)]
        return Report(title, db_path, selection, sections, message=message)
    sections = [
        *_event_sections(con, notify),
        *_signal_sections(con, notify),
        *_trade_sections(con, notify),
        _agreement_section(con, notify),
        _extremes_section(con, notify),
        _quality_section(con, notify),
    ]
    return Report(title, db_path, selection, sections)


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #f4f5f7; }
main { max-width: 1320px; margin: 0 auto; padding: 16px 24px 40px; }
header { background: #fff; padding: 18px 24px; border-radius: 6px; margin-bottom: 16px; }
h1 { margin: 0 0 10px; font-size: 26px; }
h2 { margin: 0 0 4px; font-size: 19px; }
.banner { background: #ffd23f; border: 2px solid #b58900; color: #3b2f00; padding: 10px 14px;
          font-weight: 600; border-radius: 4px; margin: 8px 0 12px; font-size: 16px; }
.message { background: #fff4e5; border-left: 5px solid #e08214; padding: 10px 14px;
           margin: 10px 0; font-size: 15px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 0; }
dt { font-weight: 600; color: #555; }
dd { margin: 0; }
code { background: #eef0f3; padding: 1px 4px; border-radius: 3px; }
nav { font-size: 13px; margin-top: 10px; color: #555; }
nav a { color: #2166ac; margin-right: 12px; text-decoration: none; }
section { background: #fff; padding: 16px 20px 8px; border-radius: 6px; margin-bottom: 16px; }
section p { margin: 2px 0 6px; color: #444; max-width: 1100px; }
.note { color: #8a4b00; font-style: italic; }
footer { color: #777; font-size: 12px; text-align: center; }
"""


def _header(report: Report) -> str:
    selection = report.selection
    statuses = ", ".join(
        f"{selection.statuses.get(status, 0):,} {status}"
        for status in ("complete", "partial", "no_data")
    )
    symbols = list(selection.symbols[:SYMBOLS_SHOWN])
    if len(selection.symbols) > SYMBOLS_SHOWN:
        symbols.append(f"and {len(selection.symbols) - SYMBOLS_SHOWN:,} more")
    dates = (
        f"{selection.first_entry:%Y-%m-%d %H:%M} to {selection.last_entry:%Y-%m-%d %H:%M} UTC"
        if selection.first_entry
        else "none"
    )
    where = (
        f"<code>{html.escape(selection.where)}</code>"
        if selection.where
        else "every stored request"
    )
    rows = [
        ("Selection", where),
        ("Requests", f"{selection.requests:,} ({statuses})"),
        ("Entries", dates),
        ("Symbols", html.escape(", ".join(symbols)) or "none"),
        ("Data sources", html.escape(", ".join(selection.data_sources)) or "none"),
        ("Warehouse", f"<code>{html.escape(str(report.db_path))}</code>"),
        ("Charts", f"{report.charts}"),
        ("Written", f"{report.created_at:%Y-%m-%d %H:%M} UTC by <code>backtest report</code>"),
    ]
    banner = ""
    if selection.synthetic:
        share = (
            "Every selected request"
            if selection.synthetic_requests == selection.requests
            else f"{selection.synthetic_requests:,} of {selection.requests:,} selected requests"
        )
        banner = (
            f'<div class="banner" id="synthetic">SYNTHETIC DATA: {share} used demo bars '
            "generated by ingest/demo.py. They are not market prices; nothing here says "
            "anything about markets.</div>"
        )
    message = f'<div class="message" id="message">{html.escape(report.message)}</div>'
    nav = " ".join(
        f'<a href="#{section.key}">{html.escape(section.heading)}</a>'
        for section in report.sections
    )
    details = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f"<header><h1>{html.escape(report.title)}</h1>{banner}"
        f"{message if report.message else ''}<dl>{details}</dl>"
        f"{f'<nav>{nav}</nav>' if nav else ''}</header>"
    )


def _section_html(section: Section) -> str:
    body = (
        section.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{section.key}",
            config=PLOTLY_CONFIG,
            default_width="100%",
        )
        if section.figure is not None
        else f'<p class="note">{html.escape(section.note)}</p>'
    )
    return (
        f'<section id="{section.key}"><h2>{html.escape(section.heading)}</h2>'
        f"<p>{html.escape(section.explanation)}</p>{body}</section>"
    )


def render_html(report: Report) -> str:
    """The whole page: plotly's JavaScript once, the header, every section."""
    sections = "\n".join(_section_html(section) for section in report.sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="backtest-report-charts" content="{report.charts}">
<title>{html.escape(report.title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<main data-charts="{report.charts}">
{_header(report)}
{sections}
<footer>Times are UTC unless marked New York. Every figure rests on the counts in its title.
</footer>
</main>
</body>
</html>
"""


def _atomic_write(path: Path, text: str) -> int:
    """Write ``text`` beside ``path`` first and rename it into place: a failure leaves no
    half-written report (and no temporary file)."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        size = temporary.stat().st_size
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return size


def write_report(
    db_path: Path,
    output: Path,
    where: str | None = None,
    title: str | None = None,
    notify: Notify = _quiet,
) -> WrittenReport:
    """Read the warehouse (read-only), build the report and write it to ``output``."""
    started = time.perf_counter()
    with connect(db_path, read_only=True) as con:
        # The builds' memory_limit (profiles.yml) bounds work that spills to disk; the event
        # path's exact medians cannot spill, so a report, which only reads, may use DuckDB's
        # default share of the machine (80% of its memory).
        con.execute("reset memory_limit")
        try:
            report = build_report(con, db_path, where, title, notify)
        except duckdb.OutOfMemoryException:
            raise BacktestError(
                f"The report on {db_path} ran out of memory: narrow the selection with --where "
                "(e.g. one symbol or month), or run it on a machine with more memory."
            ) from None
    notify(f"Writing {output} ...")
    size = _atomic_write(output, render_html(report))
    return WrittenReport(
        output, size, report.charts, time.perf_counter() - started, report.selection
    )
