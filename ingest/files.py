"""Bar files: the layouts real vendor exports come in, read into one normalised frame.

Headered CSV or Parquet (optionally ``.gz``; CSV also ``.zip``): columns are recognised by name,
case-insensitively (``symbol``/``ticker``; ``timestamp``/``datetime``/``date``/``time``/
``window_start``/``t``; ``open``/``o`` ...), or mapped explicitly. This covers the generic layout
``symbol,timestamp,open,high,low,close,volume``, Polygon's flat files
``ticker,volume,open,close,high,low,window_start,transactions`` and exports such as
``Datetime,Open,High,Low,Close,Volume``. Two headerless layouts are recognised too: NinjaTrader
``yyyyMMdd HHmmss;open;high;low;close;volume`` (end-labelled by convention) and LEAN/AlgoSeek
minute zips ``<symbol>/<YYYYMMDD>_trade.zip`` (milliseconds since midnight New York time, prices
in 1/10000 dollar).

Stamps become naive UTC, start-labelled: text with an offset is converted; naive text is read in
``FileOptions.tz`` (UTC unless set); numbers are Unix epochs in s/ms/us/ns (by magnitude unless
set); end-labelled bars move back one minute. Rows whose stamp or value cannot be read are kept
with a missing value so validation rejects them with a reason.
"""

from __future__ import annotations

import glob
import gzip
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backtest.errors import BacktestError

BAR_COLUMNS = ["symbol", "bar_time", "open", "high", "low", "close", "volume"]
VALUE_COLUMNS = ["open", "high", "low", "close", "volume"]
CANONICAL = ["symbol", "timestamp", *VALUE_COLUMNS]
LAYOUTS = ("auto", "table", "ninjatrader", "lean")
LABELS = ("start", "end")
TIME_UNITS = ("s", "ms", "us", "ns")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker", "sym"),
    "timestamp": (
        "timestamp",
        "datetime",
        "date_time",
        "bar_time",
        "window_start",
        "time",
        "date",
        "ts",
        "t",
    ),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
}
NINJATRADER_LINE = re.compile(r"^\d{8} \d{6};")
LEAN_TRADE_FILE = re.compile(r"^(\d{8})_trade\.zip$", re.IGNORECASE)
LEAN_PRICE_SCALE = 10_000.0
BAR_FILE_ENDINGS = tuple(
    f"{suffix}{encoding}" for suffix in (".csv", ".txt") for encoding in ("", ".gz", ".zip")
) + (".parquet", ".parquet.gz")
OFFSET_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"
EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))


@dataclass(frozen=True)
class FileOptions:
    """How to read bar files whose layout or clock is not the default one.

    Attributes:
        layout: ``auto`` (detect), ``table`` (a headered file), ``ninjatrader`` or ``lean``.
        tz: the zone of naive stamps, e.g. ``America/New_York``; None means the layout's
            default (UTC; New York for ``lean``). Stamps with an offset are converted as given.
        label: ``start`` or ``end``: which edge of its minute a bar is stamped with; None means
            the layout's default (``end`` for ``ninjatrader``, else ``start``).
        columns: explicit mapping from file column to one of ``symbol, timestamp, open, high,
            low, close, volume`` (case-insensitive), for names the synonyms do not cover.
        time_unit: ``s``, ``ms``, ``us`` or ``ns`` for numeric stamps; None guesses by magnitude.
        time_format: a ``strftime`` format for text stamps; None reads ISO-8601 or infers.
        symbol: the ticker of files that have no symbol column.
        symbol_pattern: a regular expression whose first group finds the ticker in the file
            name, for files without a symbol column (e.g. ``^([A-Z]+)_`` for ``AAPL_Minute.csv``).

    >>> FileOptions(tz="America/New_York", label="end").label
    'end'
    """

    layout: str = "auto"
    tz: str | None = None
    label: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    time_unit: str | None = None
    time_format: str | None = None
    symbol: str | None = None
    symbol_pattern: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.layout in LAYOUTS,
            f"Unknown file layout '{self.layout}': use one of {', '.join(LAYOUTS)}.",
        )
        _require(
            self.label in (None, *LABELS), f"Unknown bar label '{self.label}': use start or end."
        )
        _require(
            self.time_unit in (None, *TIME_UNITS),
            f"Unknown time unit '{self.time_unit}': use one of {', '.join(TIME_UNITS)}.",
        )
        wrong = sorted(set(self.columns.values()) - set(CANONICAL))
        _require(
            not wrong,
            f"Column mapping target '{','.join(wrong)}' is unknown: map onto "
            f"{', '.join(CANONICAL)}.",
        )
        if self.tz is not None:
            try:
                pd.Timestamp("2024-01-02").tz_localize(self.tz)
            except Exception:  # pytz and zoneinfo raise different types for an unknown zone
                raise BacktestError(
                    f"Time zone '{self.tz}' is unknown: use an IANA name such as "
                    "America/New_York or UTC."
                ) from None
        if self.symbol_pattern is not None:
            try:
                groups = re.compile(self.symbol_pattern).groups
            except re.error as error:
                raise BacktestError(
                    f"Symbol pattern '{self.symbol_pattern}' is not a regular expression "
                    f"({error}): write one with a group, e.g. ^([A-Z]+)_."
                ) from None
            _require(
                groups >= 1,
                f"Symbol pattern '{self.symbol_pattern}' has no group: wrap "
                "the ticker part in parentheses, e.g. ^([A-Z]+)_.",
            )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BacktestError(message)


