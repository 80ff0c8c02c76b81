"""Request intake: validate backtest requests as a whole column at a time and give them UIDs.

A request is (symbol, entry time in UTC, LONG or SHORT) plus the run's lookback and forward
bars. Every check is vectorised, so a million-row requests file costs the same code path as one
request; the first bad row is reported with its row number and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backtest.core.config import DEFAULT_FORWARD_BARS, DEFAULT_LOOKBACK_HOURS, MAX_LOOKBACK_HOURS
from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.uid import SIDE_CODES, make_uids

REQUEST_COLUMNS = ["symbol", "entry_time", "direction"]
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,11}$"


@dataclass(frozen=True)
class RunOptions:
    """Parameters shared by every request of one run."""

    lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    forward_bars: int = DEFAULT_FORWARD_BARS

    def __post_init__(self) -> None:
        if not 0.25 <= self.lookback_hours <= MAX_LOOKBACK_HOURS:
            raise BacktestError(
                f"--lookback-hours {self.lookback_hours:g} is out of range: "
                f"use a value from 0.25 to {MAX_LOOKBACK_HOURS:g} hours."
            )
        if not 1 <= self.forward_bars <= 60:
            raise BacktestError(
                f"--forward-bars {self.forward_bars} is out of range: use 1 to 60 "
                "(the stored window ends at bar offset 59)."
            )


def parse_entry_times(values: pd.Series) -> pd.Series:
    """ISO-8601 strings (naive = UTC, offsets converted) to naive UTC timestamps; NaT if bad."""
    parsed = pd.to_datetime(
        values.astype("string").str.strip(), utc=True, errors="coerce", format="ISO8601"
    )
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def _raise_first_problem(checks: list[tuple[pd.Series, str]], shown: pd.DataFrame) -> None:
    """Raise for the first row that fails any check, with that row's first failing message."""
    failing = pd.concat([failed for failed, _ in checks], axis=1).to_numpy()
    rows = failing.any(axis=1).nonzero()[0]
    if not len(rows):
        return
    position = int(rows[0])
    message = checks[int(failing[position].nonzero()[0][0])][1]
    where = f"request {position + 1}" if len(shown) > 1 else "the request"
    raise BacktestError(message.format(where=where, **shown.iloc[position].to_dict()))


def duplicates_note(rows: int, duplicates: int) -> str:
    """The sentence reporting ignored duplicate request rows; empty when there are none.

    >>> duplicates_note(10_000, 9_999)
    '10,000 rows, 9,999 duplicates of earlier rows ignored'
    >>> duplicates_note(2, 1)
    '2 rows, 1 duplicate of an earlier row ignored'
    >>> duplicates_note(3, 0)
    ''
    """
    if not duplicates:
        return ""
    of_what = "of an earlier row" if duplicates == 1 else "of earlier rows"
    return f"{plural(rows, 'row')}, {plural(duplicates, 'duplicate')} {of_what} ignored"


def prepare_requests(frame: pd.DataFrame, options: RunOptions) -> pd.DataFrame:
    """Validate raw request rows and return them normalised, de-duplicated and UID-keyed.

    Rows with the UID of an earlier row (the same symbol, minute and direction) are dropped;
    ``attrs["rows"]`` holds the number of rows given and ``attrs["duplicates"]`` the number
    dropped, for ``duplicates_note``.

    >>> rows = pd.DataFrame({"symbol": ["aapl", "AAPL"], "direction": ["long", "LONG"],
    ...                      "entry_time": ["2024-06-27 13:35:00", "2024-06-27T13:35Z"]})
    >>> requests = prepare_requests(rows, RunOptions())
    >>> requests.uid.tolist(), requests.attrs
    (['AAPL.062724.1335.L'], {'rows': 2, 'duplicates': 1})
    """
    missing = [column for column in REQUEST_COLUMNS if column not in frame.columns]
    if missing:
        raise BacktestError(
            f"The requests are missing the column(s) {', '.join(missing)}: "
            "provide symbol,entry_time,direction."
        )
    if frame.empty:
        raise BacktestError(
            "No requests were given: add at least one symbol,entry_time,direction row."
        )
    raw = frame[REQUEST_COLUMNS].astype("string").fillna("")
    requests = pd.DataFrame(
        {
            "symbol": raw.symbol.str.strip().str.upper(),
            "entry_time": parse_entry_times(raw.entry_time),
            "direction": raw.direction.str.strip().str.upper(),
        }
    )
    shown = raw.assign(symbol=requests.symbol, direction=requests.direction)
    is_ticker = requests.symbol.str.fullmatch(SYMBOL_PATTERN).fillna(False).astype(bool)
    _raise_first_problem(
        [
            (
                ~is_ticker,
                "Symbol '{symbol}' in {where} is not a ticker: "
                "use letters, digits, '.' or '-' (e.g. AAPL).",
            ),
            (
                ~requests.direction.isin(list(SIDE_CODES)),
                "Unknown direction '{direction}' in {where}: use LONG or SHORT.",
            ),
            (
                requests.entry_time.isna(),
                "Entry time '{entry_time}' in {where} is not a date and time: "
                "write it as ISO-8601, e.g. 2024-06-27 13:35:00 (UTC).",
            ),
            (
                (requests.entry_time != requests.entry_time.dt.floor("min")).fillna(False),
                "Entry time '{entry_time}' in {where} is not on a whole minute: "
                "set the seconds to :00 (bars are 1-minute, start-labelled).",
            ),
        ],
        shown,
    )
    requests["uid"] = make_uids(requests.symbol, requests.entry_time, requests.direction)
    requests["historical_lookback_hours"] = float(options.lookback_hours)
    requests["forward_bars"] = int(options.forward_bars)
    unique = requests.drop_duplicates("uid").reset_index(drop=True)
    unique.attrs.update(rows=len(requests), duplicates=len(requests) - len(unique))
    return unique


def read_requests_file(path: str | Path) -> pd.DataFrame:
    """Read a requests CSV (columns symbol,entry_time,direction) as strings."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(
            f"Requests file {path} does not exist: check the path given to --requests."
        )
    try:
        frame = pd.read_csv(path, dtype="string", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BacktestError(
            f"Requests file {path} is not a readable CSV ({error}): "
            "write a header symbol,entry_time,direction and one request per line."
        ) from None
    frame.columns = [column.strip().lower() for column in frame.columns]
    return frame


def single_request(symbol: str, entry_time: str, direction: str) -> pd.DataFrame:
    """The ``--symbol/--entry-time/--direction`` flags as a one-row request frame."""
    return pd.DataFrame({"symbol": [symbol], "entry_time": [entry_time], "direction": [direction]})
