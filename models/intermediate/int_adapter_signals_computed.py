"""Signals of the plugins that exist only as per-entry adapters (runs = "adapter").

The generic wrapper (plugins/wrapper.py) runs each such adapter once per pending request
inside this build; with none enabled this model is empty and costs nothing.
"""

import json


def model(dbt, session):
    dbt.config(materialized="table")
    settings_json = dbt.config.get("backtest_plugins_json")  # dbt only sees top-level calls
    settings = json.loads(settings_json or "{}")
    wanted = [
        name
        for name, entry in settings.items()
        if entry.get("enabled", True) and entry.get("runs") == "adapter"
    ]
    requests = dbt.ref("int_requests_pending")
    bars = dbt.ref("int_lookback_bars_selected")
    from plugins.wrapper import run_adapters

    if not wanted:
        return run_adapters({}, requests.limit(0).df(), bars.limit(0).df())
    return run_adapters(settings, requests.df(), bars.df())
