"""Reading results back: the --output file (JSON or Parquet) and the terminal summary.

Both outputs are written straight from the warehouse in bounded pieces, ``RESULT_CHUNK``
requests per query: JSON ``FETCH_ROWS`` results at a time, Parquet by DuckDB's own ``COPY``, so
neither Python nor DuckDB holds a whole batch's results at once.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from backtest.core.config import HORIZONS
from backtest.core.errors import BacktestError
from backtest.core.progress import ProgressBar
from backtest.core.tables import align_table, format_table
from backtest.core.text import plural

OUTPUT_SUFFIXES = (".json", ".parquet")
RESULT_CHUNK = 20_000
"""Requests whose results one query builds while ``--output`` is written: DuckDB's memory
for writing is bounded by this, not by the batch (each chunk's signals are aggregated and
joined on their own)."""
FETCH_ROWS = 1_000
"""JSON results taken from DuckDB per step: what Python holds at a time."""
PRETTY_JSON_MAX = 1_000
"""Up to this many results a JSON array is indented as ``json.dumps(results, indent=2)``;
above it, each result is one compact line (the same values, written as DuckDB gives them,
several times faster)."""
LARGE_BATCH = 50
"""Above this many requests the run summary gives aggregate figures, not a row per request."""

CONSENSUS_KEYS = [
    "consensus_direction",
    "agreement_score",
    "vote_breakdown",
    "average_strength",
    "average_confidence",
    "participating_calculations",
    "total_calculations",
]
FORWARD_KEYS = [
    "aligned_with_trade",
    "entry_price",
    "exit_price",
    "pnl",
    "pnl_pct",
    "max_favorable_excursion",
    "max_favorable_excursion_pct",
    "max_adverse_excursion",
    "max_adverse_excursion_pct",
    "bars_to_mfe",
    "bars_to_mae",
    "has_same_bar_extremes",
    *(f"return_{minutes}m" for minutes in HORIZONS),
]


SIGNAL_KEYS = [
    "calculation",
    "direction",
    "strength",
    "confidence",
    "points",
    "metadata",
    "status",
    "error",
]
VOTE_TYPE = '{"BULLISH": "INTEGER", "BEARISH": "INTEGER", "NEUTRAL": "INTEGER"}'
"""``vote_breakdown`` as a Parquet struct: the consensus always counts all three directions."""


def _json_object(alias: str, keys: list[str]) -> str:
    return "json_object(" + ", ".join(f"'{key}', {alias}.{key}" for key in keys) + ")"


def _struct(alias: str, keys: list[str], types: dict[str, str] | None = None) -> str:
    """A DuckDB struct literal of ``alias``'s columns; ``types`` maps a key to its expression."""
    types = types or {}
    return "{" + ", ".join(f"'{key}': {types.get(key, f'{alias}.{key}')}" for key in keys) + "}"


_RESULTS_FROM = """
from wanted
inner join bt_index as request on request.uid = wanted.uid
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
left join signals on signals.uid = wanted.uid
order by wanted.position
"""

RESULTS_SQL = f"""
with
wanted as (select uid, position from wanted_uids),
signals as (
    select uid, to_json(list(json_object(
        {", ".join(f"'{key}', {key}" for key in SIGNAL_KEYS)}) order by calculation)) as signals
    from bt_signals
    where uid in (select uid from wanted)
    group by uid
)
select json_object(
    'uid', request.uid,
    'symbol', request.symbol,
    'entry_time', strftime(request.entry_time, '%Y-%m-%dT%H:%M:%SZ'),
    'direction', request.direction,
    'status', request.status,
    'data_source', request.data_source,
    'historical_lookback_hours', request.historical_lookback_hours,
    'forward_bars', request.forward_bars,
    'signals', coalesce(signals.signals, json('[]')),
    'consensus', {_json_object("aggregated", CONSENSUS_KEYS)},
    'forward', {_json_object("aggregated", FORWARD_KEYS)}
) as result
{_RESULTS_FROM}"""
"""One JSON text per wanted uid, in the wanted order: the ``--output`` object."""

