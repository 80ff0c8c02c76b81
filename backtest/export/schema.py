"""The Postgres DDL of the exported tables, read with sqlglot: columns, keys, references, order.

The core tables are declared in ``backtest/export/schema.sql``; every plugin declares its own
``bt_<name>`` table in ``plugins/<name>/schema.sql``. Nothing here names a plugin: a plugin's
table is exported because its folder has a ``schema.sql``.

>>> specs = load_table_specs()
>>> [spec.name for spec in specs][:4]
['bt_index', 'bt_aggregated', 'bt_bars', 'bt_signals']
>>> specs[0].key
('uid',)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from backtest.config import PROJECT_ROOT
from backtest.errors import BacktestError

CORE_DDL = Path(__file__).resolve().parent / "schema.sql"
PLUGINS_DIR = PROJECT_ROOT / "plugins"
WAREHOUSE_SCHEMA = "main"

# DuckDB type of a mart column -> the Postgres types that hold it without loss (sqlglot names).
# Naive DuckDB timestamps mean UTC and go to timestamptz; json goes to jsonb.
COMPATIBLE_TYPES: dict[exp.DataType.Type, set[exp.DataType.Type]] = {
    exp.DataType.Type.TEXT: {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR},
    exp.DataType.Type.VARCHAR: {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR},
    exp.DataType.Type.INT: {exp.DataType.Type.INT, exp.DataType.Type.BIGINT},
    exp.DataType.Type.BIGINT: {exp.DataType.Type.BIGINT},
    exp.DataType.Type.SMALLINT: {exp.DataType.Type.SMALLINT, exp.DataType.Type.INT},
    exp.DataType.Type.DOUBLE: {exp.DataType.Type.DOUBLE},
    exp.DataType.Type.BOOLEAN: {exp.DataType.Type.BOOLEAN},
    exp.DataType.Type.DATE: {exp.DataType.Type.DATE},
    exp.DataType.Type.TIMESTAMPNTZ: {exp.DataType.Type.TIMESTAMPTZ},
    exp.DataType.Type.TIMESTAMP: {exp.DataType.Type.TIMESTAMPTZ},
    exp.DataType.Type.JSON: {exp.DataType.Type.JSONB},
}

# Postgres catalog name (pg_type.typname) of each DDL type, to check tables that already exist.
POSTGRES_TYPE_NAMES: dict[exp.DataType.Type, str] = {
    exp.DataType.Type.TEXT: "text",
    exp.DataType.Type.VARCHAR: "varchar",
    exp.DataType.Type.INT: "int4",
    exp.DataType.Type.BIGINT: "int8",
    exp.DataType.Type.SMALLINT: "int2",
    exp.DataType.Type.DOUBLE: "float8",
    exp.DataType.Type.BOOLEAN: "bool",
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMPTZ: "timestamptz",
    exp.DataType.Type.JSONB: "jsonb",
}


@dataclass(frozen=True)
class Column:
    """One column of a Postgres table as its DDL declares it."""

    name: str
    type: exp.DataType.Type

    @property
    def is_timestamp(self) -> bool:
        return self.type == exp.DataType.Type.TIMESTAMPTZ

    @property
    def is_json(self) -> bool:
        return self.type == exp.DataType.Type.JSONB

    @property
    def postgres_type_name(self) -> str:
        return POSTGRES_TYPE_NAMES[self.type]


@dataclass(frozen=True)
class Reference:
    """A foreign key: ``columns`` of the child point at ``parent_columns`` of ``parent``."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """An exported table: its Postgres columns, primary key and references, and its DDL file."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...]
    source: Path

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def value_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.name not in self.key]


def _identifiers(node: exp.Expression | None) -> tuple[str, ...]:
    return tuple(ident.name for ident in (node.expressions if node else []))


def _reference(columns: tuple[str, ...], reference: exp.Reference) -> Reference:
    schema = reference.this
    return Reference(columns, schema.this.name, _identifiers(schema))


def _table_spec(create: exp.Create, source: Path) -> TableSpec:
    schema = create.this
    name = schema.this.name
    columns: list[Column] = []
    key: tuple[str, ...] = ()
    references: list[Reference] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            type_ = item.kind.this
            if type_ not in POSTGRES_TYPE_NAMES:
                raise BacktestError(
                    f"Column {name}.{item.name} in {source} has type {item.kind.sql('postgres')}, "
                    f"which the export does not handle: use one of "
                    f"{', '.join(sorted(set(POSTGRES_TYPE_NAMES.values())))}."
                )
            columns.append(Column(item.name, type_))
            for constraint in item.args.get("constraints") or []:
                if isinstance(constraint.kind, exp.PrimaryKeyColumnConstraint):
                    key = (item.name,)
                elif isinstance(constraint.kind, exp.Reference):
                    references.append(_reference((item.name,), constraint.kind))
        elif isinstance(item, exp.PrimaryKey):
            key = _identifiers(item)
        elif isinstance(item, exp.ForeignKey):
            references.append(_reference(_identifiers(item), item.args["reference"]))
    if not key:
        raise BacktestError(
            f"Table {name} in {source} has no primary key: declare one so re-exports update "
            "rows in place."
        )
    return TableSpec(name, tuple(columns), key, tuple(references), source)


