"""One small function per figure, each drawing one table of ``queries`` (or of a rendered mart)
with plotly. Every figure has a title, axis titles with units and, in its subtitle or its
panels' titles, the count it rests on; a function returns None when its table holds nothing to
draw, and the tear sheet says so in words instead of showing an empty chart.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backtest.core.config import HORIZONS, project_vars

SUBTITLE_WIDTH = 170
MIN_CALLS = int(project_vars().get("backtest_min_calls", 30))
"""Fewer calls than this are too few to trust (bt_signal_performance's ``sample_note``)."""
FEW_OPACITY = 0.35
SCATTERGL_ABOVE = 2_000
"""Above this many points a scatter is drawn with WebGL (``go.Scattergl``)."""

DIRECTION_COLORS = {"BULLISH": "#1a9850", "BEARISH": "#d73027", "NEUTRAL": "#6f6f6f"}
ALIGNED_COLORS = {"true": "#2166ac", "false": "#e08214"}
ALIGNED_NAMES = {"true": "aligned with the trade", "false": "not aligned"}
WIN_COLOR, LOSS_COLOR = "#1a9850", "#d73027"
MFE_COLOR, MAE_COLOR = "#2166ac", "#e08214"
ALL_COLOR = "#222222"
CALCULATION_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)
CONSENSUS_COLOR = "#222222"

OFFSET_AXIS = "minutes from entry (bar offset; the entry bar is 0)"
PATH_AXIS = "mean return since entry, % (trade direction)"


def _count(value: float | int) -> str:
    return f"{int(value):,}"


