"""Views a pipeline build keeps as they are instead of re-creating them.

A view holds no data: it is its SQL, which depends only on what dbt parsed (the manifest's key,
``backtest.build.manifest``). After a build succeeds, each view model's relation gets a comment
naming that key; the next pipeline build on the same key leaves the views that still carry it
out of its selection, so a single request does not pay for re-creating them. Whatever re-creates
a view (a build on another version of the project, a plain ``dbt build``) drops the comment with
the old object, and the next build makes that view again. A view whose comment is someone
else's (dbt's ``persist_docs``) is never marked, so it is always rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

MARK_PREFIX = "backtest build "


def view_models(manifest) -> dict[str, tuple[str, str]]:
    """The enabled view models of ``manifest``: name -> (schema, relation name in it)."""
    return {
        node.name: (node.schema, node.alias or node.name)
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.config.materialized == "view"
    }


def _comments(con: duckdb.DuckDBPyConnection, views: dict[str, tuple[str, str]]) -> dict:
    rows = con.execute(
        """
        select schema_name, view_name, comment from duckdb_views()
        where database_name = current_database() and not internal
        """
    ).fetchall()
    present = {(schema, name): comment for schema, name, comment in rows}
    return {model: present[relation] for model, relation in views.items() if relation in present}


def kept_views(
    con: duckdb.DuckDBPyConnection, views: dict[str, tuple[str, str]], key: str
) -> list[str]:
    """The view models whose relation a build on the manifest ``key`` made (and nothing since)."""
    mark = MARK_PREFIX + key
    return sorted(model for model, comment in _comments(con, views).items() if comment == mark)


def mark_views(
    con: duckdb.DuckDBPyConnection, views: dict[str, tuple[str, str]], key: str
) -> Iterable[str]:
    """Mark the view models' relations as made on the manifest ``key``; return those marked."""
    marked = []
    for model, comment in _comments(con, views).items():
        if comment and not comment.startswith(MARK_PREFIX):
            continue
        relation = ".".join('"' + part.replace('"', '""') + '"' for part in views[model])
        con.execute(f"comment on view {relation} is '{MARK_PREFIX}{key}'")
        marked.append(model)
    return marked
