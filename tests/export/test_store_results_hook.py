"""The export calls a plugin's own store_results (the seed's per-plugin Supabase hook)."""

from __future__ import annotations

import asyncio

import pandas as pd
import psycopg
import pytest

from backtest.api import BacktestConfig, BacktestEngine
from backtest.core.errors import BacktestError
from backtest.export import export_tables
from plugins.loader import store_hooks
from plugins.m1_ema.plugin import M1EmaPlugin
from tests.export.conftest import BASE_REQUESTS
from tests.fixtures import requests_frame

HOOK_TABLE = "m1_ema_own_store"


class Hook:
    """A store_results that writes the plugin's calls into its own table, idempotently."""

    def __init__(self) -> None:
        self.calls: list[pd.DataFrame] = []
        self.fail = False

    def __call__(self, plugin: M1EmaPlugin, client, results: pd.DataFrame) -> None:
        assert isinstance(plugin, M1EmaPlugin) and isinstance(client, psycopg.Connection)
        self.calls.append(results)
        if self.fail:
            raise RuntimeError("the plugin's own table is locked")
        with client.cursor() as cursor:
            cursor.executemany(
                f"insert into {HOOK_TABLE} values (%s, %s) "
                "on conflict (uid) do update set direction = excluded.direction",
                list(zip(results.uid, results.direction, strict=True)),
            )


@pytest.fixture
def hook(monkeypatch, pg) -> Hook:
    pg.execute(f"create table {HOOK_TABLE} (uid text primary key, direction text)")
    recorder = Hook()

    def store_results(self, client, results):
        recorder(self, client, results)

    monkeypatch.setattr(M1EmaPlugin, "store_results", store_results)
    return recorder


def test_only_overridden_hooks_are_called():
    assert store_hooks() == {}


def test_the_export_calls_the_plugin_hook_with_its_delivered_rows(
    hook, warehouse, pg_target, pg, run
):
    assert list(store_hooks()) == ["m1_ema"]
    export_tables(warehouse, pg_target, init_schema=True, store_hooks=store_hooks())
    assert len(hook.calls) == 1
    delivered = hook.calls[0]
    assert (delivered.calculation == "m1_ema").all()
    assert len(delivered) == len(BASE_REQUESTS)
    assert {"uid", "direction", "strength", "confidence", "metadata", "status"} <= set(delivered)
    stored = dict(pg.execute(f"select uid, direction from {HOOK_TABLE}").fetchall())
    assert stored == dict(zip(delivered.uid, delivered.direction, strict=True))

    export_tables(warehouse, pg_target, store_hooks=store_hooks())
    assert len(hook.calls) == 1  # nothing changed, nothing handed to the hook

    run(requests_frame(("SPY", "2024-06-27 15:30:00", "LONG")), calculation="m1_ema")
    hook.fail = True
    with pytest.raises(BacktestError, match="Plugin m1_ema's store_results failed on upsert"):
        export_tables(warehouse, pg_target, store_hooks=store_hooks())
    assert "SPY.062724.1530.L" not in dict(pg.execute(f"select uid, 1 from {HOOK_TABLE}"))
    hook.fail = False
    export_tables(warehouse, pg_target, store_hooks=store_hooks())  # the batch is sent again
    assert hook.calls[-1].uid.tolist() == ["SPY.062724.1530.L"]
    stored = dict(pg.execute(f"select uid, direction from {HOOK_TABLE}").fetchall())
    assert len(stored) == len(BASE_REQUESTS) + 1


def test_store_to_supabase_calls_the_hooks(hook, warehouse, pg_target, pg_url, monkeypatch):
    export_tables(warehouse, pg_target, init_schema=True)  # target tables exist, no hook yet
    monkeypatch.setenv("SUPABASE_DB_URL", pg_url)
    config = BacktestConfig(
        symbol="NVDA",
        entry_time="2024-06-27 15:45:00",
        direction="SHORT",
        enabled_calculations=["m1_ema"],
        store_to_supabase=True,
    )
    result = asyncio.run(BacktestEngine(warehouse).run_backtest(config))
    assert "export_error" not in result
    handed = pd.concat(hook.calls)
    assert "NVDA.062724.1545.S" in handed.uid.tolist()
