"""Polygon.io (now Massive) as a source: 1-minute aggregates, trades and quotes, fetched once.

The planner works out what the requests need (whole New York days of bars; the lookback before
each entry for trades and quotes), subtracts what ``raw.coverage`` says the warehouse already
holds, and cuts the gaps into chunks. Each chunk is one paginated ``RESTClient`` call (the client
follows ``next_url``); its rows are validated and loaded together with its coverage and its call
count in one transaction, so a failure part-way keeps every chunk before it and a re-run fetches
only what is missing. Times go to the client as integer Unix milliseconds (aggregates) or
nanoseconds (trades, quotes), never as naive datetimes, which the client would read as local time.

HTTP 429 and 5xx answers are retried by the client (urllib3, exponential backoff from 0.1 s,
``retries`` times, honouring ``Retry-After``); when those run out, the chunk is retried after a
longer wait (``rate_limit_wait`` doubling, ``rate_limit_retries`` times) before the run stops with
a clear error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.warehouse import utc_now
from ingest.coverage import (
    ApiCall,
    RunCounters,
    missing_ranges,
    record_call,
    record_coverage,
    record_run,
)
from ingest.load import LoadReport, load_bars, replace_ticks
from ingest.planning import KINDS, chunk_ranges, needed_ranges, parse_kinds

KEY_VARIABLE = "POLYGON_API_KEY"
URL_VARIABLE = "POLYGON_BASE_URL"
DEFAULT_BASE_URL = "https://api.polygon.io"
SOURCE = "polygon"
RAW_SOURCE = "polygon-raw"
AGG_FIELDS = ["open", "high", "low", "close", "volume", "vwap", "timestamp", "transactions"]
TRADE_FIELDS = [
    "conditions",
    "correction",
    "exchange",
    "id",
    "participant_timestamp",
    "price",
    "sequence_number",
    "sip_timestamp",
    "size",
    "tape",
    "trf_id",
    "trf_timestamp",
]
QUOTE_FIELDS = [
    "ask_exchange",
    "ask_price",
    "ask_size",
    "bid_exchange",
    "bid_price",
    "bid_size",
    "conditions",
    "indicators",
    "participant_timestamp",
    "sequence_number",
    "sip_timestamp",
    "tape",
    "trf_timestamp",
]
STATUS_IN_RETRY_ERROR = re.compile(r"too many (\d{3}) error responses")
STATUS_WORDS = {
    429: "too many requests: the plan's rate limit",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}

Notify = Callable[[str], None]


@dataclass(frozen=True)
class PolygonOptions:
    """How to reach Polygon and how to cut and retry the calls.

    Attributes:
        api_key: the key; None reads ``POLYGON_API_KEY``.
        base_url: the API root; None reads ``POLYGON_BASE_URL``, else Polygon's own.
        adjusted: split-adjusted aggregates (Polygon's default); False fetches raw prices, which
            are cached separately (as data source ``polygon-raw``).
        bar_chunk_days: the longest range of minute bars one call asks for (a day of extended
            hours is at most 960 bars; Polygon returns at most ``page_limit`` base bars a page).
        tick_chunk_hours: the longest range of trades or quotes one call asks for.
        page_limit: results per page (Polygon's maximum is 50,000).
        retries: attempts the client's urllib3 retry makes on 429/5xx, with backoff.
        rate_limit_retries: further attempts per chunk once those are spent, after a wait.
        rate_limit_wait: seconds to wait before the first of those; doubles each time.
        settle_minutes: minutes before now that are never marked covered, so the latest
            minutes (still being published, or delayed on lower plans) are fetched again.
        live: a live run's settings: what was received is final, so of those last minutes
            only the ones after the latest bar (or tick) received stay uncovered, and each
            minute asks for just the newest.
        timeout: seconds to wait for a connection or a response.
    """

    api_key: str | None = None
    base_url: str | None = None
    adjusted: bool = True
    bar_chunk_days: float = 30.0
    tick_chunk_hours: float = 6.0
    page_limit: int = 50_000
    retries: int = 4
    rate_limit_retries: int = 2
    rate_limit_wait: float = 20.0
    settle_minutes: int = 30
    live: bool = False
    timeout: float = 30.0

    def data_source(self, kind: str = "bars") -> str:
        """The label stored with the data: adjusted and raw bars are different data."""
        return RAW_SOURCE if kind == "bars" and not self.adjusted else SOURCE

    def spans(self) -> dict[str, pd.Timedelta]:
        """The longest chunk per kind."""
        ticks = pd.Timedelta(hours=self.tick_chunk_hours)
        return {"bars": pd.Timedelta(days=self.bar_chunk_days), "trades": ticks, "quotes": ticks}


def resolve_api_key(options: PolygonOptions) -> str:
    """The API key, or a clear error before any work starts.

    >>> resolve_api_key(PolygonOptions(api_key="secret"))
    'secret'
    """
    key = (options.api_key or os.environ.get(KEY_VARIABLE, "")).strip()
    if not key:
        raise BacktestError(
            f"{KEY_VARIABLE} is not set: export your Polygon API key (or add {KEY_VARIABLE}=... "
            "to .env) before using --source polygon."
        )
    return key


def resolve_base_url(options: PolygonOptions) -> str:
    """The API root without a trailing slash: option, else ``POLYGON_BASE_URL``, else Polygon's."""
    return (options.base_url or os.environ.get(URL_VARIABLE) or DEFAULT_BASE_URL).rstrip("/")


class PolygonError(BacktestError):
    """A failed Polygon call; ``status`` is the HTTP status when known."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def is_retryable(self) -> bool:
        """Rate limits and server errors may pass; anything else will not."""
        return self.status is not None and (self.status == 429 or self.status >= 500)


def _bad_response(body: str, what: str, symbol: str) -> PolygonError:
    """A non-200 body (Polygon's ``{"status": ..., "error" or "message": ...}``) as a sentence."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    status = str(payload.get("status", "")).upper()
    text = str(payload.get("error") or payload.get("message") or body).strip()[:200]
    if "api key" in text.lower() or "apikey" in text.lower():
        return PolygonError(f"Polygon rejected the API key ({text}): check {KEY_VARIABLE}.", 401)
    if status == "NOT_AUTHORIZED":
        return PolygonError(
            f"Polygon refused {what} ({text}): your plan does not include this data; upgrade "
            "the plan, ask for less (e.g. no trades or quotes) or use --source files.",
            403,
        )
    if status == "NOT_FOUND":
        return PolygonError(
            f"Polygon does not know the symbol '{symbol}' ({text}): check the ticker "
            "(Polygon writes share classes with a dot, e.g. BRK.B).",
            404,
        )
    return PolygonError(
        f"Polygon answered an error for {what} ({text}): check the request and "
        f"{URL_VARIABLE}, then re-run."
    )


class _PageCounter:
    """The client's JSON decoder (its public ``custom_json`` hook), counting decoded pages."""

    def __init__(self) -> None:
        self.pages = 0

    def loads(self, text: str | bytes) -> Any:
        self.pages += 1
        return json.loads(text)


def _ms(moment: pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).value // 1_000_000)


def _ns(moment: pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).value)


def _nanoseconds(values: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(values, errors="coerce"), unit="ns", errors="coerce")


class PolygonClient:
    """The real ``polygon.RESTClient`` with page counting and errors as one-sentence messages."""

    def __init__(self, options: PolygonOptions, api_key: str | None = None) -> None:
        import urllib3
        from polygon import RESTClient

        self.options = options
        self.base_url = resolve_base_url(options)
        self.counter = _PageCounter()
        self.rest = RESTClient(
            api_key=api_key or resolve_api_key(options),
            base=self.base_url,
            retries=options.retries,
            connect_timeout=options.timeout,
            read_timeout=options.timeout,
            custom_json=self.counter,
        )
        # The client keeps its timeouts but never hands them to urllib3, so a stalled connection
        # would hang for ever; new connection pools take their timeout from these keywords.
        self.rest.client.connection_pool_kw["timeout"] = urllib3.Timeout(
            connect=options.timeout, read=options.timeout
        )

    @property
    def pages(self) -> int:
        """Pages answered so far (each is one HTTP request that returned data)."""
        return self.counter.pages

    @contextmanager
    def _vendor_errors(self, what: str, symbol: str) -> Iterator[None]:
        from polygon.exceptions import AuthError, BadResponse
        from urllib3.exceptions import HTTPError, MaxRetryError

        try:
            yield
        except BadResponse as error:
            raise _bad_response(str(error), what, symbol) from None
        except AuthError:
            raise PolygonError(f"{KEY_VARIABLE} is not set: export your Polygon API key.") from None
        except MaxRetryError as error:
            found = STATUS_IN_RETRY_ERROR.search(str(error.reason))
            if found:
                status = int(found.group(1))
                raise PolygonError(
                    f"Polygon kept answering HTTP {status} "
                    f"({STATUS_WORDS.get(status, 'error')}) to {what} after "
                    f"{plural(self.options.retries + 1, 'attempt')}: wait a minute and re-run.",
                    status,
                ) from None
            raise PolygonError(
                f"Cannot reach Polygon at {self.base_url} ({type(error.reason).__name__}): check "
                f"the network connection and {URL_VARIABLE}."
            ) from None
        except HTTPError as error:
            raise PolygonError(
                f"The connection to Polygon at {self.base_url} failed during {what} "
                f"({type(error).__name__}): re-run to try again."
            ) from None

    def bars(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """1-minute aggregates with ``start <= t < end`` (naive UTC) in the bar layout."""
        what = f"{symbol} minute bars from {start:%Y-%m-%d %H:%M} UTC"
        with self._vendor_errors(what, symbol):
            aggregates = self.rest.list_aggs(
                symbol,
                1,
                "minute",
                _ms(start),
                _ms(end) - 1,
                adjusted=self.options.adjusted,
                sort="asc",
                limit=self.options.page_limit,
            )
            records = pd.DataFrame.from_records(
                [vars(agg) for agg in aggregates], columns=AGG_FIELDS
            )
        return pd.DataFrame(
            {
                "symbol": pd.Series(symbol, index=records.index, dtype="string"),
                "bar_time": pd.to_datetime(records.timestamp, unit="ms").astype("datetime64[ns]"),
                **{
                    column: records[column].astype("float64")
                    for column in ["open", "high", "low", "close", "volume"]
                },
            }
        )

    def _ticks(
        self, kind: str, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        what = f"{symbol} {kind} from {start:%Y-%m-%d %H:%M} UTC"
        lister = self.rest.list_trades if kind == "trades" else self.rest.list_quotes
        fields = TRADE_FIELDS if kind == "trades" else QUOTE_FIELDS
        with self._vendor_errors(what, symbol):
            items = lister(
                symbol,
                timestamp_gte=_ns(start),
                timestamp_lt=_ns(end),
                sort="timestamp",
                order="asc",
                limit=self.options.page_limit,
            )
            records = pd.DataFrame.from_records([vars(item) for item in items], columns=fields)
        ticks = records.rename(columns={"id": "trade_id"}).assign(symbol=symbol)
        for column in ["sip_timestamp", "participant_timestamp", "trf_timestamp"]:
            ticks[column.replace("timestamp", "time")] = _nanoseconds(ticks.pop(column))
        return ticks

    def trades(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Trades with ``start <= sip_time < end`` (naive UTC, nanoseconds)."""
        return self._ticks("trades", symbol, start, end)

    def quotes(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """NBBO quotes with ``start <= sip_time < end`` (naive UTC, nanoseconds)."""
        return self._ticks("quotes", symbol, start, end)

    def is_known(self, symbol: str, day: date) -> bool:
        """Whether Polygon's reference data knows ``symbol`` as of ``day`` (404 means no)."""
        try:
            with self._vendor_errors(f"the reference data of {symbol}", symbol):
                self.rest.get_ticker_details(symbol, date=day.isoformat())
        except PolygonError as error:
            if error.status == 404:
                return False
            raise
        return True


@dataclass(frozen=True)
class PolygonReport:
    """What one Polygon ingest did."""

    load: LoadReport = field(default_factory=LoadReport)
    trades: int = 0
    quotes: int = 0
    counters: RunCounters | None = None


def _retrying(fetch: Callable[[], pd.DataFrame], options: PolygonOptions, notify: Notify):
    for attempt in range(options.rate_limit_retries + 1):
        try:
            return fetch()
        except PolygonError as error:
            if not error.is_retryable or attempt == options.rate_limit_retries:
                raise
            wait = options.rate_limit_wait * 2**attempt
            notify(
                f"Polygon answered HTTP {error.status}; waiting {wait:g} s before trying "
                f"again ({attempt + 1} of {options.rate_limit_retries})."
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def _has_bars(con: duckdb.DuckDBPyConnection, symbol: str) -> bool:
    return bool(
        con.execute(
            "select exists (select 1 from raw.bars_1m where symbol = ?)", [symbol]
        ).fetchone()[0]
    )


def plan_chunks(
    con: duckdb.DuckDBPyConnection,
    requests: pd.DataFrame,
    options: PolygonOptions,
    kinds: tuple[str, ...],
    now: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, int, int]:
    """The chunks to fetch, the ranges needed and the chunks an empty cache would fetch; with a
    ``now`` (a live run's present), nothing at or after it is asked for."""
    needed = needed_ranges(requests, kinds, now)
    spans = options.spans()
    without_cache = chunk_ranges(needed[["kind", "symbol", "start_time", "end_time"]], spans)
    gaps = missing_ranges(con, needed, {kind: options.data_source(kind) for kind in kinds})
    chunks = chunk_ranges(gaps, spans)
    order = chunks.kind.map({kind: position for position, kind in enumerate(KINDS)})
    chunks = chunks.assign(order=order).sort_values(["order", "symbol", "start_time"])
    return chunks.drop(columns="order").reset_index(drop=True), len(needed), len(without_cache)


def _fetch(client: PolygonClient, kind: str, symbol: str, start, end) -> pd.DataFrame:
    fetchers = {"bars": client.bars, "trades": client.trades, "quotes": client.quotes}
    return fetchers[kind](symbol, start, end)


def _fetch_checked(
    con: duckdb.DuckDBPyConnection,
    client: PolygonClient,
    chunk,
    options: PolygonOptions,
    notify: Notify,
    checked_symbols: set[str],
) -> pd.DataFrame:
    """Fetch one chunk (retrying rate limits); an empty first answer for a symbol the warehouse
    has never held is checked against Polygon's reference data, once per run and symbol."""
    frame = _retrying(
        lambda: _fetch(client, chunk.kind, chunk.symbol, chunk.start_time, chunk.end_time),
        options,
        notify,
    )
    if frame.empty and chunk.symbol not in checked_symbols:
        checked_symbols.add(chunk.symbol)
        if not _has_bars(con, chunk.symbol) and not client.is_known(
            chunk.symbol, chunk.start_time.date()
        ):
            raise PolygonError(
                f"Polygon does not know the symbol '{chunk.symbol}': check the ticker "
                "(e.g. BRK.B for a share class).",
                404,
            )
    return frame


def _record_failure(
    con: duckdb.DuckDBPyConnection, chunk, options: PolygonOptions, pages: int, error: Exception
) -> None:
    source = options.data_source(chunk.kind)
    record_call(con, _chunk_call(chunk, source, pages, 0, "error", str(error)[:500]))


def _chunk_call(
    chunk, source: str, pages: int, rows: int, outcome: str, detail: str | None = None
) -> ApiCall:
    """The ``raw.api_calls`` row of one chunk fetch."""
    kind, symbol = chunk.kind, chunk.symbol
    return ApiCall(
        source, kind, _endpoint(kind), symbol, chunk.start_time, chunk.end_time, pages, rows,
        outcome, detail,
    )  # fmt: skip


def _store_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk,
    frame: pd.DataFrame,
    options: PolygonOptions,
    horizon: pd.Timestamp,
    pages: int,
) -> tuple[LoadReport, int]:
    """Load one fetched chunk with its coverage and call count, all in one transaction."""
    requested = (chunk.start_time, chunk.end_time)
    source = options.data_source(chunk.kind)
    if options.live and len(frame):
        horizon = max(horizon, min(_received_until(chunk.kind, frame), chunk.end_time))
    con.begin()
    if chunk.kind == "bars":
        origin = f"polygon {chunk.symbol} {chunk.start_time:%Y-%m-%d %H:%M}"
        report, rows = load_bars(con, frame, source, requested, origin), 0
    else:
        inside = frame[(frame.sip_time >= chunk.start_time) & (frame.sip_time < chunk.end_time)]
        fetched = pd.DataFrame([chunk._asdict()])[["symbol", "start_time", "end_time"]]
        report, rows = LoadReport(), replace_ticks(con, chunk.kind, inside, fetched, source)
    record_coverage(
        con, chunk.symbol, source, chunk.kind, chunk.start_time, chunk.end_time, horizon
    )
    outcome = "ok" if len(frame) else "empty"
    record_call(con, _chunk_call(chunk, source, pages, len(frame), outcome))
    con.commit()
    return report, rows


def _received_until(kind: str, frame: pd.DataFrame) -> pd.Timestamp:
    """The end of what a fetched chunk holds: after its latest bar's minute, at its latest tick."""
    if kind == "bars":
        return frame.bar_time.max() + pd.Timedelta(minutes=1)
    return frame.sip_time.max()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the chunk's open transaction, if the failure came after it began."""
    with suppress(duckdb.TransactionException):
        con.rollback()


def _endpoint(kind: str) -> str:
    return {
        "bars": "/v2/aggs/ticker/{ticker}/range/1/minute",
        "trades": "/v3/trades/{ticker}",
        "quotes": "/v3/quotes/{ticker}",
    }[kind]


def _stopped(error: BacktestError, done: int, total: int) -> BacktestError:
    fetched = f"{done:,} of {plural(total, 'range')} fetched before it"
    kept = f"; the {fetched} {'is' if done == 1 else 'are'} kept" if done else ""
    return BacktestError(f"{str(error).rstrip('.')}{kept}.")


@dataclass
class _Run:
    """One ingest run's progress: the chunks to fetch, what was loaded, what it cost."""

    requests: int
    kinds: tuple[str, ...]
    chunks: pd.DataFrame
    ranges_needed: int
    without_cache: int
    client: PolygonClient | None
    load: LoadReport = field(default_factory=LoadReport)
    stored: dict[str, int] = field(default_factory=lambda: {"trades": 0, "quotes": 0})
    done: int = 0

    def counters(self, outcome: str) -> RunCounters:
        pages = self.client.pages if self.client else 0
        return RunCounters(
            SOURCE,
            ",".join(self.kinds),
            self.requests,
            self.ranges_needed,
            self.without_cache,
            self.done,
            pages,
            outcome,
        )


def _fetch_chunk(con, run: _Run, chunk, options, horizon, notify, checked: set) -> None:
    """Fetch, validate and store one chunk in its own transaction; a failure is recorded and
    stops the run with one sentence (what was stored before stays)."""
    client = run.client
    pages_before = client.pages
    try:
        frame = _fetch_checked(con, client, chunk, options, notify, checked)
        report, rows = _store_chunk(
            con, chunk, frame, options, horizon, client.pages - pages_before
        )
    except BacktestError as error:
        _rollback(con)
        _record_failure(con, chunk, options, client.pages - pages_before, error)
        record_run(con, run.counters("failed"))
        raise _stopped(error, run.done, len(run.chunks)) from None
    run.load, run.done = run.load + report, run.done + 1
    if chunk.kind != "bars":
        run.stored[chunk.kind] += rows
    notify(
        f"  polygon: {run.done}/{len(run.chunks)} {chunk.kind} {chunk.symbol} "
        f"{chunk.start_time:%Y-%m-%d} ({plural(len(frame), 'row')})"
    )


def ingest_polygon(
    con: duckdb.DuckDBPyConnection,
    requests: pd.DataFrame,
    options: PolygonOptions | None = None,
    kinds: tuple[str, ...] = ("bars",),
    notify: Notify | None = None,
    now: pd.Timestamp | None = None,
) -> PolygonReport:
    """Fetch what ``requests`` need and the warehouse lacks, chunk by chunk, into ``raw.*``.

    Args:
        con: an open warehouse connection, not inside a transaction.
        requests: prepared requests (``symbol``, ``entry_time``, ``historical_lookback_hours``).
        options: how to reach and call Polygon.
        kinds: any of ``bars``, ``trades``, ``quotes``.
        notify: where progress and waits are reported (default: standard error).
        now: the present, naive UTC (a live or replayed run's, or a test's); given, nothing at
            or after it is asked for. None: the clock's, and ranges are asked for whole.

    Returns:
        The load counts, the trades and quotes stored, and the run's call counters.
    """
    options = options or PolygonOptions()
    notify = notify or (lambda message: print(message, file=sys.stderr))
    api_key = resolve_api_key(options)
    kinds = parse_kinds(kinds)
    chunks, ranges_needed, without_cache = plan_chunks(con, requests, options, kinds, now)
    horizon = (now or pd.Timestamp(utc_now())) - pd.Timedelta(minutes=options.settle_minutes)
    client = PolygonClient(options, api_key) if len(chunks) else None
    run = _Run(len(requests), kinds, chunks, ranges_needed, without_cache, client)
    checked_symbols: set[str] = set()
    for chunk in chunks.itertuples(index=False):
        _fetch_chunk(con, run, chunk, options, horizon, notify, checked_symbols)
    counters = run.counters("ok")
    record_run(con, counters)
    return PolygonReport(run.load, run.stored["trades"], run.stored["quotes"], counters)
