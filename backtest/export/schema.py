"""The Postgres DDL of the exported tables, derived from the dbt model contracts.

The core tables' DDL is derived from the enforced contracts in ``models/marts/_marts.yml``
when it is needed; every plugin's ``bt_<name>`` table is declared in ``plugins/<name>/schema.sql``,
a file generated from the plugin's own contract by ``backtest plugins schema`` (a test keeps it
equal to the contract). A contract's ``data_type`` is DuckDB's spelling; sqlglot translates it.
Nothing here names a plugin: a plugin's table is exported because its folder has a
``schema.sql``.

>>> specs = load_table_specs()
>>> [spec.name for spec in specs][:4]
['bt_index', 'bt_aggregated', 'bt_bars', 'bt_signals']
>>> specs[0].key
('uid',)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp

from backtest.core.config import PLUGINS_DIR, PROJECT_ROOT
from backtest.core.errors import BacktestError

CORE_CONTRACT = PROJECT_ROOT / "models" / "marts" / "_marts.yml"
SCHEMA_FILE = "schema.sql"
WAREHOUSE_SCHEMA = "main"
REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")

# Lookup indexes at the target beyond the primary keys (dbt contracts do not declare indexes).
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {"bt_index": (("symbol", "entry_time"),)}

GENERATED_HEADER = """\
-- Generated from the dbt contract in {contracts}
-- by `backtest plugins schema {name}`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.
"""

# A contract type whose Postgres copy is not sqlglot's literal translation: naive DuckDB
# timestamps mean UTC and go to timestamptz; json goes to jsonb; strings are text.
EXPORT_TYPES: dict[exp.DataType.Type, exp.DataType.Type] = {
    exp.DataType.Type.VARCHAR: exp.DataType.Type.TEXT,
    exp.DataType.Type.TIMESTAMPNTZ: exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMP: exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.JSON: exp.DataType.Type.JSONB,
}

# DuckDB type of a mart column -> the Postgres types that hold it without loss (sqlglot names).
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

    @property
    def ddl_type(self) -> str:
        """The type as the DDL spells it.

        >>> Column("is_ok", exp.DataType.Type.BOOLEAN).ddl_type
        'boolean'
        """
        return exp.DataType.build(self.type).sql(dialect="postgres").lower()


@dataclass(frozen=True)
class Reference:
    """A foreign key: ``columns`` of the child point at ``parent_columns`` of ``parent``."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """An exported table: its Postgres columns, primary key and references, and its source.

    ``source`` is the dbt properties file whose contract the DDL is derived from (core tables)
    or the plugin's ``schema.sql``.
    """

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


# --- from a dbt contract to Postgres DDL -------------------------------------------------------


def postgres_type(duckdb_type: str, where: str = "A column") -> str:
    """The Postgres type of a contract's ``data_type`` (DuckDB's spelling), translated by sqlglot.

    >>> [postgres_type(t) for t in ("varchar", "integer", "double", "timestamp", "json")]
    ['text', 'int', 'double precision', 'timestamptz', 'jsonb']
    """
    try:
        parsed = exp.DataType.build(duckdb_type, dialect="duckdb").this
    except sqlglot.errors.ParseError:
        parsed = None
    target = EXPORT_TYPES.get(parsed, parsed)
    if target not in POSTGRES_TYPE_NAMES:
        raise BacktestError(
            f"{where} has type {duckdb_type}, which the export does not handle: use one of "
            f"varchar, integer, bigint, smallint, double, boolean, date, timestamp, json."
        )
    return exp.DataType.build(target).sql(dialect="postgres").lower()


def _load_models(path: Path) -> list[dict]:
    try:
        properties = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise BacktestError(f"{path} is not valid YAML ({error}): fix the file.") from None
    return properties.get("models") or []


def _is_exported(model: dict) -> bool:
    """A ``bt_*`` model with an enforced contract and a ``uid`` column (one row set per request)."""
    contract = (model.get("config") or {}).get("contract") or {}
    columns = [column.get("name") for column in model.get("columns") or []]
    return (
        str(model.get("name", "")).startswith("bt_")
        and bool(contract.get("enforced"))
        and ("uid" in columns)
    )


def contract_models(path: Path) -> list[dict]:
    """The models of a dbt properties file whose tables are exported, in file order."""
    return [model for model in _load_models(path) if _is_exported(model)]


def _tests(node: dict) -> list[tuple[str, dict]]:
    """(name, arguments) of the data tests of a model or a column, in either YAML spelling."""
    found = []
    for test in node.get("data_tests") or node.get("tests") or []:
        if isinstance(test, str):
            found.append((test, {}))
            continue
        for name, config in test.items():
            config = config or {}
            found.append((name, config.get("arguments", config)))
    return found


def _constraint_types(node: dict) -> set[str]:
    return {constraint.get("type") for constraint in node.get("constraints") or []}


def contract_key(model: dict, source: Path) -> tuple[str, ...]:
    """The primary key a contract states, the first of: a ``primary_key`` constraint, a
    ``unique_combination`` test, a column with a ``primary_key`` constraint or a ``unique`` test.

    >>> contract_key({"name": "bt_x", "columns": [{"name": "uid", "data_tests": ["unique"]}]},
    ...              Path("_x.yml"))
    ('uid',)
    """
    for constraint in model.get("constraints") or []:
        if constraint.get("type") == "primary_key":
            return tuple(constraint["columns"])
    for name, arguments in _tests(model):
        if name == "unique_combination":
            return tuple(arguments["columns"])
    for column in model.get("columns") or []:
        tests = [name for name, _ in _tests(column)]
        if "primary_key" in _constraint_types(column) or "unique" in tests:
            return (column["name"],)
    raise BacktestError(
        f"Model {model['name']} in {source} declares no key: add a unique test on uid (or a "
        "unique_combination test) so re-exports update rows in place."
    )


def _column_references(column: dict) -> list[str]:
    """``references parent (field)`` for each relationships test of the column to a model."""
    found = []
    for name, arguments in _tests(column):
        parent = REF.search(str(arguments.get("to", ""))) if name == "relationships" else None
        if parent:
            found.append(f"references {parent.group(1)} ({arguments['field']})")
    return found


def _column_line(model: dict, column: dict, key: tuple[str, ...], source: Path) -> str:
    where = f"Column {model['name']}.{column['name']} in {source}"
    if not column.get("data_type"):
        raise BacktestError(f"{where} has no data_type: an enforced contract needs one.")
    parts = [column["name"], postgres_type(str(column["data_type"]), where)]
    if column["name"] in key:
        parts.append("not null")
    return " ".join(parts + _column_references(column))


def table_ddl(model: dict, source: Path) -> str:
    """The ``create table if not exists`` (and index) statements of one contracted model.

    >>> print(table_ddl({"name": "bt_x", "columns": [
    ...     {"name": "uid", "data_type": "varchar", "data_tests": ["unique"]},
    ...     {"name": "seen_at", "data_type": "timestamp"}]}, Path("_x.yml")))
    create table if not exists bt_x (
        uid text not null,
        seen_at timestamptz,
        primary key (uid)
    );
    """
    key = contract_key(model, source)
    lines = [_column_line(model, column, key, source) for column in model["columns"]]
    lines.append(f"primary key ({', '.join(key)})")
    body = ",\n".join(f"    {line}" for line in lines)
    statements = [f"create table if not exists {model['name']} (\n{body}\n);"]
    for columns in INDEXES.get(model["name"], ()):
        index = f"{model['name']}_{'_'.join(columns)}"
        statements.append(
            f"create index if not exists {index} on {model['name']} ({', '.join(columns)});"
        )
    return "\n\n".join(statements)


def contract_ddl(path: Path) -> str:
    """The DDL of every exported model of a dbt properties file, in file order."""
    return "".join(f"{table_ddl(model, path)}\n\n" for model in contract_models(path)).rstrip()


def _contract_files(folder: Path) -> list[Path]:
    models = folder / "models"
    return sorted([*models.glob("*.yml"), *models.glob("*.yaml")])


def plugin_schema(folder: Path) -> str:
    """The ``schema.sql`` generated for a plugin folder from the contracts in its ``models/``."""
    contracts = [path for path in _contract_files(folder) if contract_models(path)]
    if not contracts:
        raise BacktestError(
            f"{folder}/models declares no bt_* model with an enforced contract and a uid "
            "column: add the contract, then generate schema.sql again."
        )
    shown = ", ".join(f"plugins/{folder.name}/{path.relative_to(folder)}" for path in contracts)
    header = GENERATED_HEADER.format(name=folder.name, contracts=shown)
    ddl = "\n\n".join(contract_ddl(path) for path in contracts)
    return f"{header}\n{ddl}\n"


def plugin_schemas(names: Sequence[str] = (), plugins_dir: Path | None = None) -> dict[Path, str]:
    """Each plugin's ``schema.sql`` path and the text its contract generates.

    Args:
        names: Plugin folder names; default every folder whose models have an exported contract.
        plugins_dir: Where the plugin folders are; default ``plugins/``.
    """
    root = plugins_dir or PLUGINS_DIR
    if names:
        folders = [root / name for name in names]
        for folder in folders:
            if not folder.is_dir():
                raise BacktestError(f"There is no plugin folder {folder}: check the name.")
    else:
        folders = [
            folder
            for folder in sorted(root.iterdir())
            if any(contract_models(path) for path in _contract_files(folder))
        ]
    return {folder / SCHEMA_FILE: plugin_schema(folder) for folder in folders}


# --- table specs, read back from the DDL with sqlglot ------------------------------------------


def _identifiers(node: exp.Expression | None) -> tuple[str, ...]:
    return tuple(ident.name for ident in (node.expressions if node else []))


def _reference(columns: tuple[str, ...], reference: exp.Reference) -> Reference:
    schema = reference.this
    return Reference(columns, schema.this.name, _identifiers(schema))


def _column(name: str, item: exp.ColumnDef, source: Path) -> Column:
    type_ = item.kind.this
    if type_ not in POSTGRES_TYPE_NAMES:
        raise BacktestError(
            f"Column {name}.{item.name} in {source} has type {item.kind.sql('postgres')}, "
            f"which the export does not handle: use one of "
            f"{', '.join(sorted(set(POSTGRES_TYPE_NAMES.values())))}."
        )
    return Column(item.name, type_)


def _table_spec(create: exp.Create, source: Path) -> TableSpec:
    schema = create.this
    name = schema.this.name
    columns: list[Column] = []
    key: tuple[str, ...] = ()
    references: list[Reference] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            columns.append(_column(name, item, source))
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


def _parse(text: str, source: Path) -> list[TableSpec]:
    """The tables a DDL text declares, after checking it only creates what is missing."""
    try:
        statements = [node for node in sqlglot.parse(text, read="postgres") if node]
    except sqlglot.errors.ParseError as error:
        raise BacktestError(f"{source} is not valid Postgres DDL ({error}): fix it.") from None
    specs = []
    for statement in statements:
        if not isinstance(statement, exp.Create) or not statement.args.get("exists"):
            first_line = statement.sql("postgres").splitlines()[0][:80]
            raise BacktestError(
                f"{source} has the statement '{first_line}': use only `create table if not "
                "exists` and `create index if not exists`, so the export never drops or "
                "rewrites data."
            )
        if statement.kind == "TABLE":
            specs.append(_table_spec(statement, source))
    return specs


def parse_ddl(path: Path) -> list[TableSpec]:
    """The tables a DDL file declares, after checking it only creates what is missing.

    Args:
        path: A ``schema.sql`` file of ``create table if not exists`` (and index) statements.

    Returns:
        The table specs in file order.
    """
    return _parse(path.read_text(), path)


def source_ddl(source: Path) -> str:
    """The DDL of a spec's source: derived from a dbt contract, or a ``schema.sql`` as written."""
    if source.suffix in (".yml", ".yaml"):
        return contract_ddl(source)
    return source.read_text()


