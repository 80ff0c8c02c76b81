"""The REST transport: the real supabase client against the PostgREST stand-in and real Postgres."""

from __future__ import annotations

import math
import socket

import duckdb
import pytest

from backtest.cli import main
from backtest.core.errors import BacktestError
from backtest.export import ExportTarget, export_tables, schema_script
from tests.conftest import requests_frame
from tests.export.conftest import API_KEY
from tests.export.replica import (
    assert_replica,
    assert_state_matches_target,
    delivered_keys,
    spec_named,
    warehouse_fingerprint,
    warehouse_rows,
)


@pytest.fixture
def rest_schema(pg) -> None:
    """The tables, created as a Supabase user would: the printed DDL run in the SQL editor."""
    pg.execute(schema_script())


def _rest(standin, batch_size: int = 100, key: str = API_KEY) -> ExportTarget:
    return ExportTarget("rest", rest_url=standin.url, rest_key=key, batch_size=batch_size)


def test_rest_export_upserts_with_on_conflict_in_batches_and_replicates(
    warehouse, pg, standin, rest_schema
):
    report = export_tables(warehouse, _rest(standin, batch_size=100))

    counts = assert_replica(warehouse, pg)
    assert report.upserted == sum(counts.values())
    posts = standin.writes("bt_bars")
    assert len(posts) == math.ceil(counts["bt_bars"] / 100)
    assert [request.rows for request in posts] == [100, 100, 100]
    for request in posts:
        assert request.method == "POST"
        assert request.params["on_conflict"] == "uid,bar_offset"
        assert "resolution=merge-duplicates" in request.prefer
    assert standin.writes("bt_signals")[0].params["on_conflict"] == "uid,calculation"
    assert [request.table for request in standin.writes()][0] == "bt_index"

    standin.requests.clear()
    again = export_tables(warehouse, _rest(standin))
    assert again.changed == 0
    assert standin.writes() == []
    assert_replica(warehouse, pg)


def test_rest_export_sends_only_a_changed_request(warehouse, pg, standin, rest_schema, run):
    export_tables(warehouse, _rest(standin))
    before = warehouse_rows(warehouse, spec_named("bt_index"))
    run(requests_frame(("MSFT", "2024-06-27 14:15:00", "SHORT")), lookback_hours=3.0)
    changed = set(warehouse_rows(warehouse, spec_named("bt_index"))) - set(before)
    standin.requests.clear()

    report = {table.table: table for table in export_tables(warehouse, _rest(standin)).tables}

    assert report["bt_index"].upserted == len(changed) == 1
    assert_replica(warehouse, pg)
    assert all(request.rows <= 100 for request in standin.writes())


def test_rest_export_deletes_rows_gone_from_the_warehouse(warehouse, pg, standin, rest_schema):
    export_tables(warehouse, _rest(standin))
    uid, calculation = warehouse_rows(warehouse, spec_named("bt_signals"))[0][:2]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from main.bt_signals where uid = ? and calculation = ?", [uid, calculation]
        )
    standin.requests.clear()

    report = export_tables(warehouse, _rest(standin))

    assert report.deleted == 1 and report.upserted == 0
    (request,) = standin.writes()
    assert request.method == "DELETE"
    assert request.params == {"uid": f"eq.{uid}", "calculation": f"in.({calculation})"}
    assert_replica(warehouse, pg)


def _rest_export(warehouse, url: str, key: str) -> int:
    flags = ["--transport", "rest", "--supabase-url", url, "--supabase-key", key]
    return main(["export", "--db", str(warehouse), *flags])


def test_wrong_key_fails_in_one_sentence(warehouse, standin, rest_schema, capsys):
    before = warehouse_fingerprint(warehouse)

    code = _rest_export(warehouse, standin.url, "wrong-key")

    assert code != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "rejected the API key" in line
    assert warehouse_fingerprint(warehouse) == before
    assert delivered_keys(warehouse, "bt_index") == 0


def test_unreachable_rest_api_fails_in_one_sentence(warehouse, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    code = _rest_export(warehouse, url, API_KEY)

    assert code != 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "Cannot reach the Supabase REST API" in line and line.endswith(".")


def test_missing_tables_point_to_the_printed_schema(warehouse, standin):
    with pytest.raises(BacktestError, match="--print-schema"):
        export_tables(warehouse, _rest(standin))
    with pytest.raises(BacktestError, match="cannot be created over the REST API"):
        export_tables(warehouse, _rest(standin), init_schema=True)


def test_rest_rejected_batch_then_resume(warehouse, pg, standin, rest_schema):
    pg.execute("alter table bt_bars add constraint positive_volume check (volume > 1e12)")
    with pytest.raises(
        BacktestError, match=r"rejected upsert batch 1 of bt_bars .*positive_volume"
    ):
        export_tables(warehouse, _rest(standin))
    assert delivered_keys(warehouse, "bt_index") == 4
    assert delivered_keys(warehouse, "bt_bars") == 0
    assert pg.execute("select count(*) from bt_bars").fetchone()[0] == 0

    pg.execute("alter table bt_bars drop constraint positive_volume")
    standin.requests.clear()
    resumed = {table.table: table for table in export_tables(warehouse, _rest(standin)).tables}

    assert resumed["bt_index"].upserted == 0
    assert resumed["bt_bars"].upserted == 300
    assert_replica(warehouse, pg)


def test_rest_connection_lost_half_way_then_resume(warehouse, pg, standin, rest_schema):
    # Writes: bt_index, bt_aggregated, then bt_bars in batches of 100; the server hangs up on
    # the second bt_bars request after rolling it back.
    standin.drop_write = 4
    with pytest.raises(BacktestError) as failure:
        export_tables(warehouse, _rest(standin))

    assert "was lost during upsert batch 2 of bt_bars" in str(failure.value)
    assert assert_state_matches_target(warehouse, pg, "bt_bars") == 100

    standin.drop_write = None
    resumed = {table.table: table for table in export_tables(warehouse, _rest(standin)).tables}

    assert resumed["bt_bars"].upserted == 200
    assert resumed["bt_index"].upserted == resumed["bt_aggregated"].upserted == 0
    assert_replica(warehouse, pg)