_CONSENSUS_STRUCT = _struct(
    "aggregated",
    CONSENSUS_KEYS,
    {"vote_breakdown": f"json_transform(aggregated.vote_breakdown, '{VOTE_TYPE}')"},
)

PARQUET_SQL = f"""
with
wanted as (select uid, position from wanted_uids),
signals as (
    select uid, list({_struct("bt_signals", SIGNAL_KEYS, {"metadata": "metadata::varchar"})}
        order by calculation) as signals
    from bt_signals
    where uid in (select uid from wanted)
    group by uid
)
select
    request.uid,
    request.symbol,
    timezone('UTC', request.entry_time) as entry_time,
    request.direction,
    request.status,
    request.data_source,
    request.historical_lookback_hours,
    request.forward_bars,
    coalesce(signals.signals, []) as signals,
    {_CONSENSUS_STRUCT} as consensus,
    {_struct("aggregated", FORWARD_KEYS)} as forward
{_RESULTS_FROM}"""
"""The same fields as ``RESULTS_SQL`` as Parquet columns: ``signals`` a list of structs (each
signal's ``metadata`` a JSON string, its keys differ by calculation), ``consensus`` and
``forward`` structs (``vote_breakdown`` a struct of three counts), ``entry_time`` a UTC
timestamp."""


def _with_wanted(con: duckdb.DuckDBPyConnection, uids: list[str]) -> None:
    wanted = pa.table(
        {"uid": pa.array(uids, pa.string()), "position": pa.array(range(len(uids)), pa.int64())}
    )
    con.register("wanted_uids", wanted)


def fetch_results(con: duckdb.DuckDBPyConnection, uids: list[str]) -> list[dict]:
    """One JSON-ready object per UID, in the order given."""
    _with_wanted(con, uids)
    rows = con.execute(RESULTS_SQL).fetchall()
    return [json.loads(row[0]) for row in rows]


def check_output_path(output: str | os.PathLike, example: str = "results.json") -> Path:
    """The ``--output`` file, checked before any work: refuse what could not be written.

    A relative path is taken from the current directory, as ``--db`` is.

    >>> check_output_path("/", example="report.html")
    Traceback (most recent call last):
    ...
    backtest.core.errors.BacktestError: --output / is a folder: give a file name, e.g. report.html.
    """
    path = Path(output).expanduser().absolute()
    if path.is_dir():
        raise BacktestError(f"--output {output} is a folder: give a file name, e.g. {example}.")
    if not path.parent.is_dir():
        raise BacktestError(
            f"--output {output}: the folder {path.parent} does not exist; create it first or "
            "choose another path."
        )
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BacktestError(f"--output {output} cannot be written here: choose a writable path.")
    return path


def check_results_path(output: str | os.PathLike) -> Path:
    """The results file of ``backtest run --output``: a writable ``.json`` or ``.parquet``.

    >>> try:
    ...     check_results_path("results.csv")
    ... except BacktestError as error:
    ...     print(error)
    --output results.csv: results are written as .json or .parquet, e.g. results.parquet.
    """
    path = check_output_path(output)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise BacktestError(
            f"--output {output}: results are written as .json or .parquet, e.g. results.parquet."
        )
    return path


