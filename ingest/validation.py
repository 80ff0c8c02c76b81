"""Bar validation: a great-expectations suite on every incoming pandas batch.

The suite checks the required columns and their types, non-missing values, minute alignment,
positive prices, ``high >= low``, open and close inside ``[low, high]``, non-negative volume, one
bar per (symbol, minute) and, when the batch was fetched for a time range, that every bar lies
inside it. Rows an expectation flags are rejected with a reason and the expectation that failed; a
row's reason is the first failing check in suite order, and every row of a duplicated (symbol,
minute) is rejected, since neither can be preferred. Column-level failures (a wrong type) reject the
whole batch. great-expectations is imported only here, when a batch is validated, so commands that
do not validate stay fast; its import takes seconds, so a long-lived process (the Python API's
engine) pays it once, in the background, with ``warm_up_in_background`` (the suite is the same).
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from backtest.core.errors import BacktestError
from backtest.core.text import plural

PRICES = ["open", "high", "low", "close"]
REQUIRED = ["symbol", "bar_time", *PRICES, "volume"]
NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "Float64", "Int64"]
TIME_TYPES = ["datetime64", "datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]
SECONDS_COLUMN = "seconds_past_minute"
BULKY_RESULT_KEYS = {"unexpected_list", "unexpected_index_list", "unexpected_index_query"}
_SUITE_TURN = threading.Lock()
"""One validation at a time per process: the great-expectations context is shared, and a
validation that arrives during the warm-up waits for it instead of importing twice."""
_WARMING_TURN = threading.Lock()
_warming: threading.Thread | None = None


@dataclass(frozen=True)
class Check:
    """One expectation of the suite and the reason a row it flags is rejected for."""

    reason: str
    expectation: str
    kwargs: dict[str, Any]

    @property
    def label(self) -> str:
        """The expectation with its arguments, as stored with each reject.

        >>> Check("negative volume", "expect_column_values_to_be_between",
        ...       {"column": "volume", "min_value": 0}).label
        'expect_column_values_to_be_between(column=volume, min_value=0)'
        """
        arguments = ", ".join(f"{key}={value}" for key, value in self.kwargs.items())
        return f"{self.expectation}({arguments})"


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one batch: loadable rows, rejects and the suite's result."""

    valid: pd.DataFrame
    rejects: pd.DataFrame
    success: bool
    result: dict[str, Any] = field(repr=False)

    @property
    def reason_counts(self) -> dict[str, int]:
        """How many rows were rejected for each reason."""
        return dict(Counter(self.rejects.reason.tolist()))


