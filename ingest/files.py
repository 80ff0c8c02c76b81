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

Files are read in chunks of ``CHUNK_ROWS`` rows (``iter_bar_chunks``), so memory is bounded by the
chunk, not the file. What a whole-file read decides once per file (the unit of numeric stamps,
the format of naive text stamps) is decided by the file's first chunk and kept for the rest
(``StampClock``). ``spooled_bar_batches`` hands the chunks to a loader in batches that keep every
copy of a (symbol, minute) together, so validation rejects duplicates across the whole input.
"""

from __future__ import annotations

import glob
import gzip
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.tseries.api import guess_datetime_format

from backtest.core.errors import BacktestError

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
NAT_TEXT = ("", "NaT", "nat", "NAT", "nan", "NaN", "NAN")
NINJATRADER_FORMAT = "%Y%m%d %H%M%S"
CHUNK_ROWS = 200_000
SCRATCH_MEMORY = "64MB"


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
        symbol: the ticker of files that have no symbol column; a file whose symbol column
            names another ticker is an error.
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
        if self.time_format is not None:
            _check_time_format(self.time_format)
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


def _check_time_format(time_format: str) -> None:
    """Refuse a format with a directive pandas cannot read (``%Q``, a stray ``%``)."""
    try:
        pd.to_datetime(pd.Series(["2024-01-02"]), format=time_format, errors="coerce")
    except ValueError as error:
        raise BacktestError(
            f"--bars-time-format '{time_format}' is not a strftime format ({error}): write it "
            "with directives such as %Y %m %d %H %M %S, e.g. '%m/%d/%Y %H:%M'."
        ) from None


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


def _csv_options(path: Path) -> dict:
    separator = None if ".txt" in [suffix.lower() for suffix in path.suffixes] else ","
    return {
        "sep": separator,
        "engine": "python" if separator is None else "c",
        "keep_default_na": False,
        "na_values": [""],
    }


def _is_parquet(path: Path) -> bool:
    return ".parquet" in [suffix.lower() for suffix in path.suffixes]


def _read_table(path: Path) -> pd.DataFrame:
    if _is_parquet(path):
        if path.name.lower().endswith(".gz"):
            with gzip.open(path) as handle:
                return pq.read_table(pa.BufferReader(handle.read())).to_pandas()
        return pd.read_parquet(path)
    return pd.read_csv(path, **_csv_options(path))


@contextmanager
def _plain_parquet(path: Path) -> Iterator[Path]:
    """The Parquet file itself, or a ``.parquet.gz`` decompressed into a temporary file."""
    if not path.name.lower().endswith(".gz"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bars-") as folder:
        plain = Path(folder) / "bars.parquet"
        with gzip.open(path) as source, open(plain, "wb") as target:
            shutil.copyfileobj(source, target)
        yield plain


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with _plain_parquet(path) as plain:
        parquet = pq.ParquetFile(plain)
        schema = parquet.schema_arrow
        if not parquet.metadata.num_rows:
            yield schema.empty_table().to_pandas()
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield pa.Table.from_batches([batch], schema=schema).to_pandas()


def _table_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if _is_parquet(path):
        yield from _parquet_chunks(path, chunk_rows)
        return
    with pd.read_csv(path, chunksize=chunk_rows, **_csv_options(path)) as reader:
        yield from reader


def _unreadable(path: Path, error: Exception) -> BacktestError:
    return BacktestError(
        f"Bar file {path} cannot be read as CSV or Parquet ({type(error).__name__}): "
        "check that it is a bar file and not truncated."
    )


def _read(path: Path, reader) -> pd.DataFrame:
    try:
        return reader(path)
    except BacktestError:
        raise
    except Exception as error:  # pandas/pyarrow raise many types for a corrupt file
        raise _unreadable(path, error) from None


def _guarded(path: Path, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks of one file, with a read failure anywhere in it as one sentence."""
    try:
        yield from chunks
    except BacktestError:
        raise
    except Exception as error:  # pandas/pyarrow raise many types for a corrupt file
        raise _unreadable(path, error) from None


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a headered bar file as it is, with lower-case column names."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(f"Bar file {path} does not exist: check the path given to --bars.")
    frame = _read(path, _read_table)
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame


def _ninjatrader_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    names = ["timestamp", *VALUE_COLUMNS]
    options = {"sep": ";", "header": None, "names": names, "dtype": {"timestamp": "string"}}
    with pd.read_csv(path, chunksize=chunk_rows, **options) as reader:
        yield from reader


