"""``backtest plugins list``, ``backtest plugins new NAME`` and ``backtest plugins schema``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backtest.core.config import PROJECT_ROOT
from backtest.core.tables import format_table


def add_parsers(commands) -> None:
    """Add ``plugins list``, ``plugins new`` and ``plugins schema``."""
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
    schema = actions.add_parser(
        "schema",
        help="generate each plugin's schema.sql from its dbt contract (or --check it)",
        description="Write plugins/NAME/schema.sql, the Postgres DDL of the plugin's bt_NAME "
        "table for the Supabase export, generated from the model's enforced contract in "
        "plugins/NAME/models/*.yml (sqlglot translates the types). Without NAME: every plugin.",
    )
    schema.add_argument("names", nargs="*", metavar="NAME", help="plugin folder name(s)")
    schema.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming every schema.sql that differs from its contract",
    )


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)


def cmd_plugins_schema(args: argparse.Namespace) -> int:
    """Write (or with ``--check`` compare) every plugin's schema.sql generated from its contract."""
    from backtest.export.schema import plugin_schemas

    generated = plugin_schemas(args.names)
    stale = [
        path for path, text in generated.items() if not path.is_file() or path.read_text() != text
    ]
    if args.check:
        if stale:
            names = " ".join(path.parent.name for path in stale)
            files = ", ".join(_shown(path) for path in stale)
            print(
                f"error: {len(stale)} schema.sql file(s) differ from their dbt contracts "
                f"({files}): run `backtest plugins schema {names}`.",
                file=sys.stderr,
            )
            return 1
        print(f"{len(generated)} schema.sql file(s) match their dbt contracts.")
        return 0
    for path in stale:
        path.write_text(generated[path])
        print(f"Wrote {_shown(path)}.")
    print(
        f"{len(stale)} schema.sql file(s) written, {len(generated) - len(stale)} already current."
    )
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from plugins.loader import plugin_infos

    if args.plugins_command == "schema":
        return cmd_plugins_schema(args)
    if args.plugins_command == "new":
        from plugins.scaffold import new_plugin

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


COMMANDS = {"plugins": cmd_plugins}
