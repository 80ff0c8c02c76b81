"""``backtest report`` opens in the real headless Chromium: no console error, every chart drawn,
no request beyond the file itself, a screenshot that shows something; SYNTHETIC data says so.

The checks are first shown to fail on pages made to fail them, so they cannot pass vacuously.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from backtest.cli import main
from backtest.report import figures
from backtest.report.selection import Selection
from backtest.report.tear_sheet import Report, Section, render_html
from tests.report.browser import (
    CHROMIUM,
    Rendered,
    drawn_charts,
    png_is_blank,
    png_size,
    render,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is absent: apt-get install chromium (.ci/run installs it)",
)

PLOTLY_BANNER = re.compile(r"\* plotly\.js v\d")
"""The licence comment that opens plotly.js: once in the file means inlined exactly once."""


def write_report(db: Path, output: Path, *flags: str) -> str:
    assert main(["report", "--db", str(db), "--output", str(output), *flags]) == 0
    return output.read_text()


def charts_announced(html: str) -> int:
    return int(re.search(r'<meta name="backtest-report-charts" content="(\d+)">', html)[1])


def assert_opens_cleanly(output: Path, folder: Path, height: int = 2400) -> Rendered:
    html = output.read_text()
    assert len(PLOTLY_BANNER.findall(html)) == 1, "plotly.js is not inlined exactly once"
    own = html.replace(get_plotlyjs(), "")
    assert "<script src" not in own and "cdn.plot.ly" not in own
    rendered = render(output, folder, height=height)
    assert rendered.console_errors == []
    assert rendered.external_requests == []
    drawn = drawn_charts(rendered.dom)
    assert len(drawn) == charts_announced(html)
    assert all(drawn.values()), [chart for chart, is_drawn in drawn.items() if not is_drawn]
    assert png_size(rendered.screenshot) == (1400, height)
    assert not png_is_blank(rendered.screenshot)
    return rendered


def test_the_checks_catch_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><body><div id="chart-x" class="plotly-graph-div"></div>'
        '<img src="http://example.com/x.png">'
        "<script>console.error('boom'); notAFunction();</script></body></html>"
    )
    rendered = render(broken, tmp_path / "browser")
    assert any("Uncaught ReferenceError" in line for line in rendered.console_errors)
    assert any('"boom"' in line for line in rendered.console_errors)
    assert rendered.external_requests == ["http://example.com/x.png"]
    assert drawn_charts(rendered.dom) == {"chart-x": False}
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert png_is_blank(render(blank, tmp_path / "browser", height=600).screenshot)


def test_the_demo_report_opens_offline_with_every_chart_drawn(demo_warehouse, tmp_path, capsys):
    output = tmp_path / "demo.html"
    html = write_report(demo_warehouse, output)
    printed = capsys.readouterr().out
    assert f"Report written to {output}" in printed and "MB" in printed
    assert charts_announced(html) >= 13
    rendered = assert_opens_cleanly(output, tmp_path / "browser")
    assert "SYNTHETIC DATA" in rendered.dom
    assert "<dd>61 (" in rendered.dom and "1 no_data)" in rendered.dom


def test_a_report_on_real_bars_opens_the_same_way_and_is_not_labelled_synthetic(
    real_warehouse, tmp_path
):
    output = tmp_path / "real.html"
    html = write_report(real_warehouse, output, "--title", "LEAN minute bars")
    assert charts_announced(html) >= 13
    rendered = assert_opens_cleanly(output, tmp_path / "browser")
    assert "SYNTHETIC" not in rendered.dom
    assert "<h1>LEAN minute bars</h1>" in rendered.dom


def test_an_empty_selection_says_so_and_opens_cleanly(demo_warehouse, tmp_path):
    output = tmp_path / "empty.html"
    html = write_report(demo_warehouse, output, "--where", "symbol = 'NOPE'")
    assert charts_announced(html) == 0
    rendered = assert_opens_cleanly(output, tmp_path / "browser", height=800)
    assert "The selection holds no request, so there is nothing to chart" in rendered.dom


def test_a_selection_of_no_data_requests_says_so_and_draws_the_data_quality(
    demo_warehouse, tmp_path
):
    output = tmp_path / "no_data.html"
    html = write_report(demo_warehouse, output, "--where", "status = 'no_data'")
    assert charts_announced(html) == 1
    rendered = assert_opens_cleanly(output, tmp_path / "browser", height=1400)
    assert "Every selected request is no_data (1 request without a real bar" in rendered.dom
    assert 'id="chart-quality"' in rendered.dom


def test_a_scatter_above_the_webgl_threshold_is_drawn_with_webgl(tmp_path):
    count = figures.SCATTERGL_ABOVE + 1_000
    random = np.random.default_rng(7)
    points = pd.DataFrame(
        {
            "uid": [f"X.{number}" for number in range(count)],
            "mfe_pct": random.random(count),
            "mae_pct": random.random(count),
            "pnl_pct": random.normal(size=count),
            "total": 1_000_000,
        }
    ).assign(is_winner=lambda frame: frame.pnl_pct > 0)
    figure = figures.excursions(points)
    assert "scattergl" in {trace.type for trace in figure.data}
    assert "sample of 3,000 of 1,000,000" in figure.layout.title.subtitle.text
    selection = Selection(where=None, requests=1_000_000, statuses={"complete": 1_000_000})
    section = Section("excursions", "MFE vs MAE", "WebGL", figure)
    page = tmp_path / "webgl.html"
    page.write_text(render_html(Report("WebGL", tmp_path / "x.duckdb", selection, [section])))
    rendered = assert_opens_cleanly(page, tmp_path / "browser", height=900)
    assert 'class="gl-canvas' in rendered.dom
