"""Plain-text tables for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _cell(value: object, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 2) -> str:
    """Align rows under headers; numbers right-aligned, text left-aligned.

    >>> print(format_table(["uid", "pnl %"], [["A.1", 1.5], ["B.2", None]]))
    uid  pnl %
    ---  -----
    A.1   1.50
    B.2      -
    """
    cells = [[_cell(value, digits) for value in row] for row in rows]
    numeric = [
        all(isinstance(row[index], int | float) or row[index] is None for row in rows)
        for index in range(len(headers))
    ]
    return align_table(headers, cells, numeric)


def align_table(
    headers: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> str:
    """Align cells already rendered as text; the ``numeric`` columns are right-aligned.

    >>> print(align_table(["n", "name"], [["10", "a"], ["2", "bc"]], [True, False]))
     n  name
    --  ----
    10  a
     2  bc
    """
    widths = [
        max([len(header), *(len(row[index]) for row in cells)])
        for index, header in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *map(line, cells)])


@dataclass(frozen=True)
class Grid:
    """A table as text cells: headers, rows, and which columns are numbers (right-aligned).
    Plain data, so it travels between processes (a dashboard's child) as it is.

    >>> print(Grid(("n", "name"), (("10", "a"),), (True, False)).text())
     n  name
    --  ----
    10  a
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def text(self) -> str:
        return align_table(self.headers, self.rows, self.numeric)