def write_output(
    con: duckdb.DuckDBPyConnection,
    uids: list[str],
    path: Path,
    single: bool,
    show_progress: bool = False,
) -> None:
    """Write the results of ``uids`` to ``path``: JSON (one object for a single request, an
    array for a batch) or Parquet (one row per request), by the file's suffix.

    Written atomically: a failed write leaves neither a half-written file nor a ``.partial``
    behind, and an earlier file at ``path`` stays as it was.

    Args:
        con: The warehouse.
        uids: The requests, in the order to write them.
        path: A ``.json`` or ``.parquet`` file (``check_results_path``).
        single: One request: a JSON object rather than an array of one.
        show_progress: Draw a progress bar of written results on a terminal's stderr.
    """
    path = Path(path)
    temporary = path.with_name(path.name + ".partial")
    parts = path.with_name(path.name + ".parts")
    try:
        with ProgressBar(f"writing {path.name}", len(uids), "result", enabled=show_progress) as bar:
            if path.suffix.lower() == ".parquet":
                _write_parquet(con, uids, temporary, parts, bar)
            else:
                _write_json(con, uids, temporary, single, bar)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
        shutil.rmtree(parts, ignore_errors=True)


def _chunks(uids: list[str]) -> list[list[str]]:
    """``uids`` in slices of ``RESULT_CHUNK`` (one, empty, for no uids).

    >>> [len(chunk) for chunk in _chunks(["u"] * (RESULT_CHUNK + 1))], _chunks([])
    ([20000, 1], [[]])
    """
    chunks = [uids[start : start + RESULT_CHUNK] for start in range(0, len(uids), RESULT_CHUNK)]
    return chunks or [[]]


def _sql_text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _copy_parquet(con: duckdb.DuckDBPyConnection, query: str, file: Path) -> None:
    con.execute(
        f"copy ({query}) to {_sql_text(file)} (format parquet, row_group_size {RESULT_CHUNK})"
    )


def _write_parquet(
    con: duckdb.DuckDBPyConnection,
    uids: list[str],
    temporary: Path,
    parts: Path,
    bar: ProgressBar,
) -> None:
    """DuckDB writes the file: one ``COPY`` for one chunk of requests; for more, one part
    file per chunk, then one ``COPY`` that streams the parts, in order, into the file."""
    chunks = _chunks(uids)
    if len(chunks) == 1:
        _with_wanted(con, chunks[0])
        _copy_parquet(con, PARQUET_SQL, temporary)
        bar.update(len(uids))
        return
    parts.mkdir(exist_ok=True)  # a killed run may have left one
    files = []
    for number, chunk in enumerate(chunks):
        _with_wanted(con, chunk)
        files.append(parts / f"{number:06d}.parquet")
        _copy_parquet(con, PARQUET_SQL, files[-1])
        bar.advance(len(chunk))
    setting = "preserve_insertion_order"
    previous = con.execute(f"select current_setting('{setting}')").fetchall()[0][0]
    con.execute(f"set {setting} = true")  # the parts' rows in file order, as written
    try:
        listed = ", ".join(map(_sql_text, files))
        _copy_parquet(con, f"select * from read_parquet([{listed}])", temporary)
    finally:
        con.execute(f"set {setting} = {str(previous).lower()}")


def _write_json(
    con: duckdb.DuckDBPyConnection,
    uids: list[str],
    temporary: Path,
    single: bool,
    bar: ProgressBar,
) -> None:
    """One object, or an array written a chunk of requests and ``FETCH_ROWS`` results at a
    time: indented as ``json.dumps(results, indent=2)`` up to ``PRETTY_JSON_MAX`` results,
    one compact result per line above."""
    if single:
        _with_wanted(con, uids)
        (text,) = con.execute(RESULTS_SQL).fetchall()[0]
        temporary.write_text(json.dumps(json.loads(text), indent=2) + "\n")
        return
    pretty = len(uids) <= PRETTY_JSON_MAX
    first, rest, indent = ("[\n  ", ",\n  ", "\n  ") if pretty else ("[\n", ",\n", None)
    written = 0
    with temporary.open("w") as file:
        for chunk in _chunks(uids):
            _with_wanted(con, chunk)
            cursor = con.execute(RESULTS_SQL)
            while rows := cursor.fetchmany(FETCH_ROWS):
                for (text,) in rows:
                    if indent:
                        text = json.dumps(json.loads(text), indent=2).replace("\n", indent)
                    file.write((rest if written else first) + text)
                    written += 1
                bar.update(written)
        file.write("\n]\n" if written else "[]\n")


