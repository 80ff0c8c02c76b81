"""Words for counts printed to users: "1 request", "2 requests", "10,000 requests"."""

from __future__ import annotations


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
