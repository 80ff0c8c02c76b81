"""The Postgres transport: psycopg, COPY into a staging table, then INSERT ... ON CONFLICT.

Each batch is one transaction: create a temporary staging table, COPY the batch into it as CSV,
upsert it into the target table by primary key (rows whose content is unchanged are not
rewritten), commit. A batch either lands whole or not at all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from backtest.core.errors import BacktestError
from backtest.export.schema import TableSpec, create_script
from backtest.export.transport import DeliveryError, SchemaChanges

CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "backtest-export"

EXISTING_COLUMNS_SQL = """
select class.relname, attribute.attname, type.typname
from pg_class as class
join pg_namespace as namespace on namespace.oid = class.relnamespace
join pg_attribute as attribute on attribute.attrelid = class.oid
join pg_type as type on type.oid = attribute.atttypid
where namespace.nspname = current_schema()
  and class.relkind in ('r', 'p')
  and class.relname = any(%s)
  and attribute.attnum > 0
  and not attribute.attisdropped
"""


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.splitlines()[0].split())


def _reason(error: psycopg.Error) -> str:
    diag = error.diag
    message = diag.message_primary or _first_line(error)
    return f"{message}; {diag.message_detail}" if diag.message_detail else message


def to_csv(batch: pa.Table) -> bytes:
    """One batch as headerless CSV in Postgres' COPY conventions (empty = NULL, "" = '')."""
    buffer = io.BytesIO()
    pa_csv.write_csv(batch, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


class PostgresTransport:
    """Delivers batches to a Postgres database (Supabase's direct or session-pooler URL).

    Args:
        url: libpq connection string or URI (``SUPABASE_DB_URL``).
        identity: The target's name without secrets, for messages.
    """

    name = "postgres"

    def __init__(self, url: str, identity: str) -> None:
        self.url = url
        self.identity = identity
        self.conn: psycopg.Connection | None = None

    def open(self) -> None:
        """Connect; unreachable servers and rejected credentials become one clear sentence."""
        try:
            self.conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=APPLICATION_NAME,
                prepare_threshold=None,
            )
        except psycopg.ProgrammingError:
            raise BacktestError(
                "SUPABASE_DB_URL is not a valid Postgres connection string: use the form "
                "postgresql://USER:PASSWORD@HOST:5432/postgres from the Supabase dashboard."
            ) from None
        except psycopg.OperationalError as error:
            detail = _first_line(error)
            if "authentication failed" in detail:
                raise BacktestError(
                    f"Supabase Postgres at {self.identity} rejected the credentials ({detail}): "
                    "check the user and password in SUPABASE_DB_URL."
                ) from None
            raise BacktestError(
                f"Cannot reach Supabase Postgres at {self.identity} ({detail}): check "
                "SUPABASE_DB_URL and the network; the local results are unchanged."
            ) from None

    def _connection(self) -> psycopg.Connection:
        if self.conn is None:
            raise BacktestError("The Postgres export connection is not open: call open() first.")
        return self.conn

    def _existing_columns(self, names: list[str]) -> dict[str, dict[str, str]]:
        existing: dict[str, dict[str, str]] = {}
        rows = self._connection().execute(EXISTING_COLUMNS_SQL, [names]).fetchall()
        for table, column, type_name in rows:
            existing.setdefault(table, {})[column] = type_name
        return existing

    def prepare(self, specs: Sequence[TableSpec], init_schema: bool) -> SchemaChanges:
        """Check every table and its columns; with ``init_schema`` create the missing ones.

        Creating runs the DDL files (``create ... if not exists`` only) and switches on
        row-level security for the tables it created; a table that exists but lacks a column a
        newer release declares gets it (``alter table ... add column if not exists``, null in
        the rows already there, which the export then sends again). Nothing is dropped or
        rewritten.
        """
        names = [spec.name for spec in specs]
        existing = self._existing_columns(names)
        missing = [name for name in names if name not in existing]
        if missing and not init_schema:
            raise BacktestError(
                f"Table {missing[0]} does not exist in {self.identity}: run `backtest export "
                "--init-schema` once to create the missing tables."
            )
        added: list[str] = []
        if init_schema:
            absent = [
                (spec, column)
                for spec in specs
                if spec.name in existing
                for column in spec.columns
                if column.name not in existing[spec.name] and column.name not in spec.key
            ]
            self._create(specs, missing, absent)
            added = [f"{spec.name}.{column.name}" for spec, column in absent]
            existing = self._existing_columns(names)
        for spec in specs:
            have = existing[spec.name]
            for column in spec.columns:
                if column.name not in have:
                    raise BacktestError(
                        f"Table {spec.name} in {self.identity} has no column {column.name}: run "
                        "`backtest export --init-schema` once to add it (or run `alter table "
                        f"{spec.name} add column {column.name} {column.ddl_type}`)."
                    )
                if have[column.name] != column.postgres_type_name:
                    raise BacktestError(
                        f"Column {spec.name}.{column.name} is {have[column.name]} in "
                        f"{self.identity} but {column.postgres_type_name} in {spec.source}: "
                        "alter the column to match."
                    )
        return SchemaChanges(created=missing, added_columns=added)

    def _create(self, specs: Sequence[TableSpec], tables: list[str], columns: list) -> None:
        """Create the missing ``tables`` and add the missing ``(spec, column)``s, atomically."""
        if not tables and not columns:
            return
        conn = self._connection()
        try:
            with conn.transaction():
                if tables:
                    conn.execute(create_script([spec for spec in specs if spec.name in tables]))
                for name in tables:
                    conn.execute(
                        sql.SQL("alter table {} enable row level security").format(
                            sql.Identifier(name)
                        )
                    )
                for spec, column in columns:
                    conn.execute(
                        sql.SQL("alter table {} add column if not exists {} {}").format(
                            sql.Identifier(spec.name),
                            sql.Identifier(column.name),
                            sql.SQL(column.ddl_type),
                        )
                    )
        except psycopg.Error as error:
            raise BacktestError(
                f"Creating tables or columns in {self.identity} failed ({_reason(error)}): check "
                "that the user in SUPABASE_DB_URL may create and alter tables."
            ) from None

    def _run_batch(self, statements: list[sql.Composed], spec: TableSpec, data: bytes) -> None:
        """Stage ``data`` via COPY and run the statements, all in one transaction."""
        conn = self._connection()
        stage = sql.Identifier(f"_stage_{spec.name}")
        try:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(statements[0])
                copy_sql = sql.SQL("copy {} from stdin (format csv)").format(stage)
                with cursor.copy(copy_sql) as copy:
                    copy.write(data)
                for statement in statements[1:]:
                    cursor.execute(statement)
        except psycopg.OperationalError as error:
            raise DeliveryError("lost", _first_line(error)) from None
        except psycopg.Error as error:
            if conn.closed:
                raise DeliveryError("lost", _reason(error)) from None
            raise DeliveryError("rejected", _reason(error)) from None

    def upsert(self, spec: TableSpec, batch: pa.Table) -> None:
        """Insert or update one batch by primary key; unchanged rows are left as they are."""
        table, stage = sql.Identifier(spec.name), _stage(spec)
        columns = sql.SQL(", ").join(map(sql.Identifier, spec.column_names))
        create = _create_stage(spec, spec.column_names)
        values = spec.value_columns
        if values:
            assignments = sql.SQL(", ").join(
                sql.SQL("{0} = excluded.{0}").format(sql.Identifier(name)) for name in values
            )
            current = sql.SQL(", ").join(
                sql.SQL("target.{}").format(sql.Identifier(name)) for name in values
            )
            proposed = sql.SQL(", ").join(
                sql.SQL("excluded.{}").format(sql.Identifier(name)) for name in values
            )
            action = sql.SQL(
                "do update set {assignments} where ({current}) is distinct from ({proposed})"
            ).format(assignments=assignments, current=current, proposed=proposed)
        else:
            action = sql.SQL("do nothing")
        insert = sql.SQL(
            "insert into {table} as target ({columns}) select {columns} from {stage} "
            "on conflict ({key}) {action}"
        ).format(
            table=table,
            columns=columns,
            stage=stage,
            key=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
            action=action,
        )
        self._run_batch([create, insert], spec, to_csv(batch))

    def delete(self, spec: TableSpec, keys: pa.Table) -> None:
        """Delete one batch of rows by primary key."""
        table, stage = sql.Identifier(spec.name), _stage(spec)
        create = _create_stage(spec, spec.key)
        match = sql.SQL(" and ").join(
            sql.SQL("target.{0} = staged.{0}").format(sql.Identifier(key)) for key in spec.key
        )
        delete = sql.SQL(
            "delete from {table} as target using {stage} as staged where {match}"
        ).format(table=table, stage=stage, match=match)
        self._run_batch([create, delete], spec, to_csv(keys))

    def close(self) -> None:
        """Close the connection (safe to call twice or after the connection broke)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _stage(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"_stage_{spec.name}")


def _create_stage(spec: TableSpec, columns) -> sql.Composed:
    """A temporary, empty copy of ``columns`` of the target table, dropped at commit."""
    return sql.SQL(
        "create temporary table {stage} on commit drop as "
        "select {columns} from {table} with no data"
    ).format(
        stage=_stage(spec),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        table=sql.Identifier(spec.name),
    )
