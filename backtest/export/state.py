"""What has been delivered where: per-row export state in the warehouse's ``export`` schema.

For every exported table ``bt_x`` the warehouse keeps ``export.bt_x`` with one row per target and
key: the md5 of the row's content as it was delivered. What to send next is then set-based SQL:
rows whose current hash differs from the delivered one (new or changed), and delivered keys that
are gone from the mart (to delete). ``export.runs`` logs every export.

dbt owns ``main`` and Python's ingest owns ``raw``; this module only writes ``export.*`` and
connection-local temporary tables, so an export never alters the results it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from backtest.core.warehouse import utc_now
from backtest.export.schema import WAREHOUSE_SCHEMA, TableSpec

STATE_SCHEMA = "export"
HASH = "_export_hash"
POSITION = "_export_position"
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

RUNS_DDL = f"""
create schema if not exists {STATE_SCHEMA};
create sequence if not exists {STATE_SCHEMA}.run_ids;
create table if not exists {STATE_SCHEMA}.runs (
    run_id bigint primary key default nextval('{STATE_SCHEMA}.run_ids'),
    target varchar not null,
    transport varchar not null,
    is_full boolean not null,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    upserted bigint not null default 0,
    deleted bigint not null default 0,
    error varchar
);
"""


def quote(name: str) -> str:
    """A double-quoted SQL identifier.

    >>> quote('open')
    '"open"'
    """
    return '"' + name.replace('"', '""') + '"'


def _columns(names: list[str] | tuple[str, ...], alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(name) for name in names)


def _key_match(spec: TableSpec, left: str, right: str) -> str:
    return " and ".join(f"{left}.{quote(key)} = {right}.{quote(key)}" for key in spec.key)


@dataclass(frozen=True)
class Changes:
    """Rows of one table staged for this export."""

    pending: int
    vanished: int
    held_back: int


class ExportState:
    """The export state of one target, read and written through one warehouse connection.

    Args:
        con: A writable connection to the warehouse; it must stay open for the whole export
            (the staged changes are temporary tables of this connection).
        target: Identity of the destination (no secrets), e.g. ``postgres://user@host:5432/db``.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, target: str) -> None:
        self.con = con
        self.target = target
        con.execute(RUNS_DDL)

    @staticmethod
    def _state_table(spec: TableSpec) -> str:
        return f"{STATE_SCHEMA}.{quote(spec.name)}"

    @staticmethod
    def _pending_table(spec: TableSpec) -> str:
        return quote(f"export_pending__{spec.name}")

    @staticmethod
    def _vanished_table(spec: TableSpec) -> str:
        return quote(f"export_vanished__{spec.name}")

    def ensure(self, spec: TableSpec) -> None:
        """Create the state table of ``spec`` (keys typed as in the mart) when missing."""
        types = dict(
            self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [WAREHOUSE_SCHEMA, spec.name],
            ).fetchall()
        )
        keys = ", ".join(f"{quote(key)} {types[key]} not null" for key in spec.key)
        self.con.execute(
            f"create table if not exists {self._state_table(spec)} ("
            f"target varchar not null, {keys}, row_hash uhugeint not null, "
            f"delivered_at timestamp not null, primary key (target, {_columns(spec.key)}))"
        )

    def forget(self, spec: TableSpec) -> None:
        """Drop what is recorded as delivered to this target for ``spec`` (its table is new)."""
        self.con.execute(f"delete from {self._state_table(spec)} where target = ?", [self.target])

    def stage(self, spec: TableSpec, full: bool = False) -> Changes:
        """Stage the rows to upsert and the keys to delete, in key order, as temporary tables.

        A row is pending when it is new or its content hash differs from the delivered one (every
        row when ``full``). A child row whose parent key is not in the parent mart yet (a build
        that stopped half-way) is held back until it is. A delivered key that is no longer in the
        mart is staged for deletion.
        """
        ready = _parents_present(spec)
        self._stage_changed(spec, ready, full)
        self._stage_vanished(spec)
        held_back = self.con.execute(
            f"select count(*) from {_warehouse_table(spec)} as source where not ({ready})"
        ).fetchone()[0]
        return Changes(
            pending=self._count(self._pending_table(spec)),
            vanished=self._count(self._vanished_table(spec)),
            held_back=held_back,
        )

    def _stage_changed(self, spec: TableSpec, ready: str, full: bool) -> None:
        """The new and changed rows whose parents are present, numbered in key order."""
        fields = ", ".join(f"{quote(name)} := source.{quote(name)}" for name in spec.column_names)
        self.con.execute(
            f"""
            create or replace temp table {self._pending_table(spec)} as
            with hashed as (
                select source.*,
                       md5_number(to_json(struct_pack({fields}))::varchar) as {HASH},
                       {ready} as _export_is_ready
                from {_warehouse_table(spec)} as source
            ),
            changed as (
                select hashed.*
                from hashed
                left join {self._state_table(spec)} as delivered
                    on delivered.target = $target and {_key_match(spec, "delivered", "hashed")}
                where hashed._export_is_ready
                  and ($full or delivered.row_hash is distinct from hashed.{HASH})
            )
            select {_columns(spec.column_names)}, {HASH},
                   row_number() over (order by {_columns(spec.key)}) - 1 as {POSITION}
            from changed
            order by {POSITION}
            """,
            {"target": self.target, "full": full},
        )

    def _stage_vanished(self, spec: TableSpec) -> None:
        """The delivered keys no longer in the mart, numbered in key order."""
        self.con.execute(
            f"""
            create or replace temp table {self._vanished_table(spec)} as
            select {_columns(spec.key, "delivered")},
                   row_number() over (order by {_columns(spec.key, "delivered")}) - 1
                       as {POSITION}
            from {self._state_table(spec)} as delivered
            where delivered.target = $target
              and not exists (
                  select 1 from {_warehouse_table(spec)} as source
                  where {_key_match(spec, "source", "delivered")}
              )
            order by {POSITION}
            """,
            {"target": self.target},
        )

    def _count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from {table}").fetchone()[0]

    def pending_batch(self, spec: TableSpec, start: int, stop: int) -> pa.Table:
        """Staged rows ``start`` to ``stop - 1`` in Postgres column order.

        Timestamps come as ISO 8601 text marked UTC (``2024-06-27T13:35:00.000000Z``): the
        warehouse's naive times are UTC, and the marker makes Postgres store that instant
        whatever the session's time zone. JSON columns come as their JSON text.
        """
        selected = ", ".join(
            f"strftime({quote(column.name)}, '{UTC_FORMAT}') as {quote(column.name)}"
            if column.is_timestamp
            else f"{quote(column.name)}::varchar as {quote(column.name)}"
            if column.is_json
            else quote(column.name)
            for column in spec.columns
        )
        return self.con.sql(
            f"select {selected} from {self._pending_table(spec)} "
            f"where {POSITION} >= $start and {POSITION} < $stop order by {POSITION}",
            params={"start": start, "stop": stop},
        ).to_arrow_table()

    def vanished_batch(self, spec: TableSpec, start: int, stop: int) -> pa.Table:
        """Keys ``start`` to ``stop - 1`` of the rows to delete, in key order."""
        return self.con.sql(
            f"select {_columns(spec.key)} from {self._vanished_table(spec)} "
            f"where {POSITION} >= $start and {POSITION} < $stop order by {POSITION}",
            params={"start": start, "stop": stop},
        ).to_arrow_table()

    def record_delivered(self, spec: TableSpec, start: int, stop: int) -> None:
        """Record staged rows ``start`` to ``stop - 1`` as delivered, with the hash sent."""
        self.con.execute(
            f"""
            insert into {self._state_table(spec)}
                (target, {_columns(spec.key)}, row_hash, delivered_at)
            select $target, {_columns(spec.key)}, {HASH}, $now
            from {self._pending_table(spec)}
            where {POSITION} >= $start and {POSITION} < $stop
            on conflict (target, {_columns(spec.key)}) do update
                set row_hash = excluded.row_hash, delivered_at = excluded.delivered_at
            """,
            {"target": self.target, "now": utc_now(), "start": start, "stop": stop},
        )

    def record_deleted(self, spec: TableSpec, start: int, stop: int) -> None:
        """Forget staged deletions ``start`` to ``stop - 1``: those rows are gone at the target."""
        self.con.execute(
            f"""
            delete from {self._state_table(spec)} as delivered
            using {self._vanished_table(spec)} as vanished
            where delivered.target = $target and {_key_match(spec, "delivered", "vanished")}
              and vanished.{POSITION} >= $start and vanished.{POSITION} < $stop
            """,
            {"target": self.target, "start": start, "stop": stop},
        )

    def delivered_count(self, spec: TableSpec) -> int:
        """How many rows of ``spec`` are recorded as delivered to this target."""
        return self.con.execute(
            f"select count(*) from {self._state_table(spec)} where target = ?", [self.target]
        ).fetchone()[0]

    def start_run(self, transport: str, full: bool) -> int:
        """Log the start of an export; returns its run id."""
        return self.con.execute(
            f"insert into {STATE_SCHEMA}.runs (target, transport, is_full, started_at, status) "
            "values (?, ?, ?, ?, 'running') returning run_id",
            [self.target, transport, full, utc_now()],
        ).fetchone()[0]

    def finish_run(
        self, run_id: int, upserted: int, deleted: int, error: str | None = None
    ) -> None:
        """Log the end of an export: ``ok``, or ``failed`` with the error sentence."""
        self.con.execute(
            f"update {STATE_SCHEMA}.runs set finished_at = ?, status = ?, upserted = ?, "
            "deleted = ?, error = ? where run_id = ?",
            [utc_now(), "failed" if error else "ok", upserted, deleted, error, run_id],
        )


def _warehouse_table(spec: TableSpec) -> str:
    return f"{WAREHOUSE_SCHEMA}.{quote(spec.name)}"


def _parents_present(spec: TableSpec) -> str:
    """SQL true when every parent row a ``source`` row references is in its parent mart."""
    checks = [
        f"exists (select 1 from {WAREHOUSE_SCHEMA}.{quote(reference.parent)} as parent where "
        + " and ".join(
            f"parent.{quote(parent_column)} = source.{quote(column)}"
            for column, parent_column in zip(
                reference.columns, reference.parent_columns, strict=True
            )
        )
        + ")"
        for reference in spec.references
    ]
    return " and ".join(checks) or "true"