def _rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` with an alpha, for bands.

    >>> _rgba("#1a9850", 0.2)
    'rgba(26,152,80,0.2)'
    """
    red, green, blue = (int(hex_color[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _style(figure: go.Figure, title: str, subtitle: str, height: int) -> go.Figure:
    """The layout every figure shares: the title with its count below it (wrapped, plotly does
    not wrap), the legend under the plot, the white template."""
    lines = textwrap.wrap(subtitle, SUBTITLE_WIDTH)
    figure.update_layout(
        title={
            "text": f"<b>{title}</b>",
            "subtitle": {"text": "<br>".join(lines)},
            "x": 0.01,
            "y": 0.99,
            "yref": "container",
            "yanchor": "top",
        },
        template="plotly_white",
        height=height,
        margin={"t": 80 + 15 * len(lines), "l": 70, "r": 30, "b": 105},
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0.005,
            "yanchor": "bottom",
            "x": 0,
            "xanchor": "left",
        },
        font={"size": 12},
    )
    figure.update_annotations(font={"size": 13})
    return figure


def _count_axis(figure: go.Figure, largest: float, axis: str, **where) -> None:
    """Whole numbers on a count axis, even when the counts are small."""
    update = figure.update_xaxes if axis == "x" else figure.update_yaxes
    update(rangemode="tozero", tickformat=",d", dtick=1 if largest < 6 else None, **where)


def _calculation_color(name: str, names: list[str]) -> str:
    if name == "consensus":
        return CONSENSUS_COLOR
    others = [other for other in names if other != "consensus"]
    return CALCULATION_COLORS[others.index(name) % len(CALCULATION_COLORS)]


def _add_band(
    figure: go.Figure,
    rows: pd.DataFrame,
    name: str,
    color: str,
    *,
    row: int | None = None,
    col: int | None = None,
    show_legend: bool = True,
) -> None:
    """The mean path of one group with its 95% band (ci_low..ci_high) as a filled area."""
    rows = rows.sort_values("bar_offset")
    where = {"row": row, "col": col} if row else {}
    common = {"x": rows.bar_offset, "legendgroup": name, "showlegend": False, "hoverinfo": "skip"}
    if rows.ci_low_pct.notna().any():
        figure.add_trace(
            go.Scatter(y=rows.ci_high_pct, mode="lines", line={"width": 0}, **common), **where
        )
        figure.add_trace(
            go.Scatter(
                y=rows.ci_low_pct,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=_rgba(color, 0.16),
                **common,
            ),
            **where,
        )
    figure.add_trace(
        go.Scatter(
            x=rows.bar_offset,
            y=rows.mean_return_pct,
            customdata=rows[["entries", "ci_low_pct", "ci_high_pct"]],
            mode="lines",
            line={"color": color, "width": 2},
            name=name,
            legendgroup=name,
            showlegend=show_legend,
            hovertemplate=f"{name}<br>minute %{{x}}: %{{y:.3f}}% "
            "(95%: %{customdata[1]:.3f} to %{customdata[2]:.3f}; n = %{customdata[0]:,})"
            "<extra></extra>",
        ),
        **where,
    )


def _entries_at_entry(rows: pd.DataFrame) -> int:
    at_entry = rows[rows.bar_offset == 0]
    return int(at_entry.entries.iloc[0]) if len(at_entry) else int(rows.entries.max())


def _mark_entry(figure: go.Figure) -> None:
    figure.add_vline(x=0, line={"color": "#444", "dash": "dash", "width": 1})
    figure.add_hline(y=0, line={"color": "#999", "width": 1})


def event_path(
    path: pd.DataFrame, group_kind: str, title: str, order: list[str], colors: dict[str, str]
) -> go.Figure | None:
    """The mean path (offsets -15..59) of each group of ``group_kind`` with its 95% band, the
    path of all entries as a dashed reference, the entry marked."""
    groups = path[path.group_kind == group_kind]
    if groups.empty:
        return None
    figure = go.Figure()
    everyone = path[path.group_kind == "all"].sort_values("bar_offset")
    counts = []
    for value in [value for value in order if value in set(groups.group_value)]:
        rows = groups[groups.group_value == value]
        entries = _entries_at_entry(rows)
        label = ALIGNED_NAMES.get(value, value)
        counts.append(f"{label} {_count(entries)}")
        _add_band(figure, rows, f"{label} (n = {_count(entries)})", colors[value])
    if not everyone.empty:
        figure.add_trace(
            go.Scatter(
                x=everyone.bar_offset,
                y=everyone.mean_return_pct,
                mode="lines",
                line={"color": ALL_COLOR, "width": 1.5, "dash": "dot"},
                name=f"all entries (n = {_count(_entries_at_entry(everyone))})",
                hovertemplate="all entries<br>minute %{x}: %{y:.3f}%<extra></extra>",
            )
        )
    _mark_entry(figure)
    figure.update_xaxes(title=OFFSET_AXIS)
    figure.update_yaxes(title=PATH_AXIS)
    subtitle = (
        f"n = {', '.join(counts)} entries with forward data; lines: mean, bands: 95% interval "
        "of the mean; minutes before 0 show the run-up to the entry"
    )
    return _style(figure, title, subtitle, 460)


def event_path_by_calculation(path: pd.DataFrame) -> go.Figure | None:
    """One panel per calculation: the mean path after its BULLISH, BEARISH and NEUTRAL calls,
    each with its 95% band."""
    groups = path[path.group_kind == "calculation"].copy()
    if groups.empty:
        return None
    split = groups.group_value.str.rsplit(":", n=1, expand=True)
    groups["calculation"], groups["call"] = split[0], split[1]
    calculations = sorted(groups.calculation.unique())
    columns = min(3, len(calculations))
    rows_count = math.ceil(len(calculations) / columns)
    titles = []
    for calculation in calculations:
        own = groups[groups.calculation == calculation]
        parts = [
            f"{call.lower()} {_count(_entries_at_entry(own[own.call == call]))}"
            for call in DIRECTION_COLORS
            if call in set(own.call)
        ]
        titles.append(f"<b>{calculation}</b><br>n = {', '.join(parts)}")
    figure = make_subplots(
        rows=rows_count,
        cols=columns,
        subplot_titles=titles,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        vertical_spacing=0.2 if rows_count > 1 else 0.1,
    )
    shown = set()
    for index, calculation in enumerate(calculations):
        row, col = index // columns + 1, index % columns + 1
        own = groups[groups.calculation == calculation]
        for call, color in DIRECTION_COLORS.items():
            rows = own[own.call == call]
            if rows.empty:
                continue
            _add_band(figure, rows, call, color, row=row, col=col, show_legend=call not in shown)
            shown.add(call)
    _mark_entry(figure)
    figure.update_xaxes(title=OFFSET_AXIS, row=rows_count)
    figure.update_yaxes(title="mean return, %", col=1)
    subtitle = (
        "each panel: the entries after which that calculation called BULLISH, BEARISH or "
        "NEUTRAL (n per call in the panel title); bands: 95% interval of the mean"
    )
    return _style(
        figure, "Average path after each calculation's call", subtitle, 330 * rows_count + 140
    )


def return_histograms(histograms: pd.DataFrame) -> go.Figure | None:
    """One histogram per horizon (binned in SQL), zero and the mean marked."""
    if histograms.empty:
        return None
    horizons = [minutes for minutes in HORIZONS if minutes in set(histograms.horizon_minutes)]
    titles = []
    for minutes in horizons:
        rows = histograms[histograms.horizon_minutes == minutes]
        titles.append(
            f"<b>{minutes} min</b>: n = {_count(rows.total.iloc[0])}, "
            f"mean {rows.mean_pct.iloc[0]:+.3f}%"
        )
    columns = 2 if len(horizons) > 1 else 1
    rows_count = math.ceil(len(horizons) / columns)
    figure = make_subplots(
        rows=rows_count, cols=columns, subplot_titles=titles, vertical_spacing=0.16
    )
    for index, minutes in enumerate(horizons):
        rows = histograms[histograms.horizon_minutes == minutes]
        row, col = index // columns + 1, index % columns + 1
        figure.add_trace(
            go.Bar(
                x=(rows.bin_low_pct + rows.bin_high_pct) / 2,
                y=rows.entries,
                width=rows.bin_high_pct - rows.bin_low_pct,
                customdata=rows[["bin_low_pct", "bin_high_pct"]],
                marker={"color": "#4a78b0", "line": {"width": 0}},
                name=f"{minutes} min",
                showlegend=False,
                hovertemplate="%{customdata[0]:.3f}% to %{customdata[1]:.3f}%: "
                "%{y:,} entries<extra></extra>",
            ),
            row=row,
            col=col,
        )
        figure.add_vline(
            x=rows.mean_pct.iloc[0], line={"color": "#d73027", "width": 1.5}, row=row, col=col
        )
        figure.add_vline(x=0, line={"color": "#444", "dash": "dash", "width": 1}, row=row, col=col)
    figure.update_xaxes(title="return to the horizon's close, % (trade direction)")
    figure.update_yaxes(title="entries", col=1)
    figure.update_layout(bargap=0)
    subtitle = (
        "direction-signed return from the entry price to the close of minute N-1, binned in SQL "
        "between the 0.5% and 99.5% quantiles (the tails fall in the edge bins); red: mean, "
        "dashed: zero"
    )
    return _style(figure, "Return distributions per horizon", subtitle, 300 * rows_count + 160)


def excursions(points: pd.DataFrame) -> go.Figure | None:
    """MFE against MAE, winners and losers apart; WebGL above ``SCATTERGL_ABOVE`` points."""
    if points.empty:
        return None
    total = int(points.total.iloc[0])
    kind = go.Scattergl if len(points) > SCATTERGL_ABOVE else go.Scatter
    shown_of = " in the sample" if len(points) < total else ""
    figure = go.Figure()
    for is_winner, name, color in ((True, "winners", WIN_COLOR), (False, "losers", LOSS_COLOR)):
        rows = points[points.is_winner == is_winner]
        figure.add_trace(
            kind(
                x=rows.mae_pct,
                y=rows.mfe_pct,
                mode="markers",
                marker={"color": color, "size": 6, "opacity": 0.6},
                name=f"{name}: P&L {'>' if is_winner else '≤'} 0 ({_count(len(rows))}{shown_of})",
                customdata=rows[["uid", "pnl_pct"]],
                hovertemplate="%{customdata[0]}<br>MAE %{x:.3f}%, MFE %{y:.3f}%, "
                "P&L %{customdata[1]:+.3f}%<extra></extra>",
            )
        )
    top = float(max(points.mae_pct.max(), points.mfe_pct.max(), 0.01))
    figure.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            line={"color": "#999", "dash": "dot", "width": 1},
            name="MFE = MAE",
            hoverinfo="skip",
        )
    )
    figure.update_xaxes(
        title="maximum adverse excursion (MAE), % of entry price", rangemode="tozero"
    )
    figure.update_yaxes(
        title="maximum favorable excursion (MFE), % of entry price", rangemode="tozero"
    )
    shown = (
        f"a deterministic sample of {_count(len(points))} of {_count(total)} entries"
        if len(points) < total
        else f"n = {_count(total)} entries"
    )
    subtitle = (
        f"{shown} with forward data; above the diagonal the trade went further for than against"
    )
    return _style(figure, "Favorable vs adverse excursion", subtitle, 520)


def minutes_to_extremes(minutes: pd.DataFrame) -> go.Figure | None:
    """How many minutes after the entry the MFE and the MAE were first reached."""
    if minutes.empty:
        return None
    total, same_bar = int(minutes.total.iloc[0]), int(minutes.same_bar.iloc[0])
    figure = go.Figure()
    for column, name, color in (
        ("mfe_entries", "minutes to MFE", MFE_COLOR),
        ("mae_entries", "minutes to MAE", MAE_COLOR),
    ):
        figure.add_trace(
            go.Bar(
                x=minutes.bars_to_extreme,
                y=minutes[column],
                name=name,
                marker={"color": color},
                hovertemplate=f"{name}: %{{x}}<br>%{{y:,}} entries<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", bargap=0.15)
    figure.update_xaxes(title="minutes after the entry (bar offset of the first extreme)")
    figure.update_yaxes(title="entries")
    _count_axis(figure, max(minutes.mfe_entries.max(), minutes.mae_entries.max()), "y")
    share = 100 * same_bar / total if total else 0
    subtitle = (
        f"n = {_count(total)} entries with forward data; MFE and MAE in the same bar: "
        f"{_count(same_bar)} ({share:.1f}%), where the order inside the minute is unknown"
    )
    return _style(figure, "Minutes to the best and the worst price", subtitle, 420)


def hit_rates(performance: pd.DataFrame) -> go.Figure | None:
    """Hit rate per calculation and horizon, its Wilson 95% interval as error bars, one panel
    per call direction, and the baseline (all measured entries) drawn across the horizons."""
    calls = performance[
        performance.call_direction.isin(["BULLISH", "BEARISH"]) & performance.hit_rate_pct.notna()
    ]
    if calls.empty:
        return None
    directions = [call for call in ("BULLISH", "BEARISH") if call in set(calls.call_direction)]
    names = _calculation_order(calls.calculation)
    titles = []
    for call in directions:
        own = calls[calls.call_direction == call]
        titles.append(f"<b>{call} calls</b>: n = {_count(own.calls.sum())} calls over all horizons")
    figure = make_subplots(
        rows=1,
        cols=len(directions),
        subplot_titles=titles,
        shared_yaxes=True,
        horizontal_spacing=0.05,
    )
    labels = {minutes: f"{minutes} min" for minutes in HORIZONS}
    for col, call in enumerate(directions, start=1):
        own = calls[calls.call_direction == call]
        for name in names:
            rows = own[own.calculation == name].sort_values("horizon_minutes")
            if rows.empty:
                continue
            figure.add_trace(
                go.Bar(
                    x=rows.horizon_minutes.map(labels),
                    y=rows.hit_rate_pct,
                    error_y={
                        "type": "data",
                        "array": rows.hit_rate_ci_high_pct - rows.hit_rate_pct,
                        "arrayminus": rows.hit_rate_pct - rows.hit_rate_ci_low_pct,
                        "thickness": 1.2,
                        "width": 3,
                    },
                    marker={
                        "color": _calculation_color(name, names),
                        "opacity": [FEW_OPACITY if note else 1.0 for note in rows.sample_note],
                    },
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    customdata=rows[
                        ["calls", "hits", "hit_rate_ci_low_pct", "hit_rate_ci_high_pct"]
                    ].assign(note=rows.sample_note.fillna("")),
                    hovertemplate=f"{name}, {call}<br>%{{x}}: %{{y:.1f}}% "
                    "(%{customdata[1]:,} of %{customdata[0]:,} calls; "
                    "Wilson 95%: %{customdata[2]:.1f} to %{customdata[3]:.1f})<br>"
                    "%{customdata[4]}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        baseline = (
            own.groupby("horizon_minutes", as_index=False)
            .agg(baseline=("baseline_hit_rate_pct", "first"), entries=("baseline_entries", "first"))
            .sort_values("horizon_minutes")
        )
        figure.add_trace(
            go.Scatter(
                x=baseline.horizon_minutes.map(labels),
                y=baseline.baseline,
                customdata=baseline[["entries"]],
                mode="lines+markers",
                line={"color": "#000", "dash": "dash", "width": 1.5},
                marker={"symbol": "line-ew-open", "size": 14},
                name="baseline: the same direction over all entries",
                legendgroup="baseline",
                showlegend=col == 1,
                hovertemplate="baseline %{x}: %{y:.1f}% of %{customdata[0]:,} entries"
                "<extra></extra>",
            ),
            row=1,
            col=col,
        )
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="horizon after the entry")
    figure.update_yaxes(title="hit rate, % of calls", range=[0, 100], col=1)
    few = int(calls.sample_note.notna().sum())
    faded = f"; faded: {_count(few)} bars with fewer than {MIN_CALLS} calls" if few else ""
    subtitle = (
        "a BULLISH call hits when the price rose over the horizon, a BEARISH one when it fell; "
        "whiskers: Wilson 95% interval; dashed: the baseline, the share of all measured entries "
        f"whose price moved that way; calls per bar in the hover{faded}"
    )
    return _style(figure, "Hit rate per calculation and horizon", subtitle, 500)


def _calculation_order(names: pd.Series) -> list[str]:
    """``consensus`` first, then the calculations alphabetically."""
    unique = sorted(set(names))
    return (["consensus"] if "consensus" in unique else []) + [
        name for name in unique if name != "consensus"
    ]


def rank_ics(performance: pd.DataFrame) -> go.Figure | None:
    """Spearman rank IC of signed strength against the forward return, per calculation and
    horizon."""
    rows = (
        performance[performance.rank_ic.notna()]
        .groupby(["calculation", "horizon_minutes"], as_index=False)
        .agg(rank_ic=("rank_ic", "first"), ic_entries=("ic_entries", "first"))
    )
    if rows.empty:
        return None
    names = _calculation_order(rows.calculation)
    figure = go.Figure()
    labels = {minutes: f"{minutes} min" for minutes in HORIZONS}
    for name in names:
        own = rows[rows.calculation == name].sort_values("horizon_minutes")
        figure.add_trace(
            go.Bar(
                x=own.horizon_minutes.map(labels),
                y=own.rank_ic,
                name=f"{name} (n = {_count(own.ic_entries.max())})",
                marker={
                    "color": _calculation_color(name, names),
                    "opacity": [
                        FEW_OPACITY if entries < MIN_CALLS else 1.0 for entries in own.ic_entries
                    ],
                },
                customdata=own[["ic_entries"]],
                hovertemplate=f"{name}<br>%{{x}}: IC %{{y:.3f}} over %{{customdata[0]:,}} "
                "entries<extra></extra>",
            )
        )
    figure.add_hline(y=0, line={"color": "#666", "width": 1})
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="horizon after the entry")
    figure.update_yaxes(title="rank IC (Spearman, -1 to 1)")
    few = int((rows.ic_entries < MIN_CALLS).sum())
    faded = f"; faded: {_count(few)} bars over fewer than {MIN_CALLS} entries" if few else ""
    subtitle = (
        "rank correlation of each calculation's signed strength (BULLISH +, BEARISH -, "
        f"NEUTRAL 0) with the price move over the horizon; n = entries per calculation{faded}"
    )
    return _style(figure, "Information coefficient per horizon", subtitle, 440)


def returns_by_time(by_time: pd.DataFrame) -> go.Figure | None:
    """Mean P&L % by New York hour of the entry and by weekday, with 95% intervals."""
    if by_time.empty:
        return None
    panels = [("hour", "hour of the entry (New York time)"), ("weekday", "weekday (New York)")]
    total = int(by_time[by_time.grouping == "hour"].entries.sum())
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.68, 0.32],
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[
            f"<b>by hour</b>: n = {_count(total)}",
            f"<b>by weekday</b>: n = {_count(total)}",
        ],
    )
    for col, (grouping, axis) in enumerate(panels, start=1):
        rows = by_time[by_time.grouping == grouping]
        labels = [
            f"{label}<br>n={_count(entries)}"
            for label, entries in zip(rows.label, rows.entries, strict=True)
        ]
        figure.add_trace(
            go.Bar(
                x=labels,
                y=rows.mean_pnl_pct,
                error_y={"type": "data", "array": rows.ci_half_pct.fillna(0), "thickness": 1.2},
                marker={
                    "color": [WIN_COLOR if value > 0 else LOSS_COLOR for value in rows.mean_pnl_pct]
                },
                showlegend=False,
                customdata=rows[["entries"]],
                hovertemplate="%{x}: mean P&L %{y:+.3f}% over %{customdata[0]:,} entries"
                "<extra></extra>",
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title=axis, type="category", row=1, col=col)
    figure.add_hline(y=0, line={"color": "#666", "width": 1})
    figure.update_yaxes(title="mean P&L, % of entry price", col=1)
    subtitle = (
        "bars: mean P&L % of the entries in the bucket (n under each bar); whiskers: 95% "
        "interval of the mean"
    )
    return _style(figure, "Mean return by time of entry", subtitle, 440)


def cumulative_pnl(curve: pd.DataFrame, ticks: int = 8) -> go.Figure | None:
    """The running sum of P&L % over entries in time order, and the drawdown below it. The x
    axis counts entries (nights and weekends take no room); its ticks name their dates."""
    if curve.empty:
        return None
    total = int(curve.total.iloc[0])
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06
    )
    hover = "entry %{x:,}, %{customdata[0]|%Y-%m-%d %H:%M} UTC: %{y:+.2f}%<extra></extra>"
    for row, column, name, style in (
        (1, "cumulative_pnl_pct", "cumulative P&L", {"line": {"color": "#2166ac", "width": 1.8}}),
        (
            2,
            "drawdown_pct",
            "drawdown",
            {
                "fill": "tozeroy",
                "line": {"color": LOSS_COLOR, "width": 1},
                "fillcolor": _rgba(LOSS_COLOR, 0.25),
            },
        ),
    ):
        figure.add_trace(
            go.Scatter(
                x=curve.entry_number,
                y=curve[column],
                customdata=curve[["entry_time"]],
                mode="lines",
                name=name,
                hovertemplate=hover,
                **style,
            ),
            row=row,
            col=1,
        )
    marks = curve.iloc[sorted({round(index) for index in _spread(len(curve), ticks)})]
    margin = max(1, total // 100)
    figure.update_xaxes(
        range=[curve.entry_number.iloc[0] - margin, curve.entry_number.iloc[-1] + margin],
        tickvals=marks.entry_number,
        ticktext=[
            f"{number:,}<br>{time:%Y-%m-%d}"
            for number, time in zip(marks.entry_number, marks.entry_time, strict=True)
        ],
    )
    figure.update_yaxes(title="sum of P&L, %", row=1, col=1)
    figure.update_yaxes(title="drawdown, %", row=2, col=1)
    figure.update_xaxes(title="entries in time order (entry number, its UTC date)", row=2, col=1)
    final, deepest = curve.cumulative_pnl_pct.iloc[-1], curve.drawdown_pct.min()
    sampled = (
        f"; drawn as {_count(len(curve))} points (each the last entry of its run, "
        "with the run's deepest drawdown)"
        if len(curve) < total
        else ""
    )
    subtitle = (
        f"n = {_count(total)} entries, equal notional each; total {final:+.2f}%, "
        f"deepest drawdown {deepest:.2f}%{sampled}"
    )
    return _style(figure, "Cumulative P&L over entries in time order", subtitle, 500)


def _spread(length: int, count: int) -> list[float]:
    """``count`` positions spread evenly over ``0..length-1`` (fewer when shorter).

    >>> _spread(5, 3), _spread(1, 8)
    ([0.0, 2.0, 4.0], [0.0])
    """
    if length <= 1:
        return [0.0]
    count = min(count, length)
    return [index * (length - 1) / (count - 1) for index in range(count)]


def calculation_agreement(agreement: pd.DataFrame) -> go.Figure | None:
    """How often two calculations called the same direction on the requests both scored."""
    if agreement.empty:
        return None
    names = sorted(set(agreement.calculation_a))
    share = agreement.pivot(
        index="calculation_a", columns="calculation_b", values="same_direction_pct"
    )
    common = agreement.pivot(
        index="calculation_a", columns="calculation_b", values="common_requests"
    )
    share, common = (
        share.reindex(index=names, columns=names),
        common.reindex(index=names, columns=names),
    )
    text = [
        [
            ""
            if pd.isna(share.loc[row, col])
            else f"{share.loc[row, col]:.0f}%<br>n={_count(common.loc[row, col])}"
            for col in names
        ]
        for row in names
    ]
    figure = go.Figure(
        go.Heatmap(
            z=share.values,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=100,
            colorscale="Blues",
            colorbar={"title": {"text": "% same direction"}},
            hovertemplate="%{y} and %{x}: %{z:.1f}% same direction<extra></extra>",
        )
    )
    figure.update_xaxes(title="calculation", side="bottom")
    figure.update_yaxes(title="calculation", autorange="reversed")
    subtitle = (
        "share of the requests both calculations scored (status ok) on which they called the "
        "same direction (NEUTRAL included); n = common requests per cell"
    )
    return _style(figure, "Agreement between calculations", subtitle, 120 + 70 * len(names) + 120)


STATUS_COLORS = {"complete": "#1a9850", "partial": "#fdae61", "no_data": "#d73027"}
SIGNAL_STATUS_COLORS = {"no_data": "#fdae61", "failed": "#d73027"}


def data_quality(
    statuses: pd.DataFrame, filled: pd.DataFrame, rejects: pd.DataFrame, signals: pd.DataFrame
) -> go.Figure | None:
    """Four panels: requests by status, filled minutes by bar offset, rejected bars by reason,
    signals that are not ok by calculation."""
    if statuses.empty:
        return None
    counts = statuses.set_index("status").requests.reindex(list(STATUS_COLORS), fill_value=0)
    minutes, filled_count = int(filled.minutes.sum()), int(filled.filled.sum())
    rejected = int(rejects.bars.sum())
    not_ok = signals[signals.status != "ok"]
    titles = [
        f"<b>requests by status</b>: n = {_count(counts.sum())}",
        f"<b>filled minutes</b>: {_count(filled_count)} of {_count(minutes)} "
        f"({100 * filled_count / minutes if minutes else 0:.1f}%)",
        f"<b>rejected bars</b> of these symbols and sources: {_count(rejected)}",
        f"<b>signals not ok</b>: {_count(not_ok.signals.sum())} of {_count(signals.signals.sum())}",
    ]
    figure = make_subplots(
        rows=2, cols=2, subplot_titles=titles, vertical_spacing=0.24, horizontal_spacing=0.14
    )
    figure.add_trace(
        go.Bar(
            x=counts.index,
            y=counts.values,
            marker={"color": list(STATUS_COLORS.values())},
            text=[_count(value) for value in counts.values],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{x}: %{y:,} requests<extra></extra>",
        ),
        row=1,
        col=1,
    )
    figure.update_xaxes(title="status", type="category", row=1, col=1)
    figure.update_yaxes(title="requests", row=1, col=1)
    _count_axis(figure, counts.max(), "y", row=1, col=1)
    figure.add_trace(
        go.Bar(
            x=filled.bar_offset,
            y=filled.filled_pct,
            customdata=filled[["filled", "minutes"]],
            marker={"color": "#8c6bb1"},
            showlegend=False,
            hovertemplate="minute %{x}: %{y:.1f}% filled (%{customdata[0]:,} of "
            "%{customdata[1]:,})<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.add_vline(x=-0.5, line={"color": "#444", "dash": "dash", "width": 1}, row=1, col=2)
    figure.update_xaxes(title=OFFSET_AXIS, row=1, col=2)
    figure.update_yaxes(title="filled, % of requests", rangemode="tozero", row=1, col=2)
    if rejected:
        figure.add_trace(
            go.Bar(
                y=rejects.reason.str.slice(0, 48),
                x=rejects.bars,
                orientation="h",
                marker={"color": "#969696"},
                showlegend=False,
                hovertemplate="%{y}: %{x:,} bars<extra></extra>",
            ),
            row=2,
            col=1,
        )
        figure.update_xaxes(title="rejected bars", row=2, col=1)
        _count_axis(figure, rejects.bars.max(), "x", row=2, col=1)
    else:
        _empty_panel(figure, "no bar of these symbols and sources was rejected", row=2, col=1)
    calculations = sorted(set(signals.calculation))
    by_calculation = not_ok.pivot_table(
        index="calculation", columns="status", values="signals", aggfunc="sum", fill_value=0
    ).reindex(index=calculations, columns=list(SIGNAL_STATUS_COLORS), fill_value=0)
    if not calculations:
        _empty_panel(figure, "no calculation ran on these requests", row=2, col=2)
    else:
        for status, color in SIGNAL_STATUS_COLORS.items():
            figure.add_trace(
                go.Bar(
                    y=calculations,
                    x=by_calculation[status],
                    orientation="h",
                    name=f"signal {status}",
                    marker={"color": color},
                    hovertemplate=f"%{{y}}: %{{x:,}} signals {status}<extra></extra>",
                ),
                row=2,
                col=2,
            )
        figure.update_layout(barmode="stack")
        figure.update_xaxes(title="signals not ok (no_data or failed)", row=2, col=2)
        _count_axis(figure, by_calculation.sum(axis=1).max(), "x", row=2, col=2)
    subtitle = (
        "what the figures above rest on: the requests' status, the minutes without a trade "
        "(filled with the last close), the bars refused at load, the calculations that gave "
        "no result"
    )
    return _style(figure, "Data quality", subtitle, 760)


def _empty_panel(figure: go.Figure, note: str, *, row: int, col: int) -> None:
    """A panel with nothing to count: the note in words, no axes."""
    figure.add_trace(
        go.Scatter(
            x=[0], y=[0], mode="markers", marker={"opacity": 0}, showlegend=False, hoverinfo="skip"
        ),
        row=row,
        col=col,
    )
    figure.update_xaxes(visible=False, row=row, col=col)
    figure.update_yaxes(visible=False, row=row, col=col)
    figure.add_annotation(
        text=note,
        x=0.5,
        y=0.5,
        xref="x domain",
        yref="y domain",
        showarrow=False,
        font={"color": "#555"},
        row=row,
        col=col,
    )


def extreme_entries(entries: pd.DataFrame, windows: pd.DataFrame) -> go.Figure | None:
    """The best and the worst entries: their 75-minute windows as candles, filled minutes in
    grey, the entry and its price marked."""
    if entries.empty or windows.empty:
        return None
    best = entries[entries.rank_kind == "best"].sort_values("rank_number")
    worst = entries[entries.rank_kind == "worst"].sort_values("rank_number")
    rows = [frame for frame in (best, worst) if len(frame)]
    columns = max(len(frame) for frame in rows)
    titles = []
    for frame in rows:
        for _, entry in frame.iterrows():
            titles.append(
                f"<b>{entry.rank_kind} {entry.rank_number}</b>: {entry.uid} {entry.pnl_pct:+.2f}%"
            )
        titles += [""] * (columns - len(frame))
    figure = make_subplots(
        rows=len(rows),
        cols=columns,
        subplot_titles=titles,
        vertical_spacing=0.16,
        horizontal_spacing=0.05,
    )
    legend = set()
    for row, frame in enumerate(rows, start=1):
        for col, (_, entry) in enumerate(frame.iterrows(), start=1):
            bars = windows[(windows.uid == entry.uid) & windows.open.notna()]
            for is_filled, name, up, down in (
                (False, "real minute", WIN_COLOR, LOSS_COLOR),
                (True, "filled minute (no trade)", "#b0b0b0", "#b0b0b0"),
            ):
                own = bars[bars.is_filled == is_filled]
                if own.empty:
                    continue
                figure.add_trace(
                    go.Candlestick(
                        x=own.bar_offset,
                        open=own.open,
                        high=own.high,
                        low=own.low,
                        close=own.close,
                        name=name,
                        legendgroup=name,
                        showlegend=name not in legend,
                        increasing={"line": {"color": up, "width": 1}, "fillcolor": up},
                        decreasing={"line": {"color": down, "width": 1}, "fillcolor": down},
                    ),
                    row=row,
                    col=col,
                )
                legend.add(name)
            figure.add_vline(
                x=0, line={"color": "#444", "dash": "dash", "width": 1}, row=row, col=col
            )
            figure.add_hline(
                y=entry.entry_price,
                line={"color": "#2166ac", "dash": "dot", "width": 1},
                row=row,
                col=col,
            )
    figure.update_xaxes(rangeslider_visible=False)
    figure.update_xaxes(title="minutes from entry", row=len(rows))
    figure.update_yaxes(title="price (USD)", col=1)
    subtitle = (
        f"the {len(best)} best and {len(worst)} worst entries by P&L % with their 75-minute "
        "windows (minutes -15..59); dashed: the entry bar, dotted: the entry price (its open)"
    )
    return _style(figure, "Best and worst entries", subtitle, 360 * len(rows) + 140)
