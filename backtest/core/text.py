"""Words printed to users: counts ("1 request", "10,000 requests") and progress lines."""

from __future__ import annotations

import sys
from collections.abc import Callable


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """The count with thousands separators and the noun in the form the count takes.

    The plural adds "s" unless ``plural_form`` is given (e.g. ``"batches"``).

    >>> plural(1, "request"), plural(2, "request"), plural(10_000, "request")
    ('1 request', '2 requests', '10,000 requests')
    >>> plural(0, "batch", "batches"), plural(1, "batch", "batches")
    ('0 batches', '1 batch')
    """
    noun = singular if count == 1 else plural_form or f"{singular}s"
    return f"{count:,} {noun}"


def stage_printer(enabled: bool = True, indent: str = "") -> Callable[[str], None]:
    """Progress lines on a terminal's stderr; nothing when stderr is a file or a pipe, so logs
    and pipes stay clean."""
    enabled = enabled and sys.stderr.isatty()

    def say(message: str) -> None:
        if enabled:
            print(f"{indent}{message}", file=sys.stderr, flush=True)

    return say