def suite_checks(requested: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> list[Check]:
    """The suite, in the order reasons are assigned; ``requested`` adds the range check.

    >>> [check.reason for check in suite_checks()][-2:]
    ['negative volume', 'duplicate minute for symbol']
    """
    pair = "expect_column_pair_values_a_to_be_greater_than_b"
    between = "expect_column_values_to_be_between"
    checks = [
        Check(
            "required columns missing",
            "expect_table_columns_to_match_set",
            {"column_set": REQUIRED, "exact_match": False},
        ),
        Check(
            "wrong column type",
            "expect_column_values_to_be_of_type",
            {"column": "symbol", "type_": "str"},
        ),
        Check(
            "wrong column type",
            "expect_column_values_to_be_in_type_list",
            {"column": "bar_time", "type_list": TIME_TYPES},
        ),
        *[
            Check(
                "wrong column type",
                "expect_column_values_to_be_in_type_list",
                {"column": column, "type_list": NUMERIC_TYPES},
            )
            for column in [*PRICES, "volume"]
        ],
        *[
            Check(
                "missing or unreadable value",
                "expect_column_values_to_not_be_null",
                {"column": column},
            )
            for column in REQUIRED
        ],
        Check(
            "timestamp not minute-aligned",
            "expect_column_values_to_be_in_set",
            {"column": SECONDS_COLUMN, "value_set": [0.0]},
        ),
        *[
            Check(
                "non-positive price",
                between,
                {"column": column, "min_value": 0, "strict_min": True},
            )
            for column in PRICES
        ],
        Check("high < low", pair, {"column_A": "high", "column_B": "low", "or_equal": True}),
        *[
            Check(
                f"{price} outside [low, high]",
                pair,
                {"column_A": upper, "column_B": lower, "or_equal": True},
            )
            for price in ("open", "close")
            for upper, lower in (("high", price), (price, "low"))
        ],
        Check("negative volume", between, {"column": "volume", "min_value": 0}),
        Check(
            "duplicate minute for symbol",
            "expect_compound_columns_to_be_unique",
            {"column_list": ["symbol", "bar_time"]},
        ),
    ]
    if requested is not None:
        start, end = requested
        checks.append(
            Check(
                "outside the requested range",
                between,
                {"column": "bar_time", "min_value": start, "max_value": end, "strict_max": True},
            )
        )
    return checks


@lru_cache(maxsize=1)
def _batch_definition():
    """An in-memory great-expectations context with one whole-dataframe pandas asset."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("incoming").add_dataframe_asset("bars")
    return asset.add_batch_definition_whole_dataframe("batch")


def _expectation(check: Check):
    import great_expectations as gx

    class_name = "".join(part.title() for part in check.expectation.split("_"))
    return getattr(gx.expectations, class_name)(**check.kwargs, meta={"check": check.label})


def _run_suite(frame: pd.DataFrame, checks: list[Check]):
    import great_expectations as gx

    definition = _batch_definition()  # creates the context the suite resolves to
    suite = gx.ExpectationSuite(name="incoming_bars")
    for check in checks:
        suite.add_expectation(_expectation(check))
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return batch.validate(suite, result_format="COMPLETE")


def _compact(result) -> dict[str, Any]:
    """The suite result without the per-row lists (those are in the rejects table)."""
    described = result.describe_dict()
    for expectation in described.get("expectations", []):
        for key in BULKY_RESULT_KEYS:
            expectation.get("result", {}).pop(key, None)
    return json.loads(json.dumps(described, default=str))


def validate_bars(
    bars: pd.DataFrame, requested: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> Validation:
    """Run the suite on ``bars`` and split them into loadable rows and rejects.

    Args:
        bars: columns ``symbol, bar_time, open, high, low, close, volume`` (others are kept).
        requested: the ``[start, end)`` range the batch was fetched for, naive UTC, if any.

    Returns:
        The valid rows, the rejects with a ``reason`` column, and the suite's result.
    """
    missing = [column for column in REQUIRED if column not in bars.columns]
    if missing:
        raise BacktestError(
            f"The bars to validate lack the column(s) {', '.join(missing)}: "
            f"provide {','.join(REQUIRED)}."
        )
    bars = bars.reset_index(drop=True)
    frame = bars[REQUIRED].copy()
    if pd.api.types.is_datetime64_any_dtype(frame.bar_time):
        frame[SECONDS_COLUMN] = (frame.bar_time - frame.bar_time.dt.floor("min")).dt.total_seconds()
    else:
        frame[SECONDS_COLUMN] = float("nan")
    checks = suite_checks(requested)
    with _SUITE_TURN:
        result = _run_suite(frame, checks)
    order = {check.label: position for position, check in enumerate(checks)}
    first_failure = pd.Series(len(checks), index=bars.index)
    for outcome in result.results:
        if outcome.success:
            continue
        position = order[outcome.expectation_config.meta["check"]]
        flagged = outcome.result.get("unexpected_index_list")
        rows = bars.index if flagged is None else pd.Index(flagged)
        first_failure.loc[rows] = first_failure.loc[rows].clip(upper=position)
    rejected = first_failure < len(checks)
    failed = first_failure[rejected].to_numpy()
    reasons = pd.Series([check.reason for check in checks], dtype="string").iloc[failed]
    expectations = pd.Series([check.label for check in checks], dtype="string").iloc[failed]
    return Validation(
        valid=bars[~rejected].copy(),
        rejects=bars[rejected].assign(
            reason=reasons.to_numpy(), expectation=expectations.to_numpy()
        ),
        success=bool(result.success),
        result=_compact(result),
    )


def warm_up() -> None:
    """Import great-expectations and run the suite once on one valid bar, so the next
    validation in this process costs only the checks."""
    bar = pd.DataFrame(
        {
            "symbol": ["WARM"],
            "bar_time": [pd.Timestamp("2024-01-02 15:00")],
            **dict.fromkeys([*PRICES, "volume"], [1.0]),
        }
    )
    validate_bars(bar)


def warm_up_in_background() -> threading.Thread:
    """``warm_up`` in a daemon thread, once per process (for a process that will validate
    later); a validation that starts meanwhile waits for it. Returns the warm-up's thread."""
    global _warming
    with _WARMING_TURN:
        if _warming is None:
            _warming = threading.Thread(
                target=warm_up, name="great-expectations warm-up", daemon=True
            )
            _warming.start()
        return _warming


def split_valid(
    bars: pd.DataFrame, requested: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(valid, rejects)``; rejects carry a ``reason`` and the failed ``expectation``.

    >>> bars = pd.DataFrame({"symbol": ["A", "A"], "open": [1.0, 1.0], "high": [1.0, 0.5],
    ...     "low": [1.0, 0.9], "close": [1.0, 1.0], "volume": [5.0, 5.0],
    ...     "bar_time": pd.to_datetime(["2024-01-02 14:30", "2024-01-02 14:31"])})
    >>> valid, rejects = split_valid(bars)
    >>> len(valid), rejects.reason.tolist()
    (1, ['high < low'])
    """
    outcome = validate_bars(bars, requested)
    return outcome.valid, outcome.rejects


def render_result(result: dict[str, Any]) -> str:
    """A great-expectations suite result as a short text table, one expectation a line."""
    statistics = result.get("statistics", {})
    lines = [
        f"{'PASSED' if result.get('success') else 'FAILED'}: "
        f"{statistics.get('successful_expectations', 0)} of "
        f"{plural(statistics.get('evaluated_expectations', 0), 'expectation')} met"
    ]
    for expectation in result.get("expectations", []):
        kwargs = {
            key: value for key, value in expectation.get("kwargs", {}).items() if key != "batch_id"
        }
        arguments = ", ".join(f"{key}={value}" for key, value in kwargs.items())
        outcome = expectation.get("result", {})
        mark = "ok  " if expectation.get("success") else "FAIL"
        line = f"  {mark} {expectation.get('expectation_type')}({arguments})"
        if not expectation.get("success"):
            count = outcome.get("unexpected_count")
            examples = outcome.get("partial_unexpected_list") or []
            if count is not None:
                line += f": {count} unexpected ({outcome.get('unexpected_percent', 0):.3g}%)"
                line += f", e.g. {examples[:3]}" if examples else ""
            elif "observed_value" in outcome:
                line += f": observed {outcome['observed_value']}"
        lines.append(line)
    return "\n".join(lines)
