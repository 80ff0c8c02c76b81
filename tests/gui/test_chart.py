"""The window chart on real demo backtests: candles, trade marks, overlays, times, rendering."""

from __future__ import annotations

import shutil
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from PyQt6 import QtCore, QtGui

from backtest.core.config import Settings
from backtest.core.errors import BacktestError
from backtest.core.requests import RunOptions
from backtest.engine import run_requests
from backtest.gui.chart import WindowChart
from backtest.gui.chart_data import ChartData, load_chart_data
from plugins.base import BacktestPlugin, Overlay
from plugins.quote_imbalance.plugin import QuoteImbalancePlugin

REQUESTS = [
    ("AAPL", "2024-06-27 13:35:00", "LONG"),
    ("NVDA", "2024-06-27 16:30:00", "SHORT"),
    ("MSFT", "2024-01-10 15:00:00", "LONG"),
]
UIDS = ["AAPL.062724.1335.L", "NVDA.062724.1630.S", "MSFT.011024.1500.L"]
CHECK_PNG = "/tmp/chart_check.png"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    """A warehouse with three demo backtests built by the real pipeline (ingest + dbt)."""
    path = tmp_path_factory.mktemp("chart") / "warehouse.duckdb"
    frame = pd.DataFrame(REQUESTS, columns=["symbol", "entry_time", "direction"])
    run_requests(Settings.from_env(path), frame, RunOptions(), source="demo", show_progress=False)
    return str(path)


@pytest.fixture
def con(warehouse):
    with duckdb.connect(warehouse, read_only=True) as connection:
        yield connection


@pytest.fixture
def chart(qtbot) -> WindowChart:
    widget = WindowChart()
    widget.resize(1200, 800)
    qtbot.addWidget(widget)
    return widget


def shown(chart: WindowChart, con, uid: str) -> ChartData:
    data = load_chart_data(con, uid)
    chart.show_backtest(data)
    return data


def one_row(con, sql: str, uid: str) -> dict:
    return con.execute(sql, [uid]).df().iloc[0].to_dict()


def overlay(data: ChartData, name: str) -> Overlay:
    return next(item for item in data.overlays if item.name == name)


@pytest.mark.parametrize("uid", UIDS)
def test_chart_holds_75_candles_with_the_filled_ones_marked(chart, con, uid):
    shown(chart, con, uid)
    filled = con.execute(
        "select bar_offset from bt_bars where uid = ? and is_filled order by bar_offset", [uid]
    ).fetchall()
    assert chart.candle_count == 75
    assert chart.filled_offsets == [row[0] for row in filled]
    assert chart.candles.bars.bar_offset.tolist() == list(range(-15, 60))


def test_filled_minutes_are_drawn_as_carried_closes(chart, con):
    data = shown(chart, con, UIDS[0])
    filled = data.bars[data.bars.is_filled]
    assert len(filled) > 0
    assert (filled.open == filled.close).all() and (filled.volume == 0).all()
    assert set(chart.volume_bars.opts["x"]).isdisjoint(filled.bar_offset)


@pytest.mark.parametrize("uid", UIDS)
def test_entry_forward_window_and_excursion_levels(chart, con, uid):
    data = shown(chart, con, uid)
    row = one_row(con, "select * from bt_aggregated where uid = ?", uid)
    sign = 1 if data.direction == "LONG" else -1
    assert chart.entry_line.value() == 0
    assert chart.forward_region.getRegion() == (-0.5, data.forward_bars - 0.5)
    assert chart.mfe_level == pytest.approx(
        row["entry_price"] + sign * row["max_favorable_excursion"], abs=1e-12
    )
    assert chart.mae_level == pytest.approx(
        row["entry_price"] - sign * row["max_adverse_excursion"], abs=1e-12
    )
    bars = data.bars.set_index("bar_offset")
    favorable = bars.high if sign == 1 else bars.low
    assert favorable[row["bars_to_mfe"]] == pytest.approx(chart.mfe_level, abs=1e-9)


@pytest.mark.parametrize("uid", UIDS)
def test_overlays_end_at_the_plugins_stored_readings(con, uid):
    data = load_chart_data(con, uid)
    ema = one_row(con, "select ema_9, ema_21 from bt_m1_ema where uid = ?", uid)
    rsi = one_row(con, "select rsi from bt_rsi_14 where uid = ?", uid)
    vwap = one_row(con, "select vwap from bt_vwap_position where uid = ?", uid)
    assert overlay(data, "EMA 9").y[-1] == pytest.approx(ema["ema_9"], abs=1e-9)
    assert overlay(data, "EMA 21").y[-1] == pytest.approx(ema["ema_21"], abs=1e-9)
    assert overlay(data, "RSI 14").y[-1] == pytest.approx(rsi["rsi"], abs=1e-9)
    assert overlay(data, "VWAP").y[-1] == pytest.approx(vwap["vwap"], abs=1e-9)
    assert all(x < 0 for item in data.overlays for x in item.x)


def test_overlays_never_use_bars_at_or_after_the_entry(warehouse, tmp_path):
    uid = UIDS[0]
    copy = tmp_path / "changed.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(warehouse, read_only=True) as con:
        before = load_chart_data(con, uid)
    change = "update raw.bars_1m set close = close * 1.5, volume = volume * 9 where symbol = ? "
    with duckdb.connect(str(copy)) as con:
        con.execute(change + "and bar_time >= ?", ["AAPL", before.entry_time])
        after = load_chart_data(con, uid)
        con.execute(change + "and bar_time = ?", ["AAPL", before.entry_time - pd.Timedelta("1min")])
        earlier_changed = load_chart_data(con, uid)
    assert after.overlays == before.overlays
    assert after.lookback_bars.bar_time.max() < before.entry_time
    assert earlier_changed.overlays != before.overlays


