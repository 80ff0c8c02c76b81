"""Signals of the plugins that exist only as per-entry adapters (runs = "adapter").

The generic wrapper (plugins/wrapper.py) runs each such adapter once per pending request
inside this build, with the trades and quotes of the requests' symbols when an adapter needs
them; with none enabled this model is empty and costs nothing.
"""

import json


def model(dbt, session):
    dbt.config(materialized="table")
    settings_json = dbt.config.get("backtest_plugins_json")  # dbt only sees top-level calls
    settings = json.loads(settings_json or "{}")
    from plugins.loader import adapter_plugin_names, combined_requirements
    from plugins.wrapper import run_adapters

    wanted = adapter_plugin_names(settings)
    requests = dbt.ref("int_requests_pending")
    bars = dbt.ref("int_lookback_bars_selected")

    if not wanted:
        return run_adapters({}, requests.limit(0).df(), bars.limit(0).df())
    needs = combined_requirements({name: settings[name] for name in wanted})
    pending = requests.df()
    symbols = ", ".join("'" + symbol.replace("'", "''") + "'" for symbol in pending.symbol.unique())
    in_symbols = f"symbol in ({symbols or 'null'})"
    # tables keep no insertion order (profiles.yml): each adapter gets its rows in time order
    trades = quotes = None
    if needs.needs_trades:
        trades = dbt.ref("stg_raw__trades").filter(in_symbols).order("trade_time").df()
    if needs.needs_quotes:
        quotes = dbt.ref("stg_raw__quotes").filter(in_symbols).order("quote_time").df()
    return run_adapters(settings, pending, bars.order("uid, bar_index").df(), trades, quotes)
