"""The one exception type a user can cause (the CLI prints its message and exits non-zero),
and a database error put as one clause for such a message."""

from __future__ import annotations


class BacktestError(Exception):
    """A problem with the user's input or environment, stated as one sentence with its fix.

    >>> str(BacktestError("Unknown direction 'UP': use LONG or SHORT."))
    "Unknown direction 'UP': use LONG or SHORT."
    """

    exit_code = 2


def database_reason(error: Exception) -> str:
    """A database error's message as one clause: its first line and its suggestion (a "did you
    mean", or the candidate columns), if any.

    >>> print(database_reason(Exception('Parser Error: at "selec"\\n\\nLINE 1: selec 1')))
    Parser Error: at "selec"
    >>> print(database_reason(Exception('Binder Error: "x" not found!\\nDid you mean "y"?')))
    Binder Error: "x" not found; did you mean "y"?
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0].rstrip("!.") if lines else type(error).__name__
    hints = ("Did you mean", "Candidate bindings")
    hint = next((line for line in lines[1:] if line.startswith(hints)), None)
    if hint:
        reason += f"; {hint[0].lower()}{hint[1:]}"
    return reason
