"""bt_aggregated.has_same_bar_extremes equals (bars_to_mfe = bars_to_mae) recomputed from the
real bar file, and a warehouse built before the column existed gains it, in the contract's
place and filled, by migration 004, then builds again."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import yaml

from backtest.core.config import PROJECT_ROOT
from backtest.core.warehouse import connect
from tests.analytics.conftest import LEAN_FILE, read_tables
from tests.fixtures import SHARED_DATA, requests_frame
from tests.reference import expected_forward, expected_status

CONTRACT = yaml.safe_load((PROJECT_ROOT / "models" / "marts" / "_marts.yml").read_text())


def contract_columns(model: str) -> list[str]:
    entry = next(entry for entry in CONTRACT["models"] if entry["name"] == model)
    return [column["name"] for column in entry["columns"]]


def table_columns(con, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'main' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
    ]


def test_the_flag_equals_pandas_on_real_requests(stored, windows):
    index = stored["bt_index"]
    expected = {}
    for request in index.itertuples():
        window = windows[request.uid]
        if expected_status(window) == "no_data":
            expected[request.uid] = None
            continue
        forward = expected_forward(window, request.direction)
        expected[request.uid] = bool(forward["bars_to_mfe"] == forward["bars_to_mae"])
    flags = stored["bt_aggregated"].set_index("uid").has_same_bar_extremes
    got = {uid: (None if pd.isna(flag) else bool(flag)) for uid, flag in flags.items()}
    assert got == expected
    values = list(expected.values())
    assert values.count(True) >= 1 and values.count(False) >= 100 and values.count(None) == 2


def test_an_older_warehouse_gains_the_column_in_place_and_builds_again(
    real_warehouse, settings, run
):
    old = settings.db_path
    shutil.copyfile(real_warehouse, old)
    with duckdb.connect(str(old)) as con:  # as a warehouse built before the column existed
        con.execute("alter table main.bt_aggregated drop column has_same_bar_extremes")
        con.execute("delete from raw.schema_migrations where version = 4")
    with connect(old) as con:  # the first writable open applies the migration
        assert table_columns(con, "bt_aggregated") == contract_columns("bt_aggregated")
    original = read_tables(real_warehouse, "bt_aggregated")["bt_aggregated"]
    migrated = read_tables(old, "bt_aggregated")["bt_aggregated"]
    pd.testing.assert_frame_equal(
        migrated.sort_values("uid").reset_index(drop=True),
        original.sort_values("uid").reset_index(drop=True),
    )

    again = requests_frame(
        ("TWX", "2014-06-23 13:35:00", "LONG"), ("SPY", "2013-10-07 15:43:00", "SHORT")
    )
    run(again, source="files", bars=[SHARED_DATA / LEAN_FILE])
    with duckdb.connect(str(old), read_only=True) as con:
        assert table_columns(con, "bt_aggregated") == contract_columns("bt_aggregated")
        rebuilt = con.execute(
            "select uid, has_same_bar_extremes from bt_aggregated "
            "where uid in ('TWX.062314.1335.L', 'SPY.100713.1543.S') order by uid"
        ).fetchall()
        rebuilt_last = con.execute(
            "select uid from bt_index where updated_at = (select max(updated_at) from bt_index) "
            "order by uid"
        ).fetchall()
    assert rebuilt == [("SPY.100713.1543.S", False), ("TWX.062314.1335.L", True)]
    assert rebuilt_last == [("SPY.100713.1543.S",), ("TWX.062314.1335.L",)]
