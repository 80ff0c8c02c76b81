"""The window chart of one backtest: candles, volume, the trade's marks and the plugins' overlays.

The x axis is the bar offset (minutes from the entry, -15..59), so a missing minute never
distorts the picture; the axis labels those offsets as UTC or New York clock times. Candles are
one ``GraphicsObject`` pre-rendered into a ``QPicture`` (pyqtgraph's
``examples/customGraphicsItem.py``); a filled minute (no trade, carried close) is a grey dash
instead of a candle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from backtest.core.config import WINDOW_END_OFFSET, WINDOW_START_OFFSET
from backtest.gui.chart_data import ChartData
from plugins.base import Overlay

NEW_YORK = ZoneInfo("America/New_York")
UP_COLOR, DOWN_COLOR, FILLED_COLOR = "#26a69a", "#ef5350", "#9e9e9e"
MFE_COLOR, MAE_COLOR, ENTRY_COLOR = "#2e7d32", "#c62828", "#1565c0"
AXIS_COLOR, GRID_ALPHA = "#424242", 0.15
BODY_WIDTH = 0.6
LABEL_FILL = (255, 255, 255, 200)
TICK_STEPS = (1, 5, 15, 30, 60, 120, 240, 480)
PRICE_HEADROOM = 0.16
"""Space above the highest price, as a share of the price span: room for a level's label."""


class CandlestickItem(pg.GraphicsObject):
    """Candles of one window, drawn once into a ``QPicture`` and replayed on every paint.

    Args:
        bars: bar_offset, open, high, low, close and is_filled per minute.
    """

    def __init__(self, bars: pd.DataFrame) -> None:
        super().__init__()
        self.bars = bars.reset_index(drop=True)
        self.picture = QtGui.QPicture()
        self._render()

    @property
    def count(self) -> int:
        """How many minutes are drawn (candles and filled dashes)."""
        return len(self.bars)

    @property
    def filled_offsets(self) -> list[int]:
        """Offsets drawn as filled minutes."""
        return [int(offset) for offset in self.bars.bar_offset[self.bars.is_filled.astype(bool)]]

    def _render(self) -> None:
        painter = QtGui.QPainter(self.picture)
        for bar in self.bars.itertuples(index=False):
            if bool(bar.is_filled):
                _paint_filled(painter, bar)
            else:
                _paint_candle(painter, bar)
        painter.end()

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        painter.drawPicture(0, 0, self.picture)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return QtCore.QRectF(self.picture.boundingRect())


def _paint_candle(painter: QtGui.QPainter, bar) -> None:
    color = UP_COLOR if bar.close >= bar.open else DOWN_COLOR
    painter.setPen(pg.mkPen(color, width=1))
    painter.setBrush(pg.mkBrush(color))
    x = float(bar.bar_offset)
    if bar.high > bar.low:  # a zero-length line turns into a full-height bar under QPicture
        painter.drawLine(QtCore.QPointF(x, bar.low), QtCore.QPointF(x, bar.high))
    top, bottom = max(bar.open, bar.close), min(bar.open, bar.close)
    if top == bottom:
        painter.drawLine(
            QtCore.QPointF(x - BODY_WIDTH / 2, top), QtCore.QPointF(x + BODY_WIDTH / 2, top)
        )
    else:
        painter.drawRect(QtCore.QRectF(x - BODY_WIDTH / 2, bottom, BODY_WIDTH, top - bottom))


def _paint_filled(painter: QtGui.QPainter, bar) -> None:
    painter.setPen(pg.mkPen(FILLED_COLOR, width=2, style=QtCore.Qt.PenStyle.DashLine))
    painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    x, close = float(bar.bar_offset), float(bar.close)
    painter.drawLine(
        QtCore.QPointF(x - BODY_WIDTH / 2, close), QtCore.QPointF(x + BODY_WIDTH / 2, close)
    )


