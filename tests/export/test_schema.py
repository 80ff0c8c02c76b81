"""The Postgres DDL matches the dbt contracts and the DuckDB marts column by column, with keys."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp

from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from backtest.export import export_tables, load_table_specs
from backtest.export import schema as export_schema
from backtest.export.schema import (
    CORE_CONTRACT,
    check_against_warehouse,
    contract_ddl,
    create_script,
    parse_ddl,
)
from plugins.loader import load_all_plugins

T = exp.DataType.Type
# Written from the contract, independently of backtest/export/schema.py: the DuckDB type of a
# mart column (as DESCRIBE prints it) and the Postgres type its copy must have.
EXPECTED_POSTGRES_TYPE = {
    "VARCHAR": {T.TEXT, T.VARCHAR},
    "INTEGER": {T.INT},
    "BIGINT": {T.BIGINT},
    "DOUBLE": {T.DOUBLE},
    "BOOLEAN": {T.BOOLEAN},
    "TIMESTAMP": {T.TIMESTAMPTZ},
    "JSON": {T.JSONB},
}
EXPECTED_CATALOG_TYPE = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp with time zone",
    "JSON": "jsonb",
}
CORE_KEYS = {
    "bt_index": ("uid",),
    "bt_bars": ("uid", "bar_offset"),
    "bt_signals": ("uid", "calculation"),
    "bt_aggregated": ("uid",),
}
PLUGIN_DDL_FILES = sorted((PROJECT_ROOT / "plugins").glob("*/schema.sql"))


def _ddl_tables() -> dict[str, tuple[Path, exp.Create]]:
    """Every CREATE TABLE of the derived core DDL and of every plugin's schema.sql, read with
    sqlglot (not with the export code's parser)."""
    texts = [(CORE_CONTRACT, contract_ddl(CORE_CONTRACT))]
    texts += [(path, path.read_text()) for path in PLUGIN_DDL_FILES]
    tables = {}
    for path, text in texts:
        for statement in sqlglot.parse(text, read="postgres"):
            if isinstance(statement, exp.Create) and statement.kind == "TABLE":
                tables[statement.this.this.name] = (path, statement)
    return tables


def _contracts() -> dict[str, list[tuple[str, str]]]:
    """Table -> (column, DuckDB data_type) of every exported model's contract, read from YAML."""
    files = [CORE_CONTRACT, *sorted((PROJECT_ROOT / "plugins").glob("*/models/*.yml"))]
    contracts = {}
    for path in files:
        for model in yaml.safe_load(path.read_text()).get("models", []):
            enforced = (model.get("config") or {}).get("contract", {}).get("enforced")
            columns = [
                (column["name"], column.get("data_type")) for column in model.get("columns", [])
            ]
            if model["name"].startswith("bt_") and enforced and ("uid", "varchar") in columns:
                contracts[model["name"]] = columns
    return contracts


def _columns(create: exp.Create) -> list[tuple[str, exp.DataType.Type]]:
    return [
        (item.name, item.kind.this)
        for item in create.this.expressions
        if isinstance(item, exp.ColumnDef)
    ]


def _primary_key(create: exp.Create) -> tuple[str, ...]:
    for item in create.this.expressions:
        if isinstance(item, exp.PrimaryKey):
            return tuple(ident.name for ident in item.expressions)
        if isinstance(item, exp.ColumnDef) and any(
            isinstance(constraint.kind, exp.PrimaryKeyColumnConstraint)
            for constraint in item.args.get("constraints") or []
        ):
            return (item.name,)
    return ()


def _references(create: exp.Create) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    found = []
    for item in create.this.expressions:
        constraints = item.args.get("constraints") or [] if isinstance(item, exp.ColumnDef) else []
        for constraint in constraints:
            if isinstance(constraint.kind, exp.Reference):
                schema = constraint.kind.this
                found.append(
                    ((item.name,), schema.this.name, tuple(i.name for i in schema.expressions))
                )
        if isinstance(item, exp.ForeignKey):
            schema = item.args["reference"].this
            found.append(
                (
                    tuple(i.name for i in item.expressions),
                    schema.this.name,
                    tuple(i.name for i in schema.expressions),
                )
            )
    return found


def _describe(db_path: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return [(row[0], row[1]) for row in con.execute(f"describe main.{table}").fetchall()]


def test_every_ddl_table_matches_its_duckdb_table_column_by_column(base_warehouse):
    tables = _ddl_tables()
    assert set(CORE_KEYS) <= set(tables)
    for name, (path, create) in tables.items():
        duck = _describe(base_warehouse, name)
        ddl = _columns(create)
        assert [column for column, _ in ddl] == [column for column, _ in duck], (
            f"{path}: columns of {name} differ from the DuckDB table"
        )
        for (column, pg_type), (_, duck_type) in zip(ddl, duck, strict=True):
            assert pg_type in EXPECTED_POSTGRES_TYPE[duck_type], (
                f"{name}.{column}: DuckDB {duck_type} but Postgres {pg_type.name} in {path}"
            )


def test_every_contracted_per_request_mart_is_declared_with_the_contract_columns_and_types():
    tables = _ddl_tables()
    contracts = _contracts()
    assert set(CORE_KEYS) <= set(contracts)
    assert set(contracts) == set(tables)
    for name, columns in contracts.items():
        ddl = _columns(tables[name][1])
        assert [column for column, _ in ddl] == [column for column, _ in columns], name
        for (column, pg_type), (_, duck_type) in zip(ddl, columns, strict=True):
            assert pg_type in EXPECTED_POSTGRES_TYPE[duck_type.upper()], f"{name}.{column}"


def test_primary_keys_and_foreign_keys_follow_the_contract():
    tables = _ddl_tables()
    for name, (_, create) in tables.items():
        assert _primary_key(create) == CORE_KEYS.get(name, ("uid",)), name
        references = _references(create)
        if name == "bt_index":
            assert references == []
        else:
            assert (("uid",), "bt_index", ("uid",)) in references, name


def test_every_plugin_ships_the_ddl_of_its_storage_table():
    tables = _ddl_tables()
    for name, plugin in load_all_plugins().items():
        path = PROJECT_ROOT / "plugins" / name / "schema.sql"
        assert path.is_file(), f"plugin {name} has no schema.sql"
        assert tables[plugin.storage_table][0] == path


def test_specs_put_parents_first_and_include_every_plugin_table():
    specs = load_table_specs()
    names = [spec.name for spec in specs]
    assert names[0] == "bt_index"
    assert set(names) == set(_ddl_tables())
    for spec in specs:
        for reference in spec.references:
            assert names.index(reference.parent) < names.index(spec.name)


def test_a_new_plugin_folder_with_schema_sql_is_discovered(tmp_path, monkeypatch):
    for plugin in ("zz_second", "aa_first"):
        folder = tmp_path / plugin
        folder.mkdir()
        (folder / "schema.sql").write_text(
            f"create table if not exists bt_{plugin} (\n"
            f"    uid text primary key references bt_index (uid),\n    score double precision\n);\n"
        )
    monkeypatch.setattr(export_schema, "PLUGINS_DIR", tmp_path)
    names = [spec.name for spec in load_table_specs()]
    assert names == [
        "bt_index",
        "bt_aggregated",
        "bt_bars",
        "bt_signals",
        "bt_aa_first",
        "bt_zz_second",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "drop table bt_index;",
        "create table bt_x (uid text primary key);",
        "create table if not exists bt_x (uid text);",
        "truncate bt_bars;",
    ],
)
def test_ddl_that_could_lose_data_or_lacks_a_key_is_refused(tmp_path, statement):
    path = tmp_path / "schema.sql"
    path.write_text(statement)
    with pytest.raises(BacktestError, match=r"\.$"):
        parse_ddl(path)


def test_a_ddl_drifting_from_the_dbt_model_is_refused_before_export(tmp_path, base_warehouse):
    core = contract_ddl(CORE_CONTRACT)
    drifted = tmp_path / "schema.sql"
    drifted.write_text(core.replace("bar_time timestamptz", "bar_time text"))
    spec = next(spec for spec in parse_ddl(drifted) if spec.name == "bt_bars")
    columns = dict(_describe(base_warehouse, "bt_bars"))
    with pytest.raises(BacktestError, match="bt_bars.bar_time is TIMESTAMP in the warehouse"):
        check_against_warehouse(spec, columns)
    missing = tmp_path / "missing.sql"
    missing.write_text(core.replace("    is_filled boolean,\n", ""))
    spec = next(spec for spec in parse_ddl(missing) if spec.name == "bt_bars")
    with pytest.raises(BacktestError, match="lacks the column"):
        check_against_warehouse(spec, columns)


def test_init_schema_creates_tables_whose_catalog_types_match_duckdb(warehouse, pg, pg_target):
    report = export_tables(warehouse, pg_target, init_schema=True)
    assert sorted(report.created_tables) == sorted(_ddl_tables())
    for name in report.created_tables:
        catalog = pg.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'public' and table_name = %s order by ordinal_position",
            [name],
        ).fetchall()
        duck = _describe(warehouse, name)
        assert [column for column, _ in catalog] == [column for column, _ in duck]
        for (column, pg_type), (_, duck_type) in zip(catalog, duck, strict=True):
            assert pg_type == EXPECTED_CATALOG_TYPE[duck_type], f"{name}.{column}"
        key = pg.execute(
            "select array_agg(a.attname order by k.ord) from pg_index i "
            "cross join unnest(i.indkey) with ordinality as k(attnum, ord) "
            "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum "
            "where i.indrelid = %s::regclass and i.indisprimary",
            [name],
        ).fetchone()[0]
        assert tuple(key) == CORE_KEYS.get(name, ("uid",))
        security = pg.execute(
            "select relrowsecurity from pg_class where oid = %s::regclass", [name]
        ).fetchone()[0]
        assert security is True


