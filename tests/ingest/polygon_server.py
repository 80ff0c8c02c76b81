"""A local HTTP server that answers like Polygon's REST API, for driving the real ``RESTClient``.

It serves the recorded responses of the official client's test suite (the
``polygon-client-python-mocks`` in ../shared/data: daily aggregates, v3 trades, v3 quotes with
their ``next_url`` cursor page pair, ticker reference data) and, for 1-minute aggregates, which the
client repository has no recording of, answers in the same envelope as the recorded daily
aggregates with REAL minute bars (the LEAN / AlgoSeek bars in ../shared/data). Like Polygon it
checks the API key, filters by the requested range, pages with ``next_url`` cursors and
split-adjusts when ``adjusted=true``. Switches make it answer errors (429, 5xx, 401, 403) for the
next requests, serve only what existed at a simulated present (``now``: a live run's minute) and
withhold single bars; every request is logged, with that present, so tests can count the calls
that reached it and check what they asked for.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pandas as pd

RECORDED_HOST = "https://api.polygon.io"
DAILY_AGGS_MOCK = "v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04.json"
TICKER_MOCK = "v3/reference/tickers/AAPL.json"
EXCHANGE_TZ = "America/New_York"
ERROR_BODIES = {
    401: {"status": "ERROR", "error": "Unknown API Key"},
    403: {
        "status": "NOT_AUTHORIZED",
        "message": "You are not entitled to this data. Please upgrade your plan at "
        "https://polygon.io/pricing",
    },
    404: {"status": "NOT_FOUND", "message": "Ticker not found."},
    429: {
        "status": "ERROR",
        "error": "You've exceeded the maximum requests per minute, please wait or upgrade your "
        "subscription to continue. https://polygon.io/pricing",
    },
    500: {"status": "ERROR", "error": "Internal server error"},
    502: {"status": "ERROR", "error": "Bad gateway"},
    503: {"status": "ERROR", "error": "Service unavailable"},
}


@dataclass
class Logged:
    """One request the server received and what it answered."""

    path: str
    query: dict[str, str]
    status: int
    now: pd.Timestamp | None = None
    """The server's present when the request came (None: it served everything)."""


@dataclass
class Failure:
    """Answer ``status`` to the next ``times`` requests that ``matches``."""

    status: int
    times: int
    matches: Callable[[str, dict[str, str]], bool]


