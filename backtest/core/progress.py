"""A progress bar for long runs: one rewritten line on a terminal, nothing in logs and pipes.

One helper for every long step (export rows, ingest requests or bars, bench sizes, written
results): a label, a bar when the total is known, the count with its unit, and the time since
the step started, e.g. ``  bt_bars upsert [########--------]  45,000/90,000 rows  50%  0:07``.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 78
BAR_CELLS = 16
MIN_REDRAW_SECONDS = 0.1


def elapsed_text(seconds: float) -> str:
    """Elapsed time as m:ss, or h:mm:ss from an hour on.

    >>> elapsed_text(7.4), elapsed_text(75), elapsed_text(3725)
    ('0:07', '1:15', '1:02:05')
    """
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(
    label: str,
    done: int,
    total: int | None,
    unit: str,
    seconds: float,
    note: str = "",
    width: int = WIDTH,
) -> str:
    """The text of one progress line (without the leading carriage return), cut at ``width``.

    >>> progress_line("bt_bars upsert", 45_000, 90_000, "row", 7.2)
    '  bt_bars upsert [########--------]  45,000/90,000 rows  50%  0:07'
    >>> progress_line("ingest", 1, None, "request", 0.5)
    '  ingest  1 request  0:00'
    >>> progress_line("dbt build", 12, 76, "node", 3, note="stg_raw__bars_1m")
    '  dbt build [##--------------]  12/76 nodes  16%  0:03  stg_raw__bars_1m'
    """
    if total:
        share = min(max(done / total, 0.0), 1.0)
        filled = int(share * BAR_CELLS)
        bar = "[" + "#" * filled + "-" * (BAR_CELLS - filled) + "]"
        noun = unit if total == 1 else f"{unit}s"
        line = f"  {label} {bar}  {done:,}/{total:,} {noun}  {share:.0%}  {elapsed_text(seconds)}"
    else:
        noun = unit if done == 1 else f"{unit}s"
        line = f"  {label}  {done:,} {noun}  {elapsed_text(seconds)}"
    if note:
        line += f"  {note}"
    return line[:width]


class ProgressBar:
    """One rewritten ``\\r`` line on a terminal's stderr; silent when it is a file or a pipe.

    Use it as a context manager (the line is cleared at the end, so the next print starts on a
    clean line) and call :meth:`update` with the running count, or :meth:`advance` with the
    count just done. Redraws are at most every ``MIN_REDRAW_SECONDS``, except the first and
    the one that reaches the total, so a tight loop costs next to nothing.

    Args:
        label: What is counted, e.g. ``"bt_bars upsert"`` or ``"writing results.json"``.
        total: The count at the end, or None when unknown (then no bar and no percentage).
        unit: The singular noun of one item (``"row"``, ``"request"``, ``"bar"``).
        stream: Where to draw; default ``sys.stderr`` at the time of the call.
        enabled: False keeps it silent even on a terminal (e.g. ``--quiet``).

    >>> import io
    >>> with ProgressBar("export", total=10, unit="row", stream=io.StringIO()) as bar:
    ...     bar.update(4)
    ...     bar.advance(6)
    ...     (bar.done, bar.active)
    (10, False)
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "row",
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.active = enabled and _is_terminal(self.stream)
        self.done = 0
        self.note = ""
        self.started = time.monotonic()
        self._drawn_at: float | None = None

    def update(self, done: int, total: int | None = None, note: str | None = None) -> None:
        """Set the running count (and the total, if it became known or changed, and the
        ``note`` shown after the time, e.g. the item just finished)."""
        self.done = done
        if total is not None:
            self.total = total
        if note is not None:
            self.note = note
        if not self.active:
            return
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if self._drawn_at is None or finished or now - self._drawn_at >= MIN_REDRAW_SECONDS:
            self._draw(now)

    def advance(self, count: int = 1) -> None:
        """Add ``count`` items to the running count."""
        self.update(self.done + count)

    def _draw(self, now: float) -> None:
        seconds = now - self.started
        line = progress_line(self.label, self.done, self.total, self.unit, seconds, self.note)
        self.stream.write("\r" + line.ljust(WIDTH))
        self.stream.flush()
        self._drawn_at = now

    def close(self) -> None:
        """Clear the line (if anything was drawn); later updates draw nothing."""
        if self.active and self._drawn_at is not None:
            self.stream.write("\r" + " " * WIDTH + "\r")
            self.stream.flush()
        self.active = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
