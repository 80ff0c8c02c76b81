"""Each plugin's schema.sql is what `backtest plugins schema` generates from its dbt contract."""

from __future__ import annotations

import shutil

import pytest

from backtest.cli import main
from backtest.core.config import PROJECT_ROOT
from backtest.core.errors import BacktestError
from backtest.export import schema as export_schema
from backtest.export.schema import parse_ddl, plugin_schema, plugin_schemas
from plugins.loader import load_all_plugins
from plugins.scaffold import new_plugin

PLUGINS = PROJECT_ROOT / "plugins"


def test_every_plugin_schema_sql_equals_the_ddl_its_contract_generates():
    generated = plugin_schemas()
    assert {path.parent.name for path in generated} >= set(load_all_plugins())
    for path, text in generated.items():
        assert path.is_file(), f"{path} is missing: run `backtest plugins schema`"
        assert path.read_text() == text, (
            f"{path} differs from its dbt contract: run `backtest plugins schema "
            f"{path.parent.name}`"
        )
    assert sorted(generated) == sorted(PLUGINS.glob("*/schema.sql"))


def test_the_generated_file_names_its_command_and_contract():
    text = (PLUGINS / "m1_ema" / "schema.sql").read_text()
    assert text.startswith(
        "-- Generated from the dbt contract in plugins/m1_ema/models/_m1_ema.yml\n"
        "-- by `backtest plugins schema m1_ema`.\n"
    )
    (spec,) = parse_ddl(PLUGINS / "m1_ema" / "schema.sql")
    assert spec.name == "bt_m1_ema" and spec.key == ("uid",)


@pytest.fixture
def plugin_copy(tmp_path, monkeypatch):
    """plugins/m1_ema copied into a scratch plugins folder that the export code reads."""
    shutil.copytree(PLUGINS / "m1_ema", tmp_path / "m1_ema", ignore=shutil.ignore_patterns("tests"))
    monkeypatch.setattr(export_schema, "PLUGINS_DIR", tmp_path)
    return tmp_path / "m1_ema"


def test_a_contract_change_makes_the_check_fail_until_regenerated(plugin_copy, capsys):
    contract = plugin_copy / "models" / "_m1_ema.yml"
    contract.write_text(
        contract.read_text().replace(
            "      - {name: status, data_type: varchar}",
            "      - {name: ema_50, data_type: double}\n      - {name: status, data_type: varchar}",
        )
    )
    assert main(["plugins", "schema", "--check"]) == 1
    error = capsys.readouterr().err
    assert "m1_ema/schema.sql" in error and "backtest plugins schema m1_ema" in error
    assert main(["plugins", "schema", "m1_ema"]) == 0
    assert "ema_50 double precision," in (plugin_copy / "schema.sql").read_text()
    assert main(["plugins", "schema", "--check"]) == 0
    assert "1 schema.sql file(s) match" in capsys.readouterr().out


def test_the_scaffold_template_is_what_the_command_generates(tmp_path):
    project_file = tmp_path / "dbt_project.yml"
    shutil.copy(PROJECT_ROOT / "dbt_project.yml", project_file)
    folder = new_plugin("close_vs_mean", plugins_dir=tmp_path, project_file=project_file)
    assert (folder / "schema.sql").read_text() == plugin_schema(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("{name: bars_used, data_type: integer", "{name: bars_used, data_type: hugeint"),
            "bt_m1_ema.bars_used .* has type hugeint, which the export does not handle",
        ),
        (("          - unique\n", ""), "declares no key"),
        (("{name: ema_9, data_type: double, ", "{name: ema_9, "), "ema_9 .* has no data_type"),
    ],
)
def test_a_contract_the_export_cannot_translate_is_refused(plugin_copy, change, message):
    contract = plugin_copy / "models" / "_m1_ema.yml"
    assert change[0] in contract.read_text()
    contract.write_text(contract.read_text().replace(*change))
    with pytest.raises(BacktestError, match=message):
        plugin_schema(plugin_copy)


def test_an_unknown_plugin_name_is_one_sentence(capsys):
    assert main(["plugins", "schema", "no_such_plugin"]) == 2
    assert "There is no plugin folder" in capsys.readouterr().err