class OffsetTimeAxis(pg.AxisItem):
    """A bottom axis over bar offsets that labels them as clock times (UTC or New York)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("bottom", *args, **kwargs)
        self.entry_time: datetime | None = None
        self.new_york = False

    def set_entry(self, entry_time: datetime | None) -> None:
        """The UTC time of offset 0 (naive or aware); None labels plain offsets."""
        self.entry_time = None if entry_time is None else _aware_utc(entry_time)
        self.picture = None
        self.update()

    def set_new_york(self, enabled: bool) -> None:
        self.new_york = enabled
        if self.style["showValues"]:
            self.setLabel("time (New York)" if enabled else "time (UTC)")
        self.picture = None
        self.update()

    def label_for(self, offset: float) -> str:
        """The clock time of ``offset`` in the axis's zone, ``HH:MM``."""
        if self.entry_time is None:
            return f"{offset:+g}"
        moment = self.entry_time + timedelta(minutes=round(offset))
        return (moment.astimezone(NEW_YORK) if self.new_york else moment).strftime("%H:%M")

    def tickStrings(self, values, scale, spacing) -> list[str]:  # noqa: N802 - pyqtgraph's name
        return [self.label_for(value) for value in values]

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        """Major ticks every 5/15/30/60... minutes (about one per 90 px), aligned on the entry."""
        minutes = max(1.0, maxVal - minVal)
        wanted = max(2, int(size / 90))
        major = next((step for step in TICK_STEPS if minutes / step <= wanted), TICK_STEPS[-1])
        minor = next((step for step in reversed(TICK_STEPS) if step < major), major)
        return [(float(major), 0.0), (float(minor), 0.0)]


class VolumeAxis(pg.AxisItem):
    """A left axis that writes volumes short: 850, 12.5k, 3.2M."""

    def __init__(self) -> None:
        super().__init__("left")

    def tickStrings(self, values, scale, spacing) -> list[str]:  # noqa: N802 - pyqtgraph's name
        return [short_number(value) for value in values]


def short_number(value: float) -> str:
    """A volume in at most four significant characters.

    >>> short_number(600000), short_number(1250), short_number(80)
    ('600k', '1.25k', '80')
    """
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _aware_utc(moment: datetime) -> datetime:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime().astimezone(UTC)


def _style_plot(plot: pg.PlotItem, axis: OffsetTimeAxis, show_times: bool) -> None:
    for name in ("left", "bottom"):
        plot.getAxis(name).setPen(pg.mkPen(AXIS_COLOR))
        plot.getAxis(name).setTextPen(pg.mkPen(AXIS_COLOR))
    plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    plot.getAxis("left").setWidth(64)
    axis.setStyle(showValues=show_times)
    if not show_times:
        axis.setHeight(4)
    plot.setMenuEnabled(False)
    plot.hideButtons()