def _lean_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    match = LEAN_TRADE_FILE.match(path.name)
    _require(
        match is not None,
        f"Bar file {path} is not a LEAN minute trade zip: use the "
        "<YYYYMMDD>_trade.zip files (quote zips hold quotes, not trade bars).",
    )
    day = pd.Timestamp(match.group(1))
    names = ["milliseconds", *VALUE_COLUMNS]
    with pd.read_csv(path, header=None, names=names, chunksize=chunk_rows) as reader:
        for frame in reader:
            frame[["open", "high", "low", "close"]] /= LEAN_PRICE_SCALE
            frame.insert(0, "timestamp", day + pd.to_timedelta(frame.pop("milliseconds"), "ms"))
            frame.insert(0, "symbol", path.parent.name.upper())
            yield frame


def _raw_chunks(path: Path, layout: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """One file's rows as read, ``chunk_rows`` at a time (headered files: lower-case columns)."""
    if layout == "ninjatrader":
        yield from _ninjatrader_chunks(path, chunk_rows)
    elif layout == "lean":
        yield from _lean_chunks(path, chunk_rows)
    else:
        for frame in _table_chunks(path, chunk_rows):
            frame.columns = [str(column).strip().lower() for column in frame.columns]
            yield frame


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


@dataclass
class StampClock:
    """How one file's stamps are read, decided by its first chunk and kept for the others.

    A whole-file read decides once per file the unit of numeric stamps (by magnitude) and the
    format of naive text (ISO-8601, else pandas' guess from the first stamp). Read in chunks, the
    first chunk that shows stamps decides, so every chunk of a file reads alike.

    Attributes:
        unit: the epoch unit of the file, once decided.
        naive_format: ``ISO8601``, a format guessed from the first stamp, or ``mixed`` (each
            stamp on its own) for naive text, once decided.
        example: the first text stamp seen, for messages.
        matched: whether any text stamp was read.
    """

    unit: str | None = None
    naive_format: str | None = None
    example: str | None = None
    matched: bool = False

    def note(self, text: pd.Series, parsed: pd.Series) -> None:
        """Remember the first text stamp and whether any was read."""
        if self.example is None and text.notna().any():
            self.example = str(text.dropna().iloc[0])
        self.matched = self.matched or bool(parsed.notna().any())


def _epoch(values: pd.Series, unit: str | None, clock: StampClock) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if unit is None and clock.unit is None and numbers.notna().any():
        largest = numbers.abs().max()
        clock.unit = next(name for floor, name in EPOCH_UNITS if largest >= floor)
    return pd.to_datetime(numbers, unit=unit or clock.unit or "ns", errors="coerce")


def _naive_format(text: pd.Series) -> str:
    """ISO-8601 if any stamp reads so, else the format pandas would guess from the first."""
    if pd.to_datetime(text, format="ISO8601", errors="coerce").notna().any():
        return "ISO8601"
    stamps = text.dropna()
    stamps = stamps[~stamps.isin(NAT_TEXT)]
    return (guess_datetime_format(stamps.iloc[0]) if len(stamps) else None) or "mixed"


def _parse_text(text: pd.Series, time_format: str | None, clock: StampClock) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if time_format:
            return pd.to_datetime(text, format=time_format, errors="coerce")
        if clock.naive_format is None and text.notna().any():
            clock.naive_format = _naive_format(text)
        return pd.to_datetime(text, format=clock.naive_format or "ISO8601", errors="coerce")


def _text_to_utc(text: pd.Series, tz: str, time_format: str | None, clock: StampClock) -> pd.Series:
    with_offset = text.str.contains(OFFSET_SUFFIX, regex=True).fillna(False).astype(bool)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if with_offset.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aware = pd.to_datetime(
                text[with_offset], utc=True, errors="coerce", format=time_format or "ISO8601"
            )
        result[with_offset] = aware.dt.tz_localize(None).astype("datetime64[ns]")
    if (~with_offset).any():
        naive = _parse_text(text[~with_offset], time_format, clock)
        local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        result[~with_offset] = (
            local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        )
    clock.note(text, result)
    return result


def to_utc(
    stamps: pd.Series,
    tz: str = "UTC",
    unit: str | None = None,
    time_format: str | None = None,
    clock: StampClock | None = None,
) -> pd.Series:
    """Stamps of any accepted form as naive UTC; unreadable ones become NaT.

    Args:
        stamps: datetimes, epoch numbers or text.
        tz: the zone of naive stamps.
        unit: the epoch unit; None guesses by magnitude.
        time_format: a ``strftime`` format of text stamps; None reads ISO-8601 or infers.
        clock: the decisions of earlier chunks of the same file (it records this chunk's);
            None decides from ``stamps`` alone.

    >>> to_utc(pd.Series(["2024-01-02 09:30:00", "2024-07-01T09:30:00-04:00"]),
    ...        tz="America/New_York").dt.strftime("%H:%M").tolist()
    ['14:30', '13:30']
    """
    clock = clock if clock is not None else StampClock()
    if pd.api.types.is_datetime64_any_dtype(stamps):
        aware = (
            stamps
            if stamps.dt.tz is not None
            else stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        )
        return aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(stamps):
        return _epoch(stamps, unit, clock).astype("datetime64[ns]")
    text = stamps.astype("string").str.strip()
    is_epoch = unit is not None or clock.unit is not None
    if is_epoch or text.str.fullmatch(r"\d{9,19}").fillna(True).all():
        return _epoch(text, unit, clock).astype("datetime64[ns]")
    return _text_to_utc(text, tz, time_format, clock)


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


def _symbols(
    frame: pd.DataFrame, chosen: dict[str, str], options: FileOptions, path: Path, origin: str
) -> pd.Series:
    """The file's symbol column, upper-case; it must agree with ``--bars-symbol`` if given."""
    if "symbol" not in chosen:
        symbol = _symbol_for(path, options, origin)
        return pd.Series(symbol, index=frame.index, dtype="string").str.strip().str.upper()
    symbols = frame[chosen["symbol"]].astype("string").str.strip().str.upper()
    if options.symbol:
        expected = options.symbol.strip().upper()
        other = symbols[(symbols.notna() & (symbols != expected)).fillna(False).astype(bool)]
        _require(
            other.empty,
            f"Bar file {origin} holds symbol {other.iloc[0] if len(other) else ''} in its "
            f"symbol column, which disagrees with --bars-symbol {options.symbol}: leave the flag "
            "out to keep the file's symbols, or fix the file or the flag.",
        )
    return symbols


def normalise(
    frame: pd.DataFrame,
    origin: str,
    options: FileOptions | None = None,
    path: Path | None = None,
    layout: str = "table",
    clock: StampClock | None = None,
) -> pd.DataFrame:
    """Map a frame read from one file onto ``symbol, bar_time, open, high, low, close, volume``.

    ``clock`` carries the stamp decisions from one chunk of a file to the next (see
    ``StampClock``); without it the frame is read as a whole file.
    """
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
    bars["symbol"] = _symbols(frame, chosen, options, path or Path(origin), origin)
    bars["bar_time"] = to_utc(
        frame[chosen["timestamp"]],
        options.tz or default_tz,
        options.time_unit,
        options.time_format,
        clock,
    )
    label = options.label or ("end" if layout == "ninjatrader" else "start")
    if label == "end":
        bars["bar_time"] -= pd.Timedelta(minutes=1)
    for column in VALUE_COLUMNS:
        bars[column] = pd.to_numeric(frame[chosen[column]], errors="coerce").astype("float64")
    return bars[BAR_COLUMNS]


def _file_chunks(path: Path, options: FileOptions, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """One file as normalised chunks; a time format that reads none of its stamps is an error."""
    layout = detect_layout(path, options)
    if layout == "ninjatrader" and not options.time_format:
        options = replace(options, time_format=NINJATRADER_FORMAT)
    clock = StampClock()
    for frame in _guarded(path, _raw_chunks(path, layout, chunk_rows)):
        yield normalise(frame, str(path), options, path, layout, clock)
    _require(
        not (options.time_format and clock.example is not None and not clock.matched),
        f"No stamp in bar file {path} matches --bars-time-format '{options.time_format}' (the "
        f"first reads '{clock.example}'): pass the format its stamps are written in, e.g. "
        "'%Y-%m-%d %H:%M', or leave the flag out to read ISO-8601 stamps.",
    )


def iter_bar_chunks(
    paths: Sequence[str | Path], options: FileOptions | None = None, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The given files, directories and globs as normalised frames with an ``origin`` column.

    Each file is read ``chunk_rows`` rows at a time; consecutive small files share a frame, so a
    frame holds at most about twice ``chunk_rows`` rows. At least one (maybe empty) frame comes.
    """
    options = options or FileOptions()
    pending: list[pd.DataFrame] = []
    rows, empty, given = 0, None, False
    for path in expand_paths(paths):
        for bars in _file_chunks(path, options, chunk_rows):
            bars = bars.assign(origin=str(path))
            if bars.empty:
                empty = bars
                continue
            pending.append(bars)
            rows += len(bars)
            if rows >= chunk_rows:
                yield pd.concat(pending, ignore_index=True)
                pending, rows, given = [], 0, True
    if pending or not given:
        yield pd.concat(pending or [empty], ignore_index=True)


def read_bar_file(path: str | Path, options: FileOptions | None = None) -> pd.DataFrame:
    """One file as a normalised frame."""
    chunks = _file_chunks(Path(path), options or FileOptions(), CHUNK_ROWS)
    return pd.concat(list(chunks), ignore_index=True)


def read_bar_files(paths: Sequence[str | Path], options: FileOptions | None = None) -> pd.DataFrame:
    """All given files, directories and globs as one normalised frame with an ``origin`` column."""
    return pd.concat(list(iter_bar_chunks(paths, options)), ignore_index=True)


@contextmanager
def _scratch(folder: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that spills to ``folder`` beyond ``SCRATCH_MEMORY``."""
    config = {"memory_limit": SCRATCH_MEMORY, "temp_directory": str(folder / "scratch")}
    con = duckdb.connect(config=config)
    try:
        yield con
    finally:
        con.close()


def _write_spool(chunks: Iterator[pd.DataFrame], spool: Path) -> None:
    writer = None
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(spool, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _fetch(
    con: duckdb.DuckDBPyConnection, sql: str, spool: Path, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """A query on the spool in frames of ``chunk_rows``, with the spool's own column types."""
    schema = pq.read_schema(spool)
    reader = con.sql(sql, params={"spool": str(spool)}).to_arrow_reader(chunk_rows)
    for batch in reader:
        yield pa.Table.from_batches([batch]).cast(schema).to_pandas()


def _whole_keys(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Frames sorted by (symbol, bar_time), re-cut so that no key spans two frames."""
    carry = None
    for frame in frames:
        frame = frame if carry is None else pd.concat([carry, frame], ignore_index=True)
        last = frame.iloc[-1]
        is_last = (frame.symbol == last.symbol) & (frame.bar_time == last.bar_time)
        carry = frame[is_last]
        if not is_last.all():
            yield frame[~is_last]
    if carry is not None:
        yield carry


SINGLE_ROWS = """
    select spool.* from read_parquet($spool) as spool
    anti join duplicate_keys using (symbol, bar_time)
"""
DUPLICATE_ROWS = """
    select spool.* from read_parquet($spool) as spool
    semi join duplicate_keys using (symbol, bar_time)
    order by spool.symbol, spool.bar_time
"""


def _spool_batches(spool: Path, folder: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not pq.ParquetFile(spool).metadata.num_rows:
        yield pq.read_table(spool).to_pandas()
        return
    with _scratch(folder) as con:
        con.execute(
            """
            create table duplicate_keys as
            select symbol, bar_time from read_parquet($spool)
            where symbol is not null and bar_time is not null
            group by symbol, bar_time having count(*) > 1
            """,
            {"spool": str(spool)},
        )
        yield from _fetch(con, SINGLE_ROWS, spool, chunk_rows)
        yield from _whole_keys(_fetch(con, DUPLICATE_ROWS, spool, chunk_rows))


@contextmanager
def spooled_bar_batches(
    paths: Sequence[str | Path],
    options: FileOptions | None = None,
    chunk_rows: int = CHUNK_ROWS,
    folder: Path | None = None,
) -> Iterator[Iterator[pd.DataFrame]]:
    """The bar files as batches to validate and load one by one, in bounded memory.

    Entering reads every file once, chunk by chunk, into a temporary Parquet spool in ``folder``
    (so an unreadable file fails before anything is loaded). The batches then hold the rows whose
    (symbol, minute) occurs once in all the files, then the rows of repeated minutes sorted by
    key, every copy of a key in the same batch: validation rejects them all, as it does when all
    the files are one batch.

    Args:
        paths: files, directories and globs (see ``expand_paths``).
        options: how to read them.
        chunk_rows: rows per chunk read and (about) per batch.
        folder: where the spool goes (e.g. beside the warehouse); None uses the system's.
    """
    with tempfile.TemporaryDirectory(prefix=".bar-spool-", dir=folder) as scratch:
        spool = Path(scratch) / "bars.parquet"
        _write_spool(iter_bar_chunks(paths, options, chunk_rows), spool)
        yield _spool_batches(spool, Path(scratch), chunk_rows)
