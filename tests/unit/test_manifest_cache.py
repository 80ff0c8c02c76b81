"""The parsed manifest is kept per key (issue 12, 2b): a build gets a fresh copy without parsing as
long as the project's files, the vars, the warehouse's database name and the environment the
project read are the same; any of them changing parses again. A fake ``dbt parse`` counts the
parses; the manifests are real (empty) dbt manifests."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from dbt.contracts.graph.manifest import Manifest

from backtest.build import manifest as cache
from backtest.build.dbt import parse_arguments


@pytest.fixture
def parses(tmp_path, monkeypatch):
    """A fake ``dbt parse`` recording its calls; memory cleared, disk in a fresh folder."""
    monkeypatch.setenv("BACKTEST_DB", str(tmp_path / "one" / "warehouse.duckdb"))
    cache.forget()
    calls = []

    def parse(args):
        calls.append(args)
        return SimpleNamespace(success=True, result=Manifest(env_vars=dict(parse.env_vars)))

    parse.env_vars = {}
    parse.calls = calls
    yield parse
    cache.forget()


def get(parse, tmp_path, plugins=None):
    manifest, failed, key = cache.parsed_manifest(
        parse_arguments(plugins), tmp_path / "target", parse
    )
    assert failed is None
    return manifest, key


def test_one_parse_per_key_and_a_fresh_copy_for_every_build(parses, tmp_path):
    first, key = get(parses, tmp_path)
    second, same_key = get(parses, tmp_path)
    assert len(parses.calls) == 1 and key == same_key
    assert isinstance(second, Manifest) and second is not first
    second.nodes["model.backtest.x"] = "compiled state of a build"
    assert get(parses, tmp_path)[0].nodes == {}  # what a build did to its copy stays there


def test_a_new_process_reads_the_manifest_from_the_target_folder(parses, tmp_path):
    get(parses, tmp_path)
    cache.forget()  # as a new process
    before = cache.STATS.from_disk
    get(parses, tmp_path)
    assert len(parses.calls) == 1 and cache.STATS.from_disk == before + 1
    assert len(list((tmp_path / "target").glob("backtest_manifest_*.pickle"))) == 1


def test_other_vars_or_another_database_name_parse_again(parses, tmp_path, monkeypatch):
    get(parses, tmp_path)
    get(parses, tmp_path, {"m1_ema": {"enabled": False}})
    assert len(parses.calls) == 2
    monkeypatch.setenv("BACKTEST_DB", str(tmp_path / "two" / "warehouse.duckdb"))
    get(parses, tmp_path)  # another folder, same file name: the same relations
    assert len(parses.calls) == 2
    monkeypatch.setenv("BACKTEST_DB", str(tmp_path / "two" / "other.duckdb"))
    get(parses, tmp_path)
    assert len(parses.calls) == 3


def test_an_environment_variable_the_project_read_parses_again_when_it_changes(
    parses, tmp_path, monkeypatch
):
    monkeypatch.setenv("BACKTEST_TEST_SETTING", "1")
    parses.env_vars = {"BACKTEST_TEST_SETTING": "1"}
    get(parses, tmp_path)
    get(parses, tmp_path)
    monkeypatch.setenv("BACKTEST_TEST_SETTING", "2")
    get(parses, tmp_path)
    assert len(parses.calls) == 2


def test_a_failed_parse_is_returned_and_not_kept(parses, tmp_path):
    failed = SimpleNamespace(success=False, result=None)
    manifest, outcome, _ = cache.parsed_manifest(
        parse_arguments(), tmp_path / "target", lambda args: failed
    )
    assert manifest is None and outcome is failed
    get(parses, tmp_path)
    assert len(parses.calls) == 1


def test_the_fingerprint_follows_every_file_dbt_may_parse(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: p\nmodel-paths: [models, plugins]\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "plugins" / "a" / "models").mkdir(parents=True)
    model = tmp_path / "plugins" / "a" / "models" / "x.sql"
    model.write_text("select 1")
    before = cache.project_fingerprint(tmp_path)
    assert cache.project_fingerprint(tmp_path) == before
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    touched = cache.project_fingerprint(tmp_path)
    (tmp_path / "models" / "y.yml").write_text("version: 2\n")
    assert len({before, touched, cache.project_fingerprint(tmp_path)}) == 3


def test_a_damaged_file_in_the_target_folder_is_parsed_again(parses, tmp_path):
    get(parses, tmp_path)
    cache.forget()
    for stored in (tmp_path / "target").glob("backtest_manifest_*.pickle"):
        stored.write_bytes(b"not a pickle")
    manifest, _ = get(parses, tmp_path)
    assert isinstance(manifest, Manifest) and len(parses.calls) == 2