def ddl_files() -> list[Path]:
    """Every plugin's ``schema.sql``, in folder-name order."""
    return sorted(PLUGINS_DIR.glob(f"*/{SCHEMA_FILE}"))


def _dependency_order(specs: list[TableSpec]) -> list[TableSpec]:
    """Parents before children (by foreign key); otherwise in the given order."""
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
                    f"{spec.name} in {spec.source} references {reference.parent}, which is "
                    "not exported: export it or drop the reference."
                )
            visit(parent)
        visiting.discard(spec.name)
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


def load_table_specs() -> list[TableSpec]:
    """Every exported table, parents before children (bt_index first).

    The core tables come from the marts' contracts, then every ``plugins/*/schema.sql`` in
    table-name order.
    """
    core = _parse(contract_ddl(CORE_CONTRACT), CORE_CONTRACT)
    seen = {spec.name: spec.source for spec in core}
    plugins: list[TableSpec] = []
    for path in ddl_files():
        for spec in parse_ddl(path):
            if spec.name in seen:
                raise BacktestError(
                    f"Table {spec.name} is declared in both {seen[spec.name]} and {path}: "
                    "keep one declaration."
                )
            seen[spec.name] = path
            plugins.append(spec)
    core.sort(key=lambda spec: (bool(spec.references), spec.name))
    plugins.sort(key=lambda spec: spec.name)
    return _dependency_order(core + plugins)


