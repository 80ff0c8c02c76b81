"""Property: what a live minute plans to fetch or make ends at its present. For random requests,
lookbacks, data kinds and presents, ``needed_ranges`` and ``needed_days`` with ``now`` are exactly
the plan without it, cut at ``now``: nothing at or after the present is asked for, and nothing
before it is lost (at an entry's own minute, its whole lookback is planned, so its call sees what
a backtest's would). The Polygon chunks cut from such a plan end there too."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.planning import KINDS, chunk_ranges, needed_days, needed_ranges
from ingest.polygon import PolygonOptions

# three days around the US spring DST switch (Sunday 2024-03-10), so New York days of 23 hours
# and UTC offsets that change inside the plan are drawn too
BASE = pd.Timestamp("2024-03-08 00:00")
SPAN_MINUTES = 4 * 24 * 60

minutes = st.integers(min_value=0, max_value=SPAN_MINUTES)
request_rows = st.lists(
    st.tuples(
        st.sampled_from(["AAPL", "MSFT", "SPY"]),
        minutes,
        st.sampled_from([0.25, 0.5, 1.0, 2.0, 6.5, 30.0]),
        st.integers(min_value=0, max_value=600),
    ),
    min_size=1,
    max_size=8,
)
kind_sets = st.sets(st.sampled_from(KINDS), min_size=1).map(
    lambda kinds: tuple(kind for kind in KINDS if kind in kinds)
)
presents = st.integers(min_value=-24 * 60, max_value=SPAN_MINUTES + 24 * 60).map(
    lambda offset: BASE + pd.Timedelta(minutes=offset)
)


def _requests(rows: list[tuple[str, int, float, int]]) -> pd.DataFrame:
    """Requests as ingest sees them (the columns the planner reads)."""
    return pd.DataFrame(
        {
            "symbol": [row[0] for row in rows],
            "entry_time": [BASE + pd.Timedelta(minutes=row[1]) for row in rows],
            "historical_lookback_hours": [row[2] for row in rows],
            "data_lookback_minutes": [row[3] for row in rows],
        }
    ).astype({"entry_time": "datetime64[ns]"})


def _rows(plan: pd.DataFrame) -> set[tuple]:
    return {
        (row.kind, row.symbol, row.day, row.start_time, row.end_time)
        for row in plan.itertuples(index=False)
    }


def _cut(plan: pd.DataFrame, now: pd.Timestamp) -> set[tuple]:
    """The plan's ranges cut at ``now`` by hand: the part of each before it, if any."""
    return {
        (kind, symbol, day, start, min(end, now))
        for kind, symbol, day, start, end in _rows(plan)
        if start < now
    }


@settings(max_examples=50, deadline=None)
@given(rows=request_rows, kinds=kind_sets, data=st.data())
def test_the_plan_of_a_present_is_the_plan_cut_at_it(rows, kinds, data):
    requests = _requests(rows)
    entries = st.sampled_from(sorted(requests.entry_time.unique())).map(pd.Timestamp)
    now = data.draw(st.one_of(presents, entries), label="now")  # an entry's own minute, often
    plans = {plan_of: plan_of(requests, kinds, now) for plan_of in (needed_ranges, needed_days)}
    for plan_of, live in plans.items():
        assert (live.end_time <= now).all(), plan_of.__name__
        assert (live.start_time < live.end_time).all(), plan_of.__name__
        assert _rows(live) == _cut(plan_of(requests, kinds), now), plan_of.__name__
    chunks = chunk_ranges(  # as the Polygon source cuts its calls
        plans[needed_ranges][["kind", "symbol", "start_time", "end_time"]],
        PolygonOptions(bar_chunk_days=1.0, tick_chunk_hours=1.0).spans(),
    )
    assert (chunks.end_time <= now).all()
    assert (chunks.start_time < chunks.end_time).all()