class WindowChart(QtWidgets.QWidget):
    """Price and volume of a backtest's 75-minute window, linked on the bar offset.

    Shows the entry (offset 0), the forward window shaded, the MFE and MAE levels with markers
    where they were first reached, the plugins' overlays (toggle with ``set_overlay_visible``),
    a crosshair with an OHLCV readout, and times in UTC or New York (``set_new_york_time``).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: ChartData | None = None
        self.candles: CandlestickItem | None = None
        self.entry_line: pg.InfiniteLine | None = None
        self.forward_region: pg.LinearRegionItem | None = None
        self.mfe_level: float | None = None
        self.mae_level: float | None = None
        self.level_lines: dict[str, pg.InfiniteLine] = {}
        self.entry_tag: pg.TextItem | None = None
        self.entry_price: float | None = None
        self.overlay_items: dict[str, list[QtWidgets.QGraphicsItem]] = {}
        self.sub_plots: dict[str, pg.PlotItem] = {}
        self._spare_plots: dict[str, pg.PlotItem] = {}
        self._build_widgets()
        self.clear()

    def _build_widgets(self) -> None:
        self.title = QtWidgets.QLabel("No backtest shown")
        self.title.setStyleSheet("font-weight: bold")
        self.new_york_box = QtWidgets.QCheckBox("New York time")
        self.new_york_box.toggled.connect(self.set_new_york_time)
        self.readout = QtWidgets.QLabel(" ")
        self.readout.setStyleSheet("font-family: monospace")
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        header = QtWidgets.QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.new_york_box)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.ci.setSpacing(0)
        self.legend = pg.LegendItem(colCount=8, labelTextColor=AXIS_COLOR, verSpacing=-4)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.price_axis, self.volume_axis = OffsetTimeAxis(), OffsetTimeAxis()
        self.price_plot = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": self.price_axis})
        self.volume_plot = self.graphics.addPlot(
            row=2, col=0, axisItems={"bottom": self.volume_axis, "left": VolumeAxis()}
        )
        self.volume_plot.setXLink(self.price_plot)
        self.volume_plot.setMouseEnabled(x=True, y=False)
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.graphics.ci.layout.setRowStretchFactor(2, 1)
        self.price_plot.setLabel("left", "price")
        self.volume_plot.setLabel("left", "volume")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
        self.price_plot.vb.sigYRangeChanged.connect(self._place_entry_tag)
        self.price_plot.vb.sigResized.connect(self._place_entry_tag)
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=60, slot=self._mouse_moved
        )

    # Public API ---------------------------------------------------------------------------

    @property
    def candle_count(self) -> int:
        """How many window minutes are drawn (75 for a stored backtest, 0 when empty)."""
        return self.candles.count if self.candles is not None else 0

    @property
    def filled_offsets(self) -> list[int]:
        """The offsets drawn as filled minutes (no trade; the carried close)."""
        return self.candles.filled_offsets if self.candles is not None else []

    def overlay_names(self) -> list[str]:
        """Names of the overlays on the chart, in the order the calculations gave them."""
        return list(self.overlay_items)

    def set_overlay_visible(self, name: str, visible: bool) -> None:
        """Show or hide one overlay (with its reference lines).

        Raises:
            KeyError: No overlay of that name is on the chart.
        """
        if name not in self.overlay_items:
            raise KeyError(f"No overlay named {name!r}: choose one of {self.overlay_names()}.")
        for item in self.overlay_items[name]:
            item.setVisible(visible)

    def is_overlay_visible(self, name: str) -> bool:
        return all(item.isVisible() for item in self.overlay_items[name])

    def set_new_york_time(self, enabled: bool) -> None:
        """Label the time axis (and the title) in New York time instead of UTC."""
        enabled = bool(enabled)
        if self.new_york_box.isChecked() != enabled:
            self.new_york_box.blockSignals(True)
            self.new_york_box.setChecked(enabled)
            self.new_york_box.blockSignals(False)
        for axis in self._time_axes():
            axis.set_new_york(enabled)

    @property
    def new_york_time(self) -> bool:
        return self.new_york_box.isChecked()

    @property
    def time_axis(self) -> OffsetTimeAxis:
        """The axis that shows the times (the bottom of the lowest panel)."""
        return self._time_axes()[-1]

    def clear(self) -> None:
        """Remove the shown backtest; the chart is empty until the next ``show_backtest``."""
        for title, plot in self.sub_plots.items():
            self.graphics.removeItem(plot)
            plot.clear()
            self._spare_plots[title] = plot  # building a PlotItem anew costs ~10 ms
        self.sub_plots = {}
        for plot in (self.price_plot, self.volume_plot):
            plot.clear()
        self.legend.clear()
        self.data, self.candles, self.entry_line, self.forward_region = None, None, None, None
        self.mfe_level = self.mae_level = self.entry_price = None
        self.level_lines = {}
        if self.entry_tag is not None:
            self.entry_tag.setParentItem(None)
            self.graphics.scene().removeItem(self.entry_tag)
            self.entry_tag = None
        self.overlay_items = {}
        self._labels_placed: dict[pg.PlotItem, int] = {}
        self.title.setText("No backtest shown")
        self.readout.setText(" ")
        self._style_axes()
        for axis in self._time_axes():
            axis.set_entry(None)
        self._add_crosshair()

    def show_backtest(self, data: ChartData) -> None:
        """Draw one stored backtest (replacing what was shown)."""
        self.clear()
        self.data = data
        for axis in self._time_axes():
            axis.set_entry(data.entry_time)
        self.title.setText(self._title_text(data))
        self.candles = CandlestickItem(data.bars)
        self.price_plot.addItem(self.candles)
        self._draw_volume(data.bars)
        self._draw_trade_marks(data)
        for overlay in data.overlays:
            self._draw_overlay(overlay)
        self._style_axes()
        self._set_ranges(data)
        self.set_new_york_time(self.new_york_time)
        self.readout.setText(self.readout_text(0))

    # Drawing ------------------------------------------------------------------------------

    def _plots(self) -> list[pg.PlotItem]:
        return [self.price_plot, self.volume_plot, *self.sub_plots.values()]

    def _time_axes(self) -> list[OffsetTimeAxis]:
        return [plot.getAxis("bottom") for plot in self._plots()]

    def _style_axes(self) -> None:
        plots = self._plots()
        for plot in plots:
            _style_plot(plot, plot.getAxis("bottom"), show_times=plot is plots[-1])
        plots[-1].getAxis("bottom").setHeight(None)
        plots[-1].setLabel("bottom", "time (New York)" if self.new_york_time else "time (UTC)")
        for plot in plots[:-1]:
            plot.getAxis("bottom").showLabel(False)

    def _add_crosshair(self) -> None:
        pen = pg.mkPen("#757575", width=1, style=QtCore.Qt.PenStyle.DotLine)
        self.cross_lines = []
        for plot in self._plots():
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            plot.addItem(line, ignoreBounds=True)
            self.cross_lines.append(line)
        self.cross_price = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        self.price_plot.addItem(self.cross_price, ignoreBounds=True)

    def _title_text(self, data: ChartData) -> str:
        entry = _aware_utc(data.entry_time)
        forward = data.forward
        result = (
            f"P&L {forward['pnl']:+.4g} ({forward['pnl_pct']:+.2f}%)"
            if forward.get("pnl") is not None
            else "no forward data"
        )
        return (
            f"{data.uid} \u00b7 {data.result['symbol']} {data.direction} \u00b7 entry "
            f"{entry:%Y-%m-%d %H:%M} UTC ({entry.astimezone(NEW_YORK):%H:%M} New York) \u00b7 "
            f"{data.result.get('status', '')} \u00b7 {result}"
        )

    def _draw_volume(self, bars: pd.DataFrame) -> None:
        real = bars[~bars.is_filled.astype(bool)]
        brushes = [
            pg.mkBrush(UP_COLOR if close >= open_ else DOWN_COLOR)
            for open_, close in zip(real.open, real.close, strict=True)
        ]
        self.volume_bars = pg.BarGraphItem(
            x=real.bar_offset.to_numpy(float),
            height=real.volume.to_numpy(float),
            width=BODY_WIDTH,
            brushes=brushes,
            pen=pg.mkPen(None),
        )
        self.volume_plot.addItem(self.volume_bars)

    def _draw_trade_marks(self, data: ChartData) -> None:
        self.entry_line = pg.InfiniteLine(
            pos=0,
            angle=90,
            movable=False,
            pen=pg.mkPen(ENTRY_COLOR, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
            label="entry",
            labelOpts={
                "position": 0.98,
                "color": ENTRY_COLOR,
                "anchors": [(0, 0), (0, 0)],
                "fill": LABEL_FILL,
            },
        )
        self.price_plot.addItem(self.entry_line)
        self.volume_plot.addItem(
            pg.InfiniteLine(pos=0, angle=90, movable=False, pen=self.entry_line.pen)
        )
        self.forward_region = pg.LinearRegionItem(
            values=(-0.5, data.forward_bars - 0.5),
            movable=False,
            brush=pg.mkBrush(21, 101, 192, 18),
            pen=pg.mkPen(None),
        )
        self.forward_region.setZValue(-20)
        self.price_plot.addItem(self.forward_region)
        self.volume_plot.addItem(
            pg.LinearRegionItem(
                values=(-0.5, data.forward_bars - 0.5),
                movable=False,
                brush=pg.mkBrush(21, 101, 192, 18),
                pen=pg.mkPen(None),
            )
        )
        self._draw_excursions(data)

    def _draw_excursions(self, data: ChartData) -> None:
        forward = data.forward
        entry_price = forward.get("entry_price")
        if entry_price is None:
            return
        self._level_line(entry_price, "#757575", "", 0.02)
        self._add_entry_tag(entry_price)
        sign = 1 if data.direction == "LONG" else -1
        mfe, mae = forward.get("max_favorable_excursion"), forward.get("max_adverse_excursion")
        if mfe is not None:
            self.mfe_level = entry_price + sign * mfe
            self._excursion(self.mfe_level, forward.get("bars_to_mfe"), "MFE", mfe, MFE_COLOR)
        if mae is not None:
            self.mae_level = entry_price - sign * mae
            self._excursion(self.mae_level, forward.get("bars_to_mae"), "MAE", mae, MAE_COLOR)

    def _excursion(
        self, level: float, offset: int | None, label: str, amount: float, color: str
    ) -> None:
        percent = 100 * amount / self.data.forward["entry_price"]
        reached = f" at +{offset} min" if offset is not None else ""
        text = f"{label} {amount:.4g} ({percent:.2f}%){reached}"
        self.level_lines[label] = self._level_line(level, color, text, 0.98)
        if offset is not None:
            marker = pg.ScatterPlotItem(
                [offset], [level], symbol="o", size=9, pen=pg.mkPen("w"), brush=pg.mkBrush(color)
            )
            marker.setZValue(10)
            self.price_plot.addItem(marker)

    def _level_line(self, level: float, color: str, text: str, position: float) -> pg.InfiniteLine:
        """A dashed level across the price plot; its label (if any) sits just above it."""
        anchor = [(1, 1), (1, 1)] if position > 0.5 else [(0, 1), (0, 1)]
        line = pg.InfiniteLine(
            pos=level,
            angle=0,
            movable=False,
            pen=pg.mkPen(color, width=1, style=QtCore.Qt.PenStyle.DashLine),
            label=text or None,
            labelOpts={"position": position, "color": color, "anchors": anchor, "fill": LABEL_FILL},
        )
        self.price_plot.addItem(line)
        return line

    def _add_entry_tag(self, price: float) -> None:
        """The entry price as a tag on the price axis (never over the candles)."""
        self.entry_price = float(price)
        axis = self.price_plot.getAxis("left")
        self.entry_tag = pg.TextItem(
            f"{price:.2f}" if abs(price) >= 1 else f"{price:.4f}",
            color="w",
            fill=pg.mkBrush("#616161"),
            anchor=(1, 0.5),
        )
        self.entry_tag.setToolTip(f"entry price {price:g}")
        self.entry_tag.setParentItem(axis)
        self.entry_tag.setZValue(20)
        self._place_entry_tag()

    def _place_entry_tag(self, *_args) -> None:
        """Keep the entry tag at the entry price's height on the axis (hidden when off view)."""
        if self.entry_tag is None or self.entry_price is None:
            return
        axis = self.price_plot.getAxis("left")
        scene = self.price_plot.vb.mapViewToScene(QtCore.QPointF(0, self.entry_price))
        y = axis.mapFromScene(scene).y()
        self.entry_tag.setPos(axis.width(), y)
        self.entry_tag.setVisible(0 <= y <= axis.height())

    # Overlays -----------------------------------------------------------------------------

    def _overlay_plot(self, overlay: Overlay) -> pg.PlotItem:
        if overlay.panel == "price":
            return self.price_plot
        if overlay.panel == "volume":
            return self.volume_plot
        title = overlay.sub_panel or overlay.name
        if title not in self.sub_plots:
            self.sub_plots[title] = self._new_sub_plot(title, overlay.y_range)
        return self.sub_plots[title]

    def _new_sub_plot(self, title: str, y_range: tuple[float, float] | None) -> pg.PlotItem:
        row = 3 + len(self.sub_plots)
        plot = self._spare_plots.pop(title, None)
        if plot is None:
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": OffsetTimeAxis()})
            plot.setXLink(self.price_plot)
            plot.setMouseEnabled(x=True, y=False)
            plot.setLabel("left", title)
        else:
            self.graphics.addItem(plot, row=row, col=0)
        plot.getAxis("bottom").set_entry(self.data.entry_time if self.data else None)
        self.graphics.ci.layout.setRowStretchFactor(row, 1)
        if y_range is not None:
            plot.setYRange(*y_range, padding=0.02)
        line = pg.InfiniteLine(
            pos=0,
            angle=90,
            movable=False,
            pen=pg.mkPen(ENTRY_COLOR, style=QtCore.Qt.PenStyle.DashLine),
        )
        plot.addItem(line)
        cross = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen("#757575", style=QtCore.Qt.PenStyle.DotLine)
        )
        plot.addItem(cross, ignoreBounds=True)
        self.cross_lines.append(cross)
        return plot

    def _draw_overlay(self, overlay: Overlay) -> None:
        plot = self._overlay_plot(overlay)
        pen = pg.mkPen(overlay.color, width=1.5)
        placed = self._labels_placed.get(plot, 0)
        self._labels_placed[plot] = placed + 1 if overlay.kind == "level" else placed
        items = [_overlay_item(overlay, pen, label_position=0.01 + 0.16 * placed)]
        items += [
            pg.InfiniteLine(
                pos=level,
                angle=0,
                movable=False,
                pen=pg.mkPen(overlay.color, style=QtCore.Qt.PenStyle.DashLine),
                label=f"{level:g}",
                labelOpts={
                    "position": 0.01,
                    "color": overlay.color,
                    "anchors": [(0, 1), (0, 1)],
                    "fill": LABEL_FILL,
                },
            )
            for level in overlay.levels
        ]
        for item in items:
            plot.addItem(item, ignoreBounds=overlay.panel != "sub")
        if overlay.kind != "band" and not (overlay.kind == "level" and not overlay.x):
            self.legend.addItem(items[0], overlay.name)
        self.overlay_items[overlay.name] = self.overlay_items.get(overlay.name, []) + items

    # Ranges and the crosshair -------------------------------------------------------------

    def _set_ranges(self, data: ChartData) -> None:
        first, last = WINDOW_START_OFFSET - 0.5, WINDOW_END_OFFSET + 0.5
        earliest = min([first, *[min(o.x) - 1 for o in data.overlays if o.x]])
        for plot in self._plots():
            plot.setLimits(xMin=earliest, xMax=last + 1)
        self.price_plot.setXRange(first, last, padding=0)
        low, high = self._price_span(data)
        span = high - low or abs(high) or 1.0
        # Headroom above: the MFE/MAE labels sit on top of their lines, the highest one too.
        self.price_plot.setYRange(low - 0.06 * span, high + PRICE_HEADROOM * span, padding=0)
        self.volume_plot.setYRange(0, self._volume_top(data), padding=0)
        for title, plot in self.sub_plots.items():
            ranges = [o.y_range for o in data.overlays if (o.sub_panel or o.name) == title]
            if ranges and ranges[0] is not None:
                plot.setYRange(*ranges[0], padding=0.02)

    def _price_span(self, data: ChartData) -> tuple[float, float]:
        values = [*data.bars.low.dropna(), *data.bars.high.dropna()]
        values += [level for level in (self.mfe_level, self.mae_level) if level is not None]
        for overlay in data.overlays:
            if overlay.panel == "price":
                values += _visible_values(overlay, WINDOW_START_OFFSET)
        return (min(values), max(values)) if values else (0.0, 1.0)

    def _volume_top(self, data: ChartData) -> float:
        values = [float(data.bars.volume.max() or 0)]
        for overlay in data.overlays:
            if overlay.panel == "volume":
                values += _visible_values(overlay, WINDOW_START_OFFSET)
        return 1.25 * max(values) or 1.0

    def _mouse_moved(self, event) -> None:
        position = event[0]
        if self.data is None or not self.price_plot.sceneBoundingRect().contains(position):
            return
        point = self.price_plot.vb.mapSceneToView(position)
        offset = round(point.x())
        for line in self.cross_lines:
            line.setPos(offset)
        self.cross_price.setPos(point.y())
        self.readout.setText(self.readout_text(offset))

    def readout_text(self, offset: int) -> str:
        """The crosshair's readout of one window minute (times in UTC and New York)."""
        if self.data is None:
            return " "
        rows = self.data.bars[self.data.bars.bar_offset == offset]
        if rows.empty:
            return f"offset {offset:+d}: outside the stored window"
        bar = rows.iloc[0]
        moment = _aware_utc(bar.bar_time)
        kind = "FILLED (no trade, carried close)" if bool(bar.is_filled) else "real"
        return (
            f"{offset:+d} min  {moment:%H:%M} UTC / {moment.astimezone(NEW_YORK):%H:%M} NY  "
            f"O {bar.open:.4f}  H {bar.high:.4f}  L {bar.low:.4f}  C {bar.close:.4f}  "
            f"V {bar.volume:,.0f}  {kind}"
        )