def test_toggling_an_overlay_hides_it(chart, con):
    shown(chart, con, UIDS[0])
    assert chart.overlay_names() == [
        "EMA 9",
        "EMA 21",
        "Volume baseline",
        "Volume surge 2x",
        "RSI 14",
        "VWAP",
        "VWAP \u00b11\u03c3",
    ]
    chart.set_overlay_visible("EMA 9", False)
    assert not chart.is_overlay_visible("EMA 9")
    assert all(not item.isVisible() for item in chart.overlay_items["EMA 9"])
    assert chart.is_overlay_visible("EMA 21")
    chart.set_overlay_visible("RSI 14", False)
    assert all(not item.isVisible() for item in chart.overlay_items["RSI 14"])
    chart.set_overlay_visible("EMA 9", True)
    assert chart.is_overlay_visible("EMA 9")
    with pytest.raises(KeyError):
        chart.set_overlay_visible("no such overlay", False)


def test_rsi_sub_panel_exists_only_when_an_overlay_needs_it(chart, con):
    data = load_chart_data(con, UIDS[0])
    chart.show_backtest(data)
    assert list(chart.sub_plots) == ["RSI 14"]
    data.overlays = [item for item in data.overlays if item.panel != "sub"]
    chart.show_backtest(data)
    assert chart.sub_plots == {}
    assert "RSI 14" not in chart.overlay_names()


@pytest.mark.parametrize(("uid", "hours"), [(UIDS[0], -4), (UIDS[2], -5)])
def test_new_york_labels_differ_from_utc_by_the_zone_offset(chart, con, uid, hours):
    data = shown(chart, con, uid)
    offsets = [-15, 0, 15, 59]
    utc = chart.time_axis.tickStrings(offsets, 1, 15)
    chart.set_new_york_time(True)
    assert chart.new_york_box.isChecked()
    new_york = chart.time_axis.tickStrings(offsets, 1, 15)
    assert utc[1] == f"{data.entry_time:%H:%M}"
    for utc_label, new_york_label in zip(utc, new_york, strict=True):
        shift = pd.Timestamp(f"2000-01-02 {new_york_label}") - pd.Timestamp(
            f"2000-01-02 {utc_label}"
        )
        assert shift == pd.Timedelta(hours=hours)
    assert chart.time_axis.labelText == "time (New York)"
    chart.new_york_box.setChecked(False)
    assert chart.time_axis.tickStrings(offsets, 1, 15) == utc
    entry = data.entry_time.tz_localize("UTC").tz_convert(ZoneInfo("America/New_York"))
    assert f"{entry:%H:%M} NY" in chart.readout_text(0)


def test_readout_tells_filled_from_real_minutes(chart, con):
    data = shown(chart, con, UIDS[0])
    for bar in data.bars.itertuples():
        text = chart.readout_text(bar.bar_offset)
        assert ("FILLED" in text) == bool(bar.is_filled)
        assert f"C {bar.close:.4f}" in text
    assert "outside" in chart.readout_text(60)


def test_clear_empties_the_chart(chart, con):
    shown(chart, con, UIDS[0])
    chart.clear()
    assert chart.candle_count == 0
    assert chart.filled_offsets == []
    assert chart.overlay_names() == []
    assert chart.sub_plots == {}


def test_rendered_chart_is_not_blank(chart, con, tmp_path, qtbot):
    shown(chart, con, UIDS[0])
    chart.show()
    qtbot.waitExposed(chart)
    path = tmp_path / "chart.png"
    assert chart.grab().save(str(path))
    assert chart.grab().save(CHECK_PNG)
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (1200, 800)
    colors = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colors) > 20


def test_missing_uid_is_one_sentence(con):
    with pytest.raises(BacktestError, match=r"^No stored backtest has uid 'NOPE\.010124\.1000\.L'"):
        load_chart_data(con, "NOPE.010124.1000.L")


def test_overlay_hook_is_empty_by_default():
    bars = pd.DataFrame({"bar_time": pd.to_datetime(["2024-06-27 13:34"]), "close": [1.0]})
    assert BacktestPlugin.chart_overlays(bars, pd.Timestamp("2024-06-27 13:35")) == []
    assert QuoteImbalancePlugin.chart_overlays(bars, pd.Timestamp("2024-06-27 13:35")) == []


def test_overlay_refuses_mismatched_values():
    with pytest.raises(ValueError, match="as many values"):
        Overlay("bad", "price", "line", x=[-2, -1], y=[1.0])
    with pytest.raises(ValueError, match="panel must be one of"):
        Overlay("bad", "side", "line")
    with pytest.raises(ValueError, match="level="):
        Overlay("bad", "volume", "level")


@pytest.mark.parametrize("uid", UIDS)
def test_level_labels_stay_inside_the_price_plot_and_the_entry_price_sits_on_the_axis(
    chart, con, uid, qtbot
):
    chart.resize(850, 500)  # the window's size for the chart: labels have little room
    shown(chart, con, uid)
    chart.show()
    qtbot.waitExposed(chart)
    qtbot.wait(50)
    view = chart.price_plot.vb.sceneBoundingRect()
    labels = [line.label for line in chart.level_lines.values()] + [chart.entry_line.label]
    assert len(labels) == 3
    for label in labels:
        assert view.contains(label.sceneBoundingRect()), label.toPlainText()
    tag = chart.entry_tag.sceneBoundingRect()
    assert chart.entry_tag.isVisible() and tag.right() <= view.left() + 1
    assert chart.entry_tag.textItem.toPlainText() == f"{chart.entry_price:.2f}"
    entry_y = chart.price_plot.vb.mapViewToScene(QtCore.QPointF(0, chart.entry_price)).y()
    assert tag.top() <= entry_y <= tag.bottom()