SUMMARY_SQL = """
select request.uid, request.status,
       concat_ws('/', aggregated.vote_breakdown->>'BULLISH', aggregated.vote_breakdown->>'BEARISH',
                 aggregated.vote_breakdown->>'NEUTRAL') || ' of ' || aggregated.total_calculations
           as votes,
       aggregated.consensus_direction, aggregated.agreement_score, aggregated.aligned_with_trade,
       aggregated.pnl_pct,
       aggregated.max_favorable_excursion_pct, aggregated.max_adverse_excursion_pct
from wanted_uids as wanted
inner join bt_index as request on request.uid = wanted.uid
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
order by wanted.position
"""

TOTALS_SQL = """
select count(*) as requests,
       count(*) filter (where request.status = 'complete') as complete,
       count(*) filter (where request.status = 'partial') as partial,
       count(*) filter (where request.status = 'no_data') as no_data,
       avg(aggregated.pnl_pct) as mean_pnl_pct,
       avg(case when aggregated.pnl_pct is not null then (aggregated.pnl_pct > 0)::int end) * 100
           as win_rate_pct
from wanted_uids as wanted
inner join bt_index as request on request.uid = wanted.uid
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
"""

SUMMARY_HEADERS = [
    "uid",
    "status",
    "bull/bear/neutral",
    "consensus",
    "agree %",
    "aligned",
    "pnl %",
    "MFE %",
    "MAE %",
]


BATCH_SQL = """
select grouping(aggregated.consensus_direction) = 1 as is_total,
       aggregated.consensus_direction,
       count(*) as requests,
       avg(aggregated.aligned_with_trade::int) * 100 as aligned_pct,
       avg(aggregated.pnl_pct) as mean_pnl_pct,
       median(aggregated.pnl_pct) as median_pnl_pct,
       avg(case when aggregated.pnl_pct is not null then (aggregated.pnl_pct > 0)::int end) * 100
           as win_rate_pct,
       avg(aggregated.max_favorable_excursion_pct) as mean_mfe_pct,
       avg(aggregated.max_adverse_excursion_pct) as mean_mae_pct
from wanted_uids as wanted
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
group by grouping sets ((aggregated.consensus_direction), ())
order by is_total, case aggregated.consensus_direction
    when 'BULLISH' then 1 when 'BEARISH' then 2 when 'NEUTRAL' then 3 else 4 end,
    aggregated.consensus_direction
"""

STATUS_SQL = """
select request.status, count(*) as requests
from wanted_uids as wanted
inner join bt_index as request on request.uid = wanted.uid
group by request.status
"""

EXTREME_SQL = """
select aggregated.uid, aggregated.pnl_pct
from wanted_uids as wanted
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
where aggregated.pnl_pct is not null
order by aggregated.pnl_pct {order}, wanted.position
limit 1
"""

