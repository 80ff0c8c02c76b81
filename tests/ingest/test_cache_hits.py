"""Cache hits cost nothing (issue 12, 2b). The demo source makes, validates and loads each
symbol-day once: a request on a day the warehouse holds generates, validates and loads nothing;
only the days not held are made; clearing a day makes it again. The files source reads the same
unchanged files once. great-expectations is imported in the background by a long-lived process,
and a validation during that warm-up waits for it."""

from __future__ import annotations

import os
from datetime import date

from backtest.core.warehouse import connect
from ingest.cache import clear_cache
from ingest.demo import session_bars, session_quotes
from ingest.sources import SourceOptions, ingest_batch
from ingest.sources.files import UNCHANGED_NOTE
from ingest.validation import split_valid, warm_up_in_background
from tests.ingest.conftest import prepared, query

QUOTES = SourceOptions(kinds=frozenset({"bars", "quotes"}))
DAY = date(2024, 6, 27)


def stored(db_path) -> tuple:
    """Bars, validated batches and quotes the warehouse holds."""
    return query(
        db_path,
        "select (select count(*) from raw.bars_1m), (select count(*) from raw.validations), "
        "(select count(*) from raw.quotes)",
    )[0]


def test_a_request_on_a_held_day_makes_validates_and_loads_nothing(settings):
    db = settings.db_path
    _, first = ingest_batch(
        db, prepared(("AAPL", "2024-06-27 14:00:00", "LONG")), "demo", options=QUOTES
    )
    day_bars = len(session_bars("AAPL", DAY))
    assert (first.inserted, first.batches, first.days_held) == (day_bars, 1, 0)
    assert first.quotes == len(session_quotes("AAPL", DAY))
    before = stored(db)

    later = prepared(("AAPL", "2024-06-27 17:30:00", "SHORT"))
    _, second = ingest_batch(db, later, "demo", options=QUOTES)
    loaded = (second.inserted, second.updated, second.unchanged, second.checked, second.batches)
    assert loaded == (0, 0, 0, 0, 0)
    assert (second.quotes, second.days_held) == (0, 1)
    assert second.summary_lines() == [
        "Bars: 0 new, 0 updated, 0 unchanged, 0 rejected (demo-synthetic); "
        "1 symbol-day already held"
    ]
    assert stored(db) == before
    assert query(db, "select count(*) from raw.requests") == [(2,)]  # the request is stored


def test_only_the_days_the_warehouse_lacks_are_made(settings):
    db = settings.db_path
    ingest_batch(db, prepared(("AAPL", "2024-06-27 14:00:00", "LONG")), "demo")
    requests = prepared(
        ("AAPL", "2024-06-27 15:00:00", "LONG"),
        ("MSFT", "2024-06-27 15:00:00", "LONG"),
        ("AAPL", "2024-06-28 15:00:00", "SHORT"),
    )
    _, report = ingest_batch(db, requests, "demo")
    new_days = len(session_bars("MSFT", DAY)) + len(session_bars("AAPL", date(2024, 6, 28)))
    assert (report.inserted, report.checked, report.batches) == (new_days, new_days, 1)
    assert report.days_held == 1
    covered = query(
        db,
        "select symbol, kind, count(*) from raw.coverage where data_source = 'demo-synthetic' "
        "group by all order by all",
    )
    assert covered == [("AAPL", "bars", 1), ("MSFT", "bars", 1)]  # AAPL's two days: one range


def test_clearing_a_day_makes_it_again(settings):
    db = settings.db_path
    request = prepared(("AAPL", "2024-06-27 14:00:00", "LONG"))
    ingest_batch(db, request, "demo")
    with connect(db) as con:
        clear_cache(con, symbol="AAPL")
    _, again = ingest_batch(db, request, "demo")
    assert (again.inserted, again.batches, again.days_held) == (
        len(session_bars("AAPL", DAY)),
        1,
        0,
    )


def test_a_validation_during_the_warm_up_waits_for_it_and_is_right():
    thread = warm_up_in_background()
    bars = session_bars("AAPL", DAY).head(3).assign(high=lambda frame: frame.low - 0.01)
    valid, rejects = split_valid(bars)
    thread.join()
    assert warm_up_in_background() is thread  # once per process
    assert valid.empty and rejects.reason.tolist() == ["high < low"] * 3


def test_the_same_unchanged_files_are_read_once(settings, tmp_path):
    db = settings.db_path
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "symbol,timestamp,open,high,low,close,volume\n"
        "AAPL,2024-06-27T13:58:00Z,1,1,1,1,1\nAAPL,2024-06-27T13:59:00Z,1,2,1,2,3\n"
    )
    request = prepared(("AAPL", "2024-06-27 14:00:00", "LONG"))
    _, first = ingest_batch(db, request, "files", [bars])
    before = stored(db)
    _, second = ingest_batch(db, request, "files", [bars])
    assert (first.inserted, first.batches) == (2, 1)
    assert (second.inserted, second.unchanged, second.batches, second.notes) == (
        0,
        0,
        0,
        (UNCHANGED_NOTE,),
    )
    assert stored(db) == before
    with bars.open("a") as appended:  # a changed file is read again
        appended.write("AAPL,2024-06-27T14:00:00Z,2,2,2,2,1\n")
    _, changed = ingest_batch(db, request, "files", [bars])
    assert (changed.inserted, changed.unchanged, changed.batches) == (1, 2, 1)
    with connect(db) as con:  # and a cleared one too
        clear_cache(con, symbol="AAPL")
    _, cleared = ingest_batch(db, request, "files", [bars])
    assert (cleared.inserted, cleared.batches) == (3, 1)
    other = tmp_path / "other.csv"  # another load in between: the files are read again
    other.write_text(
        "symbol,timestamp,open,high,low,close,volume\nMSFT,2024-06-27T13:59:00Z,1,1,1,1,1\n"
    )
    ingest_batch(db, request, "files", [other])
    _, after_other = ingest_batch(db, request, "files", [bars])
    assert (after_other.unchanged, after_other.batches) == (3, 1)
    stat = bars.stat()
    os.utime(bars, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: read again
    _, touched = ingest_batch(db, request, "files", [bars])
    assert touched.batches == 1
