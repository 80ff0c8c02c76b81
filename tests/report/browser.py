"""Open a page in the real headless Chromium (Debian's ``chromium``) and report what happened:
the rendered DOM, console errors, every network request the page made, and a screenshot.

One browser run gives all four: ``--dump-dom`` prints the DOM after ``--virtual-time-budget``
of page time, ``--screenshot`` writes the PNG, ``--enable-logging=stderr`` prints console
messages as ``CONSOLE`` lines, and ``--log-net-log`` records every request in a NetLog JSON.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
    "--enable-logging=stderr",
    "--v=0",
]
GL_PERFORMANCE_NOTE = "GL Driver Message (OpenGL, Performance"
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:")
BROWSER_ITSELF = "not an origin"
"""The NetLog initiator of the browser's own traffic (component updates and the like), which
``--disable-background-networking`` does not silence entirely; the page's requests have the
page's origin (``null`` for a file) as initiator."""


@dataclass(frozen=True)
class Rendered:
    dom: str
    console_errors: list[str]
    requests: list[str]
    """Every URL the page asked for (the browser's own traffic left out)."""
    screenshot: Path | None

    @property
    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]


def render(page: Path, folder: Path, *, height: int = 2400, screenshot: bool = True) -> Rendered:
    """Open ``page`` at 1400 px wide; ``folder`` receives the NetLog and the screenshot."""
    assert CHROMIUM, "chromium is not installed (.ci/run installs it)"
    folder.mkdir(parents=True, exist_ok=True)
    net_log = folder / f"{page.stem}.netlog.json"
    png = folder / f"{page.stem}.png"
    command = [
        CHROMIUM,
        *FLAGS,
        f"--window-size=1400,{height}",
        f"--log-net-log={net_log}",
        f"--user-data-dir={folder / 'profile'}",
        *([f"--screenshot={png}"] if screenshot else []),
        "--dump-dom",
        page.absolute().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return Rendered(
        dom=done.stdout,
        console_errors=console_errors(done.stderr),
        requests=page_requests(net_log),
        screenshot=png if screenshot else None,
    )


def console_errors(log: str) -> list[str]:
    """Console messages and uncaught exceptions. Chromium logs console.error, console.warn and
    console.log alike as ``INFO:CONSOLE`` lines, so every console line counts (a clean page
    says nothing on the console), except the performance notes of Chromium's own software
    WebGL ("GL Driver Message (OpenGL, Performance, ...)"), which the page did not write."""
    return [
        line
        for line in log.splitlines()
        if ("CONSOLE" in line or "Uncaught" in line) and GL_PERFORMANCE_NOTE not in line
    ]


def page_requests(net_log: Path) -> list[str]:
    """The URLs of the NetLog's URL requests that the page started."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job
        and "url" in event.get("params", {})
        and event["params"].get("initiator") != BROWSER_ITSELF
    ]


class _ChartScan(HTMLParser):
    """Which plotly chart divs hold a drawn ``svg.main-svg``."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.drawn: dict[str, bool] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        chart = attributes.get("id") if "plotly-graph-div" in classes else None
        if chart:
            self.drawn[chart] = False
        if tag == "svg" and "main-svg" in classes:
            for _, open_chart in self.stack:
                if open_chart:
                    self.drawn[open_chart] = True
        if tag not in self.VOID:
            self.stack.append((tag, chart))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def drawn_charts(dom: str) -> dict[str, bool]:
    """Every plotly chart div of the DOM by id, and whether plotly drew into it."""
    scan = _ChartScan()
    scan.feed(dom)
    return scan.drawn


def png_is_blank(path: Path) -> bool:
    """Whether a PNG holds (almost) a single colour: its decompressed scanlines use almost no
    distinct byte values. Reads the file with zlib alone (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    position, pixels = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            pixels += data[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(pixels))) < 8


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header."""
    return struct.unpack(">II", path.read_bytes()[16:24])