def parse_column_mapping(text: str) -> dict[str, str]:
    """``"Date=timestamp,Last=close"`` as a mapping from file column to canonical name.

    >>> parse_column_mapping("Date=timestamp, Last=close")
    {'date': 'timestamp', 'last': 'close'}
    """
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, sep, target = item.partition("=")
        _require(
            bool(sep and source.strip() and target.strip()),
            f"Column mapping '{item}' is not FILE_COLUMN=NAME: write e.g. Date=timestamp.",
        )
        mapping[source.strip().lower()] = target.strip().lower()
    return mapping


def _is_bar_file(path: Path) -> bool:
    name = path.name.lower()
    if LEAN_TRADE_FILE.match(path.name):
        return True
    return name.endswith(BAR_FILE_ENDINGS)


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files, directories (searched recursively for bar files) and globs as a sorted file list.

    A directory contributes every ``.csv`` or ``.txt`` file (also ``.gz`` or ``.zip``), every
    ``.parquet`` (also ``.gz``) and every LEAN ``<YYYYMMDD>_trade.zip`` below it.
    """
    if not paths:
        raise BacktestError("--source files needs at least one --bars PATH (CSV or Parquet).")
    found: list[Path] = []
    for given in map(str, paths):
        if any(char in given for char in "*?["):
            matches = [Path(match) for match in sorted(glob.glob(given, recursive=True))]
            files = [match for match in matches if match.is_file()]
            _require(bool(files), f"--bars {given} matches no file: check the pattern.")
            found.extend(files)
        elif Path(given).is_dir():
            files = sorted(
                path for path in Path(given).rglob("*") if path.is_file() and _is_bar_file(path)
            )
            _require(
                bool(files),
                f"--bars directory {given} holds no bar files "
                "(.csv, .txt, .parquet, optionally .gz, or LEAN _trade.zip).",
            )
            found.extend(files)
        else:
            _require(
                Path(given).is_file(),
                f"Bar file {given} does not exist: check the path given to --bars.",
            )
            found.append(Path(given))
    return list(dict.fromkeys(found))


def _first_line(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", errors="replace") as handle:
            return handle.readline()
    except (OSError, EOFError):
        return ""


def detect_layout(path: Path, options: FileOptions) -> str:
    """The layout of one file: the option if set, else recognised from its name or first line."""
    if options.layout != "auto":
        return options.layout
    if LEAN_TRADE_FILE.match(path.name):
        return "lean"
    if ".parquet" not in [suffix.lower() for suffix in path.suffixes] and NINJATRADER_LINE.match(
        _first_line(path)
    ):
        return "ninjatrader"
    return "table"


def _read_table(path: Path) -> pd.DataFrame:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if ".parquet" in suffixes:
        if suffixes[-1] == ".gz":
            with gzip.open(path) as handle:
                return pq.read_table(pa.BufferReader(handle.read())).to_pandas()
        return pd.read_parquet(path)
    separator = None if ".txt" in suffixes else ","
    return pd.read_csv(
        path,
        sep=separator,
        engine="python" if separator is None else "c",
        keep_default_na=False,
        na_values=[""],
    )


def _read(path: Path, reader) -> pd.DataFrame:
    try:
        return reader(path)
    except BacktestError:
        raise
    except Exception as error:  # pandas/pyarrow raise many types for a corrupt file
        raise BacktestError(
            f"Bar file {path} cannot be read as CSV or Parquet ({type(error).__name__}): "
            "check that it is a bar file and not truncated."
        ) from None


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a headered bar file as it is, with lower-case column names."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(f"Bar file {path} does not exist: check the path given to --bars.")
    frame = _read(path, _read_table)
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame


def _read_ninjatrader(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=";",
        header=None,
        names=["timestamp", *VALUE_COLUMNS],
        dtype={"timestamp": "string"},
    )


def _read_lean(path: Path) -> pd.DataFrame:
    match = LEAN_TRADE_FILE.match(path.name)
    _require(
        match is not None,
        f"Bar file {path} is not a LEAN minute trade zip: use the "
        "<YYYYMMDD>_trade.zip files (quote zips hold quotes, not trade bars).",
    )
    frame = pd.read_csv(path, header=None, names=["milliseconds", *VALUE_COLUMNS])
    frame[["open", "high", "low", "close"]] /= LEAN_PRICE_SCALE
    day = pd.Timestamp(match.group(1))
    local = day + pd.to_timedelta(frame.pop("milliseconds"), unit="ms")
    frame.insert(0, "timestamp", local)
    frame.insert(0, "symbol", path.parent.name.upper())
    return frame


def _column_names(frame: pd.DataFrame, options: FileOptions, origin: str) -> dict[str, str]:
    """Which file column becomes which canonical column (explicit mapping first, then synonyms)."""
    explicit = {source.lower(): target for source, target in options.columns.items()}
    unknown = [source for source in explicit if source not in frame.columns]
    _require(
        not unknown,
        f"Bar file {origin} has no column '{','.join(unknown)}' to map: its "
        f"columns are {','.join(frame.columns)}.",
    )
    chosen = {target: source for source, target in explicit.items()}
    for target, names in SYNONYMS.items():
        if target not in chosen:
            present = [name for name in names if name in frame.columns]
            if present:
                chosen[target] = present[0]
    return chosen


def _epoch(values: pd.Series, unit: str | None) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if unit is None:
        largest = numbers.abs().max()
        unit = next(name for floor, name in EPOCH_UNITS if pd.isna(largest) or largest >= floor)
    return pd.to_datetime(numbers, unit=unit, errors="coerce")


def _parse_text(text: pd.Series, time_format: str | None) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if time_format:
            return pd.to_datetime(text, format=time_format, errors="coerce")
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if parsed.isna().all() and text.notna().any():
            parsed = pd.to_datetime(text, errors="coerce")
        return parsed


def to_utc(
    stamps: pd.Series, tz: str = "UTC", unit: str | None = None, time_format: str | None = None
) -> pd.Series:
    """Stamps of any accepted form as naive UTC; unreadable ones become NaT.

    >>> to_utc(pd.Series(["2024-01-02 09:30:00", "2024-07-01T09:30:00-04:00"]),
    ...        tz="America/New_York").dt.strftime("%H:%M").tolist()
    ['14:30', '13:30']
    """
    if pd.api.types.is_datetime64_any_dtype(stamps):
        aware = (
            stamps
            if stamps.dt.tz is not None
            else stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        )
        return aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(stamps):
        return _epoch(stamps, unit).astype("datetime64[ns]")
    text = stamps.astype("string").str.strip()
    if unit is not None or text.str.fullmatch(r"\d{9,19}").fillna(True).all():
        return _epoch(text, unit).astype("datetime64[ns]")
    with_offset = text.str.contains(OFFSET_SUFFIX, regex=True).fillna(False).astype(bool)
    result = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[ns]")
    if with_offset.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aware = pd.to_datetime(
                text[with_offset], utc=True, errors="coerce", format=time_format or "ISO8601"
            )
        result[with_offset] = aware.dt.tz_localize(None).astype("datetime64[ns]")
    if (~with_offset).any():
        naive = _parse_text(text[~with_offset], time_format)
        local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        result[~with_offset] = (
            local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        )
    return result


def _symbol_for(path: Path, options: FileOptions, origin: str) -> str:
    if options.symbol:
        return options.symbol
    if options.symbol_pattern:
        found = re.search(options.symbol_pattern, path.name)
        _require(
            found is not None and bool(found.group(1)),
            f"Symbol pattern '{options.symbol_pattern}' does not match the file name "
            f"{path.name}: adjust --bars-symbol-pattern or pass --bars-symbol.",
        )
        return found.group(1)
    raise BacktestError(
        f"Bar file {origin} has no symbol or ticker column: pass --bars-symbol TICKER "
        "(or --bars-symbol-pattern REGEX to take it from the file name)."
    )


def _layout_error(frame: pd.DataFrame, origin: str, missing: list[str]) -> BacktestError:
    return BacktestError(
        f"Bar file {origin} has columns {','.join(map(str, frame.columns))}, which match no known "
        f"layout (no {', '.join(missing)}): use symbol,timestamp,open,high,low,close,volume, the "
        "Polygon flat-file header ticker,volume,open,close,high,low,window_start,transactions, "
        "or map columns with --bars-columns FILE_COLUMN=NAME."
    )


def normalise(
    frame: pd.DataFrame,
    origin: str,
    options: FileOptions | None = None,
    path: Path | None = None,
    layout: str = "table",
) -> pd.DataFrame:
    """Map a frame read from one file onto ``symbol, bar_time, open, high, low, close, volume``."""
    options = options or FileOptions()
    frame = frame.rename(columns=lambda column: str(column).strip().lower())
    mapped = {target for target in options.columns.values()}
    full_stamps = set(SYNONYMS["timestamp"]) - {"date", "time"}
    if (
        "timestamp" not in mapped
        and {"date", "time"} <= set(frame.columns)
        and not full_stamps & set(frame.columns)
    ):
        frame = frame.assign(
            timestamp=frame["date"].astype("string") + " " + frame["time"].astype("string")
        )
    chosen = _column_names(frame, options, origin)
    missing = [name for name in ["timestamp", *VALUE_COLUMNS] if name not in chosen]
    if missing:
        raise _layout_error(frame, origin, missing)
    default_tz = "America/New_York" if layout == "lean" else "UTC"
    bars = pd.DataFrame(index=frame.index)
    if "symbol" in chosen:
        bars["symbol"] = frame[chosen["symbol"]]
    else:
        bars["symbol"] = _symbol_for(path or Path(origin), options, origin)
    bars["bar_time"] = to_utc(
        frame[chosen["timestamp"]], options.tz or default_tz, options.time_unit, options.time_format
    )
    label = options.label or ("end" if layout == "ninjatrader" else "start")
    if label == "end":
        bars["bar_time"] -= pd.Timedelta(minutes=1)
    for column in VALUE_COLUMNS:
        bars[column] = pd.to_numeric(frame[chosen[column]], errors="coerce").astype("float64")
    bars["symbol"] = bars.symbol.astype("string").str.strip().str.upper()
    return bars[BAR_COLUMNS]


def read_bar_file(path: str | Path, options: FileOptions | None = None) -> pd.DataFrame:
    """One file as a normalised frame."""
    options = options or FileOptions()
    path = Path(path)
    layout = detect_layout(path, options)
    if layout == "ninjatrader":
        frame = _read(path, _read_ninjatrader)
        options = options if options.time_format else replace(options, time_format="%Y%m%d %H%M%S")
    elif layout == "lean":
        frame = _read(path, _read_lean)
    else:
        frame = read_frame(path)
    return normalise(frame, str(path), options, path, layout)


def read_bar_files(paths: Sequence[str | Path], options: FileOptions | None = None) -> pd.DataFrame:
    """All given files, directories and globs as one normalised frame with an ``origin`` column."""
    frames = [read_bar_file(path, options).assign(origin=str(path)) for path in expand_paths(paths)]
    return pd.concat(frames, ignore_index=True)
