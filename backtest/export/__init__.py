"""Export of the warehouse's bt_* tables to Supabase (Postgres or the REST API).

>>> from backtest.export import ExportTarget
>>> ExportTarget("rest", rest_url="https://abcd.supabase.co", rest_key="key").identity
'rest:https://abcd.supabase.co'
"""

from __future__ import annotations

from backtest.export.auto import AutoExporter, auto_export
from backtest.export.exporter import BatchDone, ExportReport, TableReport, export_tables
from backtest.export.schema import TableSpec, load_table_specs, schema_script
from backtest.export.target import ExportTarget

__all__ = [
    "AutoExporter",
    "BatchDone",
    "ExportReport",
    "ExportTarget",
    "TableReport",
    "TableSpec",
    "auto_export",
    "export_tables",
    "load_table_specs",
    "schema_script",
]
