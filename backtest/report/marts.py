"""The dbt marts' own SQL, run on a selection: ``bt_event_path`` and ``bt_signal_performance``.

Why this module exists: the report's average path, hit rates, baseline and rank IC must be the
marts' numbers, and their SQL must be written once. The marts in the warehouse cover every
stored request, but a report covers a selection (``--where``), and dbt cannot build into a
read-only warehouse. So the report renders the model files themselves with plain jinja2 and runs
the result in DuckDB over the selection's temporary views:

* ``ref(name)`` becomes the selection's view of that mart (``report_bt_index``, ...);
* ``config(...)`` renders nothing;
* ``var(name)`` is the value in dbt_project.yml's ``vars`` (what dbt reads too).

That is all the Jinja those two models may use (they ref only bt_index, bt_aggregated, bt_bars
and bt_signals); anything else fails the render loudly instead of silently drifting from dbt.

>>> sql = render_mart("bt_signal_performance", selection_relations("report_"))
>>> "report_bt_aggregated" in sql and "{{" not in sql
True
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import duckdb
import jinja2
import pandas as pd

from backtest.core.config import PROJECT_ROOT, project_vars

MARTS_DIR = PROJECT_ROOT / "models" / "marts"
REFERABLE = ("bt_index", "bt_aggregated", "bt_bars", "bt_signals")
"""The marts a rendered model may ``ref``: the selection has a view of each."""


def selection_relations(prefix: str) -> dict[str, str]:
    """The relation each referable mart stands for in a selection: ``prefix`` + its name."""
    return {name: f"{prefix}{name}" for name in REFERABLE}


@cache
def _template(name: str) -> jinja2.Template:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string((MARTS_DIR / f"{name}.sql").read_text())


def render_mart(name: str, relations: Mapping[str, str]) -> str:
    """The SQL of ``models/marts/<name>.sql`` with its refs pointing at ``relations``.

    Raises:
        LookupError: the model refs a mart that ``relations`` does not map.
        jinja2.UndefinedError: the model uses Jinja beyond ``ref``, ``config`` and ``var``.
    """
    variables = project_vars()

    def ref(model: str) -> str:
        if model not in relations:
            raise LookupError(f"models/marts/{name}.sql refs {model}, which a report cannot map")
        return relations[model]

    def var(key: str, default: object = None) -> object:
        if key not in variables and default is None:
            raise LookupError(f"models/marts/{name}.sql reads var('{key}'), not in dbt_project.yml")
        return variables.get(key, default)

    return _template(name).render(ref=ref, config=lambda *args, **kwargs: "", var=var)


def query_mart(
    con: duckdb.DuckDBPyConnection, name: str, relations: Mapping[str, str], **equal: object
) -> pd.DataFrame:
    """The rows of mart ``name`` computed over ``relations`` (one small frame), only those whose
    columns equal the ``equal`` values when given."""
    sql = render_mart(name, relations)
    if not equal:
        return con.execute(sql).df()
    condition = " and ".join(f"{column} = ${column}" for column in equal)
    return con.execute(f"select * from ({sql}) where {condition}", equal).df()