def create_script(specs: Sequence[TableSpec]) -> str:
    """The DDL that creates the tables of ``specs`` (whole sources, parents first).

    Every statement is ``create ... if not exists``, so tables that exist are left as they are.
    """
    sources = dict.fromkeys(spec.source for spec in _dependency_order(list(specs)))
    return "\n\n".join(source_ddl(source).strip() for source in sources) + "\n"


def _shown(source: Path) -> str:
    shown = source.relative_to(PROJECT_ROOT) if source.is_relative_to(PROJECT_ROOT) else source
    if source.suffix == ".sql":
        return str(shown)
    return f"derived from the dbt contracts in {shown}"


def schema_script() -> str:
    """The whole DDL as one script, with row-level security switched on for every table.

    Row-level security without policies keeps Supabase's public ``anon`` key from reading or
    writing the tables; the table owner and the ``service_role`` key are not affected.
    """
    specs = load_table_specs()
    parts = []
    for source in dict.fromkeys(spec.source for spec in specs):
        security = "".join(
            f"alter table {spec.name} enable row level security;\n"
            for spec in specs
            if spec.source == source
        )
        parts.append(f"-- {_shown(source)}\n{source_ddl(source).strip()}\n\n{security}")
    return "\n".join(parts)


# --- checks against the warehouse --------------------------------------------------------------


