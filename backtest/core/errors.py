"""The one exception type a user can cause; the CLI prints its message and exits non-zero."""

from __future__ import annotations


class BacktestError(Exception):
    """A problem with the user's input or environment, stated as one sentence with its fix.

    >>> str(BacktestError("Unknown direction 'UP': use LONG or SHORT."))
    "Unknown direction 'UP': use LONG or SHORT."
    """

    exit_code = 2
