from __future__ import annotations

import doctest

import pytest

import backtest.core.text
from backtest.core.text import plural


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 requests"), (1, "1 request"), (2, "2 requests"), (10_000, "10,000 requests")],
)
def test_plural_agrees_with_the_count(count, expected):
    assert plural(count, "request") == expected


def test_irregular_plurals_are_given():
    assert plural(2, "batch", "batches") == "2 batches"
    assert plural(1, "batch", "batches") == "1 batch"


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(backtest.core.text).failed == 0
