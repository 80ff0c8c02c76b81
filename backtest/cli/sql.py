"""``backtest sql "SELECT ..."``: one query on the warehouse, opened read-only, as a table or CSV.

The client the README's example queries need, without installing the DuckDB CLI.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from decimal import Decimal

import duckdb

from backtest.cli.common import add_command, add_db
from backtest.core.config import Settings
from backtest.core.errors import BacktestError, database_reason
from backtest.core.tables import align_table
from backtest.core.text import plural
from backtest.core.warehouse import connect


def add_parsers(commands) -> None:
    """Add the ``sql`` subcommand."""
    sql = add_command(commands, "sql", cmd_sql)
    sql.add_argument(
        "query", metavar="QUERY", help="one SQL statement, or - to read it from standard input"
    )
    sql.add_argument(
        "--csv",
        action="store_true",
        help="print CSV (a header line, then one line a row; NULL is empty) for other programs",
    )
    add_db(sql)


def _statement(query: str) -> str:
    """The query's one statement; none or several is a one-sentence error."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as error:
        raise BacktestError(_failure(error)) from None
    if len(statements) != 1:
        raise BacktestError(
            f"The query holds {plural(len(statements), 'statement')}: give exactly one, "
            'e.g. backtest sql "select * from bt_index limit 5".'
        )
    return query


def _failure(error: duckdb.Error) -> str:
    """DuckDB's message as one sentence: its first line and its suggestion, if any.

    >>> print(_failure(duckdb.ParserException('Parser Error: at "selec"\\n\\nLINE 1: selec 1')))
    The query failed (Parser Error: at "selec"): correct it and run it again.
    """
    return f"The query failed ({database_reason(error)}): correct it and run it again."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _text(value: object, null: str, float_digits: int | None = None) -> str:
    """A value as text: ``null`` for NULL, true/false, ISO times; doubles in full, or rounded to
    ``float_digits`` significant digits (which hides binary noise such as 1.8199999999999932).

    >>> _text(-1.8199999999999932, "NULL", 10), _text(40.0, "NULL", 10), _text(None, "NULL")
    ('-1.82', '40.0', 'NULL')
    """
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and float_digits:
        text = f"{value:.{float_digits}g}"
        return text if any(mark in text for mark in ".ein") else f"{text}.0"
    return str(value)


def render_result(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under their column names, numbers right-aligned (doubles to 10 significant
    digits; ``--csv`` gives them in full), and the row count.

    >>> print(render_result(["uid", "pnl_pct", "aligned"], [["A.1", -0.5, True], ["B", 2, None]]))
    uid  pnl_pct  aligned
    ---  -------  -------
    A.1     -0.5  true
    B          2  NULL
    (2 rows)
    """
    cells = [[_text(value, "NULL", 10).replace("\n", "\\n") for value in row] for row in rows]
    numeric = [
        any(row[index] is not None for row in rows)
        and all(row[index] is None or _is_number(row[index]) for row in rows)
        for index in range(len(columns))
    ]
    return f"{align_table(columns, cells, numeric)}\n({plural(len(rows), 'row')})"


def _write_csv(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(value, "") for value in row] for row in rows)


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one SQL query on the warehouse (read-only) and print the result.

    Run one DuckDB SQL statement on the warehouse, opened read-only, and print the result as
    an aligned table (or CSV with --csv). Example: backtest sql "select uid, status from
    bt_index where status <> 'complete'"
    """
    query = sys.stdin.read() if args.query == "-" else args.query
    statement = _statement(query)
    settings = Settings.from_env(args.db, args.wait, for_reading=True)
    with connect(settings.db_path, read_only=True) as con:
        try:
            result = con.execute(statement)
            columns = [column[0] for column in result.description or []]
            rows = result.fetchall() if columns else []
        except duckdb.Error as error:
            raise BacktestError(_failure(error)) from None
    if not columns:
        return 0
    if args.csv:
        _write_csv(columns, rows)
    else:
        print(render_result(columns, rows))
    return 0


COMMANDS = {"sql": cmd_sql}