@dataclass
class PolygonStandIn:
    """The server's state: data, switches and the request log."""

    mocks: Path
    minute_bars: pd.DataFrame
    api_key: str
    splits: dict[str, tuple[pd.Timestamp, float]] = field(default_factory=dict)
    page_size: int = 50_000
    url: str = ""
    log: list[Logged] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: pd.Timestamp | None = None
    """The present of a simulated live run (naive UTC): like the real API, nothing at or after it
    exists yet, so no bar starting and no tick stamped then or later is served. None: history,
    everything."""
    withheld: set[tuple[str, pd.Timestamp]] = field(default_factory=set)
    """(symbol, minute) bars never served (naive UTC starts): a minute without a trade, or a bar
    the vendor has not published."""

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.failures.clear()
            self.page_size = 50_000
            self.now = None
            self.withheld.clear()

    def fail(
        self,
        status: int,
        times: int = 1,
        matches: Callable[[str, dict[str, str]], bool] = lambda path, query: True,
    ) -> None:
        """Answer ``status`` to the next ``times`` matching requests."""
        with self.lock:
            self.failures.append(Failure(status, times, matches))

    def requests_to(self, fragment: str) -> list[Logged]:
        """Logged requests whose path contains ``fragment``."""
        with self.lock:
            return [entry for entry in self.log if fragment in entry.path]

    # answering

    def answer(self, path: str, query: dict[str, str], authorization: str) -> tuple[int, dict]:
        with self.lock:
            failure = next(
                (rule for rule in self.failures if rule.times > 0 and rule.matches(path, query)),
                None,
            )
            if failure is not None:
                failure.times -= 1
        if failure is not None:
            return failure.status, self._error(failure.status)
        key = query.get("apiKey") or authorization.removeprefix("Bearer ").strip()
        if key != self.api_key:
            return 401, self._error(401)
        parts = path.strip("/").split("/")
        if parts[:3] == ["v2", "aggs", "ticker"] and parts[4:7] == ["range", "1", "minute"]:
            return 200, self._minute_aggregates(parts[3], parts[7], parts[8], query)
        if parts[:1] == ["v3"] and len(parts) == 3 and parts[1] in ("trades", "quotes"):
            return 200, self._ticks(parts[1], parts[2], query)
        if parts[:3] == ["v3", "reference", "tickers"] and len(parts) == 4:
            return self._ticker(parts[3])
        recorded = self.mocks / (path.strip("/") + ".json")
        if recorded.is_file():
            return 200, json.loads(recorded.read_text())
        return 404, {"status": "NOT_FOUND", "message": "Not found."}

    @staticmethod
    def _error(status: int) -> dict:
        return {
            **ERROR_BODIES.get(status, {"status": "ERROR", "error": "error"}),
            "request_id": uuid.uuid4().hex,
        }

    def _envelope(self) -> dict:
        return json.loads((self.mocks / DAILY_AGGS_MOCK).read_text())

    def _minute_aggregates(self, ticker: str, start: str, end: str, query: dict) -> dict:
        if "cursor" in query:
            query = json.loads(base64.urlsafe_b64decode(query["cursor"]))
        adjusted = query.get("adjusted", "true") != "false"
        bars = self.minute_bars[self.minute_bars.symbol == ticker]
        start_ms, end_ms = _ms_bound(start, False), _ms_bound(end, True)
        bars = self._published(bars[(bars.t >= start_ms) & (bars.t <= end_ms)], ticker)
        bars = bars.sort_values("t", ascending=query.get("sort", "asc") != "desc")
        if adjusted and ticker in self.splits:
            bars = _split_adjusted(bars, *self.splits[ticker])
        offset = int(query.get("offset", 0))
        size = min(int(query.get("limit", 5000)), self.page_size)
        page = bars.iloc[offset : offset + size]
        envelope = self._envelope()
        envelope.update(
            ticker=ticker,
            adjusted=adjusted,
            queryCount=len(page),
            resultsCount=len(page),
            count=len(page),
            request_id=uuid.uuid4().hex,
        )
        envelope.pop("results")
        if len(page):
            envelope["results"] = [
                {"v": row.v, "o": row.o, "c": row.c, "h": row.h, "l": row.l, "t": int(row.t)}
                for row in page.itertuples(index=False)
            ]
        if offset + size < len(bars):
            cursor = {**query, "offset": str(offset + size)}
            token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
            envelope["next_url"] = (
                f"{RECORDED_HOST}/v2/aggs/ticker/{ticker}/range/1/minute/{start}/{end}"
                f"?cursor={quote(token)}"
            )
        return envelope

    def _published(self, bars: pd.DataFrame, ticker: str) -> pd.DataFrame:
        """``bars`` without those starting at or after ``now`` and the ``withheld`` ones."""
        if self.now is not None:
            bars = bars[bars.t < _epoch_ms(self.now)]
        withheld = [_epoch_ms(minute) for symbol, minute in self.withheld if symbol == ticker]
        return bars[~bars.t.isin(withheld)]

    def _ticks(self, kind: str, ticker: str, query: dict) -> dict:
        folder = self.mocks / "v3" / kind
        if "cursor" in query:
            recorded = folder / f"{ticker}&cursor={query['cursor']}.json"
        else:
            first = sorted(
                path for path in folder.glob(f"{ticker}*.json") if "cursor=" not in path.name
            )
            recorded = first[0] if first else None
        if recorded is None or not recorded.is_file():
            return {"results": [], "status": "OK", "request_id": uuid.uuid4().hex}
        body = json.loads(recorded.read_text())
        low, high = query.get("timestamp.gte"), query.get("timestamp.lt")
        if low is not None and high is not None:
            body["results"] = [
                item
                for item in body.get("results", [])
                if int(low) <= item["sip_timestamp"] < int(high)
            ]
            if not body["results"]:
                body.pop("next_url", None)  # the recorded cursor continues the recorded range only
        if self.now is not None:
            present = pd.Timestamp(self.now).value
            body["results"] = [
                item for item in body.get("results", []) if item["sip_timestamp"] < present
            ]
        return body

    def _ticker(self, ticker: str) -> tuple[int, dict]:
        if ticker not in set(self.minute_bars.symbol) and ticker != "AAPL":
            return 404, self._error(404)
        body = json.loads((self.mocks / TICKER_MOCK).read_text())
        body["results"]["ticker"] = ticker
        return 200, body


def _epoch_ms(moment: pd.Timestamp) -> int:
    """A naive-UTC time as epoch milliseconds."""
    return int(pd.Timestamp(moment).value // 1_000_000)


def _ms_bound(text: str, is_end: bool) -> int:
    """A from/to path value (ms or YYYY-MM-DD, a New York day) as epoch milliseconds."""
    if text.isdigit():
        return int(text)
    day = pd.Timestamp(text).tz_localize(EXCHANGE_TZ)
    bound = day + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1) if is_end else day
    return int(bound.value // 1_000_000)


def _split_adjusted(bars: pd.DataFrame, effective: pd.Timestamp, ratio: float) -> pd.DataFrame:
    """Prices before the split's New York day divided by ``ratio``, volumes multiplied."""
    first_ms = int(effective.tz_localize(EXCHANGE_TZ).value // 1_000_000)
    before = bars.t < first_ms
    adjusted = bars.copy()
    for column in ["o", "h", "l", "c"]:
        adjusted.loc[before, column] = (bars.loc[before, column] / ratio).round(4)
    adjusted.loc[before, "v"] = bars.loc[before, "v"] * ratio
    return adjusted


def minute_bars_from_lean(path: Path) -> pd.DataFrame:
    """The LEAN/AlgoSeek minute bars (ISO stamps with New York offsets) as Polygon ``t`` ms rows."""
    frame = pd.read_csv(path)
    stamps = pd.to_datetime(frame.timestamp, utc=True, format="ISO8601")
    milliseconds = (stamps.dt.tz_localize(None) - pd.Timestamp("1970-01-01")) // pd.Timedelta(
        milliseconds=1
    )
    return pd.DataFrame(
        {
            "symbol": frame.symbol,
            "t": milliseconds.astype("int64"),
            "o": frame.open,
            "h": frame.high,
            "l": frame.low,
            "c": frame.close,
            "v": frame.volume.astype(float),
        }
    )


def start_server(state: PolygonStandIn) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``state`` on a free port of 127.0.0.1 in a daemon thread; returns (server, url)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            split = urlsplit(self.path)
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            status, body = state.answer(split.path, query, self.headers.get("Authorization", ""))
            with state.lock:
                state.log.append(Logged(split.path, query, status, state.now))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