def warehouse_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column name -> DuckDB type of a mart in the warehouse, or None when it is not built."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [WAREHOUSE_SCHEMA, table],
    ).fetchall()
    return dict(rows) if rows else None


def _fix(spec: TableSpec) -> str:
    """How to bring a spec's source and the warehouse back in line."""
    if spec.source.suffix == ".sql":
        return (
            f"make {spec.source.name} match the dbt model's contract (`backtest plugins schema "
            f"{spec.source.parent.name}` regenerates it), or rebuild with `backtest build "
            "--full-refresh`"
        )
    return "rebuild the warehouse with `backtest build --full-refresh` so it matches the contract"


def check_against_warehouse(spec: TableSpec, duckdb_columns: dict[str, str]) -> None:
    """Raise unless the DDL declares exactly the warehouse table's columns, in matching types."""
    declared = {column.name: column for column in spec.columns}
    missing = [name for name in duckdb_columns if name not in declared]
    if missing:
        raise BacktestError(
            f"{spec.source} lacks the column(s) {', '.join(missing)} of the warehouse table "
            f"{spec.name}: {_fix(spec)}."
        )
    extra = [name for name in declared if name not in duckdb_columns]
    if extra:
        raise BacktestError(
            f"{spec.source} declares the column(s) {', '.join(extra)} that the warehouse table "
            f"{spec.name} does not have: {_fix(spec)}."
        )
    for name, duck_type in duckdb_columns.items():
        duck = exp.DataType.build(duck_type, dialect="duckdb").this
        if declared[name].type not in COMPATIBLE_TYPES.get(duck, set()):
            raise BacktestError(
                f"Column {spec.name}.{name} is {duck_type} in the warehouse but "
                f"{declared[name].postgres_type_name} in {spec.source}: {_fix(spec)}."
            )