STATUSES = ("complete", "partial", "no_data")
GROUP_HEADERS = [
    "consensus",
    "requests",
    "aligned %",
    "mean pnl %",
    "median pnl %",
    "win rate %",
    "mean MFE %",
    "mean MAE %",
]


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one consensus direction, or of the whole batch (``consensus`` "all").

    Percentages are in percent; ``win_rate_pct`` and the P&L and excursion figures count only
    requests with a forward window (not ``no_data``); ``aligned_pct`` counts every request.
    """

    consensus: str
    requests: int
    aligned_pct: float | None
    mean_pnl_pct: float | None
    median_pnl_pct: float | None
    win_rate_pct: float | None
    mean_mfe_pct: float | None
    mean_mae_pct: float | None


@dataclass(frozen=True)
class BatchFigures:
    """What a large batch did, aggregated in SQL: requests by status, figures by consensus
    direction (then the whole batch last), and the best and worst request by ``pnl_pct``."""

    by_status: dict[str, int]
    groups: list[GroupFigures]
    best: tuple[str, float] | None
    worst: tuple[str, float] | None

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    def text(self) -> str:
        """The figures as the run prints them."""
        count = max(self.requests, 1)
        statuses = [
            (status, self.by_status.get(status, 0), 100 * self.by_status.get(status, 0) / count)
            for status in [*STATUSES, *sorted(set(self.by_status) - set(STATUSES))]
        ]
        groups = [
            [
                group.consensus,
                f"{group.requests:,}",
                *(_figure(value, "{:.1f}") for value in (group.aligned_pct,)),
                *(
                    _figure(value, "{:+.3f}")
                    for value in (group.mean_pnl_pct, group.median_pnl_pct)
                ),
                _figure(group.win_rate_pct, "{:.1f}"),
                *(_figure(value, "{:.3f}") for value in (group.mean_mfe_pct, group.mean_mae_pct)),
            ]
            for group in self.groups
        ]
        extremes = [
            f"{name:<6} {found[0]}  pnl {found[1]:+.3f}%" if found else f"{name:<6} -"
            for name, found in (("best:", self.best), ("worst:", self.worst))
        ]
        return "\n\n".join(
            [
                format_table(["status", "requests", "share %"], statuses, digits=1),
                align_table(GROUP_HEADERS, groups, [False] + [True] * (len(GROUP_HEADERS) - 1)),
                "\n".join(extremes),
            ]
        )


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def batch_figures(con: duckdb.DuckDBPyConnection, uids: list[str]) -> BatchFigures:
    """The aggregate figures of the requests ``uids``, computed in DuckDB."""
    _with_wanted(con, uids)
    return _batch_figures(con)


def _batch_figures(con: duckdb.DuckDBPyConnection) -> BatchFigures:
    groups = [
        GroupFigures("all" if is_total else consensus, *figures)
        for is_total, consensus, *figures in con.execute(BATCH_SQL).fetchall()
    ]
    by_status = dict(con.execute(STATUS_SQL).fetchall())
    extremes = [
        con.execute(EXTREME_SQL.format(order=order)).fetchall() for order in ("desc", "asc")
    ]
    best, worst = (rows[0] if rows else None for rows in extremes)
    return BatchFigures(by_status, groups, best, worst)


@dataclass(frozen=True)
class Summary:
    """What a person reads after a run: a table of the results (or, for a large batch, the
    aggregate figures) and a line of totals."""

    text: str
    requests: int
    no_data: int

    @property
    def found_nothing(self) -> bool:
        """Every request found no bars (the run should exit non-zero)."""
        return self.requests > 0 and self.no_data == self.requests


def summarize(con: duckdb.DuckDBPyConnection, uids: list[str], limit: int = 20) -> Summary:
    """A readable table of the first ``limit`` results and one line of totals; above
    ``LARGE_BATCH`` requests the aggregate figures (``BatchFigures``) instead of the table."""
    _with_wanted(con, uids)
    if len(uids) > LARGE_BATCH:
        body = _batch_figures(con).text()
    else:
        rows = con.execute(SUMMARY_SQL + f" limit {int(limit)}").fetchall()
        more = f"\n... and {len(uids) - limit:,} more" if len(uids) > limit else ""
        body = format_table(SUMMARY_HEADERS, rows) + more
    totals = con.execute(TOTALS_SQL).fetchall()[0]
    count, complete, partial, no_data, mean_pnl, win_rate = totals
    mean_text = "-" if mean_pnl is None else f"{mean_pnl:+.3f}%"
    win_text = "-" if win_rate is None else f"{win_rate:.1f}%"
    text = (
        f"{body}\n\n{plural(count, 'request')}: {complete:,} complete, {partial:,} partial, "
        f"{no_data:,} no_data; mean pnl {mean_text}, winners {win_text}"
    )
    return Summary(text, count, no_data)
