"""The ``bt_<name>`` tables of plugins that run only as per-entry adapters (``runs = "adapter"``).

Set-based plugins shape their ``bt_<name>`` in dbt. An adapter-only plugin has no models, so
after every build its table is refreshed here, in the warehouse connection that held the build,
from its ``bt_signals`` rows and its ``get_storage_mapping()``: one row per uid with
``uid, signal_direction, strength, confidence``, the mapped columns and ``status``.

The refresh is incremental and idempotent: the rows of requests rebuilt since the last refresh
(``bt_index.updated_at`` past the watermark kept in ``raw.adapter_table_refreshes``) are
replaced, a request that no longer runs the plugin loses its row, and nothing is duplicated.
The changes and the watermark commit together, so an interrupted refresh is redone in full by
the next one. Metadata columns get the type their values have (BIGINT, DOUBLE, BOOLEAN,
VARCHAR; JSON when they mix); new values that do not fit, or a changed mapping, rebuild the
table from every stored signal.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from plugins.base import BacktestPlugin
from plugins.loader import adapter_plugin_names, load_all_plugins, storage_mapping

STATE_TABLE = "raw.adapter_table_refreshes"
NUMBERS = {"BIGINT", "UBIGINT", "DOUBLE"}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _json_path(source: str) -> str:
    return "$." + source.removeprefix("metadata.")


def infer_type(json_types: set[str]) -> str:
    """The column type for metadata values of these JSON types (nulls left out).

    >>> infer_type({"BIGINT", "DOUBLE"}), infer_type({"BIGINT"}), infer_type({"VARCHAR", "DOUBLE"})
    ('DOUBLE', 'BIGINT', 'JSON')
    >>> infer_type(set())
    'VARCHAR'
    """
    if not json_types:
        return "VARCHAR"
    if json_types <= {"BIGINT", "UBIGINT"}:
        return "BIGINT"
    if json_types <= NUMBERS:
        return "DOUBLE"
    if json_types in ({"BOOLEAN"}, {"VARCHAR"}):
        return next(iter(json_types))
    return "JSON"


def _fits(column_type: str, json_types: set[str]) -> bool:
    """Whether values of these JSON types can go into a column of ``column_type`` unchanged."""
    if not json_types or column_type == "JSON":
        return True
    wanted = infer_type(json_types)
    return wanted == column_type or (column_type == "DOUBLE" and wanted == "BIGINT")


def _value(source: str, column_type: str | None) -> str:
    """The SQL of one column from a ``bt_signals`` row (``signals`` alias)."""
    if not source.startswith("metadata."):
        return f"signals.{_quote(source)}"
    extracted = f"json_extract(signals.metadata, '{_json_path(source)}')"
    if column_type == "VARCHAR":
        return f"json_extract_string(signals.metadata, '{_json_path(source)}')"
    if column_type in ("BIGINT", "DOUBLE", "BOOLEAN"):
        return f"cast({extracted} as {column_type})"
    return extracted


def _rebuilt(watermark) -> str:
    """The filter on ``signals`` of the rows to (re)write: all, or those rebuilt since."""
    if watermark is None:
        return "true"
    return "signals.uid in (select uid from bt_index where updated_at > $watermark)"


class _Refresh:
    """One plugin's table refresh, inside the caller's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plugin: type[BacktestPlugin]) -> None:
        self.con = con
        self.name = plugin.name
        self.table = plugin.storage_table
        self.mapping = storage_mapping(plugin)
        self.signature = ",".join(f"{column}={source}" for column, source in self.mapping.items())

    def _execute(self, sql: str, watermark=None, **params):
        if watermark is not None:
            params["watermark"] = watermark
        return self.con.execute(sql, {"name": self.name, **params})

    def _metadata_types(self, watermark) -> dict[str, set[str]]:
        """The JSON types (nulls left out) each metadata column has in the rows to write."""
        metadata = {c: s for c, s in self.mapping.items() if s.startswith("metadata.")}
        if not metadata:
            return {}
        lists = ", ".join(
            f"list(distinct json_type({_value(source, None)}))" for source in metadata.values()
        )
        row = self._execute(
            f"select {lists} from bt_signals as signals "
            f"where signals.calculation = $name and {_rebuilt(watermark)}",
            watermark,
        ).fetchone()
        return {
            column: {kind for kind in types or [] if kind not in (None, "NULL")}
            for column, types in zip(metadata, row, strict=True)
        }

    def _column_types(self, table: str) -> dict[str, str] | None:
        rows = self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = current_schema() and table_name = $table "
            "order by ordinal_position",
            {"table": table},
        ).fetchall()
        return dict(rows) or None

    def _create(self, types: dict[str, set[str]]) -> dict[str, str]:
        signal_types = self._column_types("bt_signals")
        column_types = {
            column: infer_type(types[column])
            if source.startswith("metadata.")
            else signal_types[source]
            for column, source in self.mapping.items()
        }
        columns = ", ".join(f"{_quote(name)} {kind}" for name, kind in column_types.items())
        self.con.execute(
            f"create table {_quote(self.table)} (uid varchar not null, {columns}, status varchar)"
        )
        return column_types

    def _drop(self) -> None:
        self.con.execute(f"drop table {_quote(self.table)}")

    def run(self, refreshed_through) -> None:
        """Bring the table up to ``bt_signals`` and record ``refreshed_through``."""
        state = self.con.execute(
            f"select signature, refreshed_through from {STATE_TABLE} where table_name = $table",
            {"table": self.table},
        ).fetchone()
        existing = self._column_types(self.table)
        if existing is not None and (state is None or state[0] != self.signature):
            self._drop()
            existing = None
        watermark = state[1] if existing is not None else None
        types = self._metadata_types(watermark)
        if existing is not None and not all(_fits(existing[c], types[c]) for c in types):
            self._drop()
            existing, watermark = None, None
            types = self._metadata_types(watermark)
        column_types = existing or self._create(types)
        table = _quote(self.table)
        self._execute(
            f"delete from {table} where uid not in "
            "(select uid from bt_signals where calculation = $name)"
            + ("" if watermark is None else f" or {_rebuilt(watermark).replace('signals.', '')}"),
            watermark,
        )
        selected = ", ".join(
            f"{_value(source, column_types[column])}" for column, source in self.mapping.items()
        )
        self._execute(
            f"insert into {table} (uid, {', '.join(map(_quote, self.mapping))}, status) "
            f"select signals.uid, {selected}, signals.status from bt_signals as signals "
            f"where signals.calculation = $name and {_rebuilt(watermark)} "
            f"and signals.uid not in (select uid from {table})",
            watermark,
        )
        self.con.execute(
            f"insert or replace into {STATE_TABLE} values ($table, $signature, $through)",
            {"table": self.table, "signature": self.signature, "through": refreshed_through},
        )


def refresh_adapter_tables(
    con: duckdb.DuckDBPyConnection, plugin_settings: Mapping[str, dict]
) -> list[str]:
    """Refresh the ``bt_<name>`` of every adapter-only plugin of a finished build.

    Args:
        con: The warehouse connection that held the build.
        plugin_settings: The build's ``vars.backtest_plugins`` (enabled, runs per plugin).

    Returns:
        The tables refreshed.
    """
    names = adapter_plugin_names(plugin_settings)
    built = con.execute(
        "select count(*) from information_schema.tables where table_schema = current_schema() "
        "and table_name in ('bt_signals', 'bt_index')"
    ).fetchone()[0]
    if not names or built < 2:
        return []
    plugins = load_all_plugins()
    con.execute(
        f"create table if not exists {STATE_TABLE} (table_name varchar primary key, "
        "signature varchar not null, refreshed_through timestamp)"
    )
    refreshed_through = con.execute("select max(updated_at) from bt_index").fetchone()[0]
    con.begin()
    try:
        for name in names:
            _Refresh(con, plugins[name]).run(refreshed_through)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return [plugins[name].storage_table for name in names]