def test_derived_ddl_creates_tables_in_postgres_whose_types_match_the_contracts(pg):
    specs = load_table_specs()
    pg.execute(create_script(specs))
    for name, columns in _contracts().items():
        catalog = pg.execute(
            "select column_name, data_type, is_nullable from information_schema.columns "
            "where table_schema = 'public' and table_name = %s order by ordinal_position",
            [name],
        ).fetchall()
        assert [row[0] for row in catalog] == [column for column, _ in columns], name
        for (column, pg_type, nullable), (_, duck_type) in zip(catalog, columns, strict=True):
            assert pg_type == EXPECTED_CATALOG_TYPE[duck_type.upper()], f"{name}.{column}"
            key = CORE_KEYS.get(name, ("uid",))
            assert (nullable == "NO") == (column in key), f"{name}.{column} nullability"
    index = pg.execute(
        "select indexdef from pg_indexes where indexname = 'bt_index_symbol_entry_time'"
    ).fetchone()
    assert index and "(symbol, entry_time)" in index[0]
    pg.execute(create_script(specs))  # if not exists: running it again changes nothing


def test_init_schema_again_keeps_every_row(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    before = {
        name: pg.execute(f"select count(*) from {name}").fetchone()[0] for name in _ddl_tables()
    }
    again = export_tables(warehouse, pg_target, init_schema=True, full=True)
    after = {
        name: pg.execute(f"select count(*) from {name}").fetchone()[0] for name in _ddl_tables()
    }
    assert again.created_tables == []
    assert after == before
    assert before["bt_bars"] == 75 * before["bt_index"] > 0


def test_export_without_tables_asks_for_init_schema(warehouse, pg_target):
    with pytest.raises(BacktestError, match=r"does not exist .*--init-schema"):
        export_tables(warehouse, pg_target)


def test_existing_column_of_the_wrong_type_is_reported(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    pg.execute("alter table bt_bars alter column bar_time type timestamp")
    with pytest.raises(BacktestError, match=r"bt_bars\.bar_time is timestamp .* timestamptz"):
        export_tables(warehouse, pg_target)


def test_init_schema_adds_a_column_an_older_release_lacked_and_fills_it(warehouse, pg, pg_target):
    export_tables(warehouse, pg_target, init_schema=True)
    pg.execute("alter table bt_aggregated drop column has_same_bar_extremes")  # the older layout
    with pytest.raises(
        BacktestError,
        match=r"bt_aggregated .* has no column has_same_bar_extremes: run `backtest export "
        r"--init-schema` once to add it \(or run `alter table bt_aggregated add column "
        r"has_same_bar_extremes boolean`\)",
    ):
        export_tables(warehouse, pg_target)
    report = export_tables(warehouse, pg_target, init_schema=True)
    assert report.created_tables == []
    assert report.added_columns == ["bt_aggregated.has_same_bar_extremes"]
    assert "Added columns: bt_aggregated.has_same_bar_extremes." in report.summary()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        local = con.execute(
            "select uid, has_same_bar_extremes from bt_aggregated order by uid"
        ).fetchall()
    replica = pg.execute("select uid, has_same_bar_extremes from bt_aggregated order by uid")
    assert replica.fetchall() == local and len(local) > 0
    upserted = {table.table: table.upserted for table in report.tables}
    assert upserted["bt_aggregated"] == len(local) and upserted["bt_bars"] == 0
