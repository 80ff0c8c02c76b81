"""``backtest plugins list`` and ``backtest plugins new NAME``."""

from __future__ import annotations

import argparse

from backtest._table import format_table


def add_plugin_parsers(commands) -> None:
    plugins = commands.add_parser(
        "plugins",
        help="list the calculation plugins or scaffold a new one",
        description="Calculation plugins are folders under plugins/ (see the README).",
    )
    actions = plugins.add_subparsers(dest="plugins_command", required=True, metavar="ACTION")
    actions.add_parser(
        "list",
        help="name, version, points, data requirements and whether each is enabled",
        description="Every discovered plugin, validated, with its settings from dbt_project.yml.",
    )
    new = actions.add_parser(
        "new",
        help="create plugins/NAME with a working example calculation",
        description="Scaffold plugins/NAME (plugin.py, adapter.py, models/ with YAML and "
        "contract, schema.sql, README.md, tests/) and enable it in dbt_project.yml. It builds "
        "and passes its tests as generated.",
    )
    new.add_argument("name", help="lower_snake_case plugin name, e.g. my_signal")


def cmd_plugins(args: argparse.Namespace) -> int:
    from plugins.loader import plugin_infos

    if args.plugins_command == "new":
        from backtest.scaffold import new_plugin

        folder = new_plugin(args.name)
        print(f"Created {folder} and enabled it in dbt_project.yml.")
        print(
            f"Try: backtest run --symbol AAPL --entry-time '2024-06-27 15:00' "
            f"--direction LONG --calculation {args.name}; pytest plugins/{args.name}"
        )
        return 0
    rows = []
    for info in plugin_infos():
        needs = info.requirements
        data = ", ".join(
            ["bars"]
            + (["trades"] if needs.needs_trades else [])
            + (["quotes"] if needs.needs_quotes else [])
        )
        rows.append(
            [
                info.name,
                info.plugin_class.version,
                info.runs,
                info.points,
                "yes" if info.enabled else "no",
                needs.lookback_minutes,
                data,
            ]
        )
    print(
        format_table(
            ["plugin", "version", "runs", "points", "enabled", "lookback min", "data"],
            rows,
            digits=1,
        )
    )
    return 0


PLUGIN_COMMANDS = {"plugins": cmd_plugins}