def _overlay_item(
    overlay: Overlay, pen: QtGui.QPen, label_position: float
) -> QtWidgets.QGraphicsItem:
    if overlay.kind == "line":
        return pg.PlotDataItem(list(overlay.x), list(overlay.y), pen=pen)
    if overlay.kind == "band":
        low = pg.PlotCurveItem(list(overlay.x), list(overlay.y_low), pen=pg.mkPen(None))
        high = pg.PlotCurveItem(list(overlay.x), list(overlay.y_high), pen=pg.mkPen(None))
        color = QtGui.QColor(overlay.color)
        color.setAlpha(40)
        band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(color))
        band.setZValue(-10)
        return band
    if overlay.x:
        return pg.PlotDataItem([overlay.x[0], overlay.x[-1]], [overlay.level] * 2, pen=pen)
    line = pg.InfiniteLine(
        pos=overlay.level,
        angle=0,
        movable=False,
        pen=pg.mkPen(overlay.color, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
        label=overlay.name,
        labelOpts={
            "position": label_position,
            "color": overlay.color,
            "anchors": [(0, 1), (0, 1)],
            "fill": LABEL_FILL,
        },
    )
    return line


def _visible_values(overlay: Overlay, first_offset: int) -> list[float]:
    """The overlay's values at offsets the default view shows (or its level)."""
    if overlay.kind == "level":
        return [overlay.level]
    columns = (overlay.y,) if overlay.kind == "line" else (overlay.y_low, overlay.y_high)
    return [
        value
        for column in columns
        for x, value in zip(overlay.x, column, strict=True)
        if x >= first_offset and pd.notna(value)
    ]