def parse_ddl(path: Path) -> list[TableSpec]:
    """The tables a DDL file declares, after checking it only creates what is missing.

    Args:
        path: A ``schema.sql`` file of ``create table if not exists`` (and index) statements.

    Returns:
        The table specs in file order.
    """
    try:
        statements = [node for node in sqlglot.parse(path.read_text(), read="postgres") if node]
    except sqlglot.errors.ParseError as error:
        raise BacktestError(f"{path} is not valid Postgres DDL ({error}): fix the file.") from None
    specs = []
    for statement in statements:
        if not isinstance(statement, exp.Create) or not statement.args.get("exists"):
            first_line = statement.sql("postgres").splitlines()[0][:80]
            raise BacktestError(
                f"{path} has the statement '{first_line}': use only `create table if not exists` "
                "and `create index if not exists`, so the export never drops or rewrites data."
            )
        if statement.kind == "TABLE":
            specs.append(_table_spec(statement, path))
    return specs


def ddl_files() -> list[Path]:
    """The core DDL file, then every plugin's ``schema.sql`` in folder-name order."""
    return [CORE_DDL, *sorted(PLUGINS_DIR.glob("*/schema.sql"))]


def _dependency_order(specs: list[TableSpec]) -> list[TableSpec]:
    """Parents before children (by foreign key); otherwise in name order, core tables first."""
    by_name = {spec.name: spec for spec in specs}
    ordered: list[TableSpec] = []
    visiting: set[str] = set()

    def visit(spec: TableSpec) -> None:
        if spec in ordered:
            return
        if spec.name in visiting:
            raise BacktestError(f"The foreign keys of {spec.name} form a cycle: break it.")
        visiting.add(spec.name)
        for reference in spec.references:
            parent = by_name.get(reference.parent)
            if parent is None:
                raise BacktestError(
                    f"{spec.name} in {spec.source} references {reference.parent}, which no "
                    "schema.sql declares: declare it or drop the reference."
                )
            visit(parent)
        visiting.discard(spec.name)
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


def load_table_specs(files: list[Path] | None = None) -> list[TableSpec]:
    """Every exported table, parents before children (bt_index first).

    Args:
        files: DDL files to read; default the core file and every ``plugins/*/schema.sql``.
    """
    specs: list[TableSpec] = []
    seen: dict[str, Path] = {}
    for path in files or ddl_files():
        for spec in parse_ddl(path):
            if spec.name in seen:
                raise BacktestError(
                    f"Table {spec.name} is declared in both {seen[spec.name]} and {path}: "
                    "keep one declaration."
                )
            seen[spec.name] = path
            specs.append(spec)
    core = [spec for spec in specs if spec.source == CORE_DDL]
    plugins = sorted((spec for spec in specs if spec.source != CORE_DDL), key=lambda s: s.name)
    core_sorted = sorted(core, key=lambda spec: (bool(spec.references), spec.name))
    return _dependency_order(core_sorted + plugins)


def schema_script(files: list[Path] | None = None) -> str:
    """The whole DDL as one script, with row-level security switched on for every table.

    Row-level security without policies keeps Supabase's public ``anon`` key from reading or
    writing the tables; the table owner and the ``service_role`` key are not affected.
    """
    parts = []
    for path in files or ddl_files():
        specs = parse_ddl(path)
        shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        security = "".join(
            f"alter table {spec.name} enable row level security;\n" for spec in specs
        )
        parts.append(f"-- {shown}\n{path.read_text().strip()}\n\n{security}")
    return "\n".join(parts)


def warehouse_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column name -> DuckDB type of a mart in the warehouse, or None when it is not built."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [WAREHOUSE_SCHEMA, table],
    ).fetchall()
    return dict(rows) if rows else None


def check_against_warehouse(spec: TableSpec, duckdb_columns: dict[str, str]) -> None:
    """Raise unless the DDL declares exactly the warehouse table's columns, in matching types."""
    declared = {column.name: column for column in spec.columns}
    missing = [name for name in duckdb_columns if name not in declared]
    if missing:
        raise BacktestError(
            f"{spec.source} lacks the column(s) {', '.join(missing)} of the warehouse table "
            f"{spec.name}: add them to the DDL."
        )
    extra = [name for name in declared if name not in duckdb_columns]
    if extra:
        raise BacktestError(
            f"{spec.source} declares the column(s) {', '.join(extra)} that the warehouse table "
            f"{spec.name} does not have: remove them or add them to the dbt model."
        )
    for name, duck_type in duckdb_columns.items():
        duck = exp.DataType.build(duck_type, dialect="duckdb").this
        if declared[name].type not in COMPATIBLE_TYPES.get(duck, set()):
            raise BacktestError(
                f"Column {spec.name}.{name} is {duck_type} in the warehouse but "
                f"{declared[name].postgres_type_name} in {spec.source}: make the DDL match the "
                "dbt model."
            )
