"""Reading results back: the --output JSON objects and the terminal summary."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from backtest.core.config import HORIZONS
from backtest.core.errors import BacktestError
from backtest.core.tables import format_table
from backtest.core.text import plural

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


def _json_object(alias: str, keys: list[str]) -> str:
    return "json_object(" + ", ".join(f"'{key}', {alias}.{key}" for key in keys) + ")"


RESULTS_SQL = f"""
with
wanted as (select uid, position from wanted_uids),
signals as (
    select uid, to_json(list(json_object(
        'calculation', calculation, 'direction', direction, 'strength', strength,
        'confidence', confidence, 'points', points, 'metadata', metadata,
        'status', status, 'error', error) order by calculation)) as signals
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
from wanted
inner join bt_index as request on request.uid = wanted.uid
inner join bt_aggregated as aggregated on aggregated.uid = wanted.uid
left join signals on signals.uid = wanted.uid
order by wanted.position
"""


def _with_wanted(con: duckdb.DuckDBPyConnection, uids: list[str]) -> None:
    con.register("wanted_uids", pd.DataFrame({"uid": uids, "position": range(len(uids))}))


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


def write_output(path: Path, results: list[dict], single: bool) -> None:
    """One object for a single request, an array for a batch; written atomically (a failed
    write leaves neither a half-written file nor a ``.partial`` behind)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".partial")
    try:
        temporary.write_text(json.dumps(results[0] if single else results, indent=2) + "\n")
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


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


@dataclass(frozen=True)
class Summary:
    """What a person reads after a run: a table of the first results and a line of totals."""

    text: str
    requests: int
    no_data: int

    @property
    def found_nothing(self) -> bool:
        """Every request found no bars (the run should exit non-zero)."""
        return self.requests > 0 and self.no_data == self.requests


def summarize(con: duckdb.DuckDBPyConnection, uids: list[str], limit: int = 20) -> Summary:
    """A readable table of the first ``limit`` results and one line of totals."""
    _with_wanted(con, uids)
    rows = con.execute(SUMMARY_SQL + f" limit {int(limit)}").fetchall()
    totals = con.execute(TOTALS_SQL).fetchall()[0]
    table = format_table(SUMMARY_HEADERS, rows)
    more = f"\n... and {len(uids) - limit:,} more" if len(uids) > limit else ""
    count, complete, partial, no_data, mean_pnl, win_rate = totals
    mean_text = "-" if mean_pnl is None else f"{mean_pnl:+.3f}%"
    win_text = "-" if win_rate is None else f"{win_rate:.1f}%"
    text = (
        f"{table}{more}\n\n{plural(count, 'request')}: {complete:,} complete, {partial:,} partial, "
        f"{no_data:,} no_data; mean pnl {mean_text}, winners {win_text}"
    )
    return Summary(text, count, no_data)
