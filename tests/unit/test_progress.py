"""The progress bar: drawn on a terminal, silent in files and pipes."""

from __future__ import annotations

import doctest
import io
import os

import backtest.core.progress
from backtest.core.progress import ProgressBar


class Terminal(io.StringIO):
    """What a terminal receives: a text stream that says it is a tty."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_rewritten_line_with_counts_and_elapsed_time():
    screen = Terminal()
    with ProgressBar("bt_bars upsert", total=300, unit="row", stream=screen) as bar:
        bar.update(70)
        bar.advance(230)
        drawn = screen.getvalue()
    frames = [frame.rstrip() for frame in drawn.split("\r") if frame.strip()]
    assert frames[0].startswith("  bt_bars upsert [#")
    assert "70/300 rows" in frames[0] and "23%" in frames[0]
    assert frames[-1] == "  bt_bars upsert [################]  300/300 rows  100%  0:00"
    assert "\n" not in drawn
    assert screen.getvalue().endswith("\r")  # cleared, so the next print starts clean
    assert screen.getvalue()[len(drawn) :].strip() == ""


def test_an_unknown_total_shows_the_count_without_a_bar():
    screen = Terminal()
    bar = ProgressBar("ingest", unit="bar", stream=screen)
    bar.update(1)
    assert screen.getvalue().strip() == "ingest  1 bar  0:00"
    bar.close()


def test_files_and_pipes_get_nothing():
    for stream in (io.StringIO(), open(os.devnull, "w")):  # noqa: SIM115
        with stream, ProgressBar("export", total=10, stream=stream) as bar:
            bar.update(5)
            bar.update(10)
            assert not bar.active
            if isinstance(stream, io.StringIO):
                assert stream.getvalue() == ""


def test_disabled_stays_silent_on_a_terminal():
    screen = Terminal()
    with ProgressBar("export", total=10, stream=screen, enabled=False) as bar:
        bar.update(10)
    assert screen.getvalue() == ""


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(backtest.core.progress).failed == 0
