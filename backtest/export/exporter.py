"""One export: stage what changed in the warehouse, deliver it batch by batch, record it.

The order is fixed by the foreign keys: deletions child tables first, then upserts parent
tables first (``bt_index`` before everything that references it). A batch is recorded as
delivered only after the target committed it, so after any failure the state holds exactly
the delivered rows and the next export sends the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from backtest.core.errors import BacktestError
from backtest.core.text import plural
from backtest.core.warehouse import connect
from backtest.export.schema import (
    CORE_CONTRACT,
    WAREHOUSE_SCHEMA,
    TableSpec,
    check_against_warehouse,
    load_table_specs,
    warehouse_columns,
)
from backtest.export.state import Changes, ExportState
from backtest.export.target import ExportTarget
from backtest.export.transport import DeliveryError, Transport


@dataclass(frozen=True)
class BatchDone:
    """Progress: one batch committed at the target and recorded in the warehouse.

    Before a table's first batch of an operation there is one event with ``batch`` 0 and
    ``done`` 0 (the table's delivery starts now: ``total`` rows to send)."""

    table: str
    operation: str
    batch: int
    rows: int
    done: int
    total: int


@dataclass(frozen=True)
class TableReport:
    """What one export did to one table."""

    table: str
    upserted: int = 0
    deleted: int = 0
    held_back: int = 0
    batches: int = 0
    skipped: str | None = None

    @property
    def changed(self) -> int:
        return self.upserted + self.deleted


@dataclass(frozen=True)
class ExportReport:
    """What one export did."""

    target: str
    transport: str
    tables: list[TableReport]
    seconds: float
    created_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)

    @property
    def upserted(self) -> int:
        return sum(table.upserted for table in self.tables)

    @property
    def deleted(self) -> int:
        return sum(table.deleted for table in self.tables)

    @property
    def changed(self) -> int:
        return self.upserted + self.deleted

    @property
    def rows_per_second(self) -> float:
        return self.changed / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """Lines for the terminal: one per table, then the totals.

        >>> report = ExportReport("postgres://u@h:5432/db", "postgres",
        ...                       [TableReport("bt_index", upserted=2, batches=1)], 0.5)
        >>> print(report.summary())
        bt_index: 2 upserted, 0 deleted in 1 batch
        Exported 2 changed rows to postgres://u@h:5432/db (postgres) in 0.5 s (4 rows/s).
        """
        lines = []
        for table in self.tables:
            if table.skipped:
                lines.append(f"{table.table}: skipped ({table.skipped})")
                continue
            counts = f"{table.upserted:,} upserted, {table.deleted:,} deleted"
            line = f"{table.table}: {counts} in {plural(table.batches, 'batch', 'batches')}"
            if table.held_back:
                line += f"; {table.held_back:,} held back until their request is fully built"
            lines.append(line)
        if self.created_tables:
            lines.append(f"Created tables: {', '.join(self.created_tables)}.")
        if self.added_columns:
            lines.append(f"Added columns: {', '.join(self.added_columns)}.")
        lines.append(
            f"Exported {plural(self.changed, 'changed row')} to {self.target} "
            f"({self.transport}) in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)."
        )
        return "\n".join(lines)


Progress = Callable[[BatchDone], None]
StoreHook = Callable[[Any, pd.DataFrame], None]
"""A plugin's own ``store_results(client, results)``: called with the export's open client
and the plugin's rows of each delivered ``bt_signals`` batch."""
SIGNALS_TABLE = "bt_signals"


class StoreHookError(Exception):
    """A plugin's ``store_results`` raised; the batch it was given is not recorded."""

    def __init__(self, plugin: str, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.plugin = plugin


def _client(transport: Transport) -> Any:
    """What a plugin's hook stores with: the Supabase client (REST) or the psycopg connection."""
    return getattr(transport, "client", None) or getattr(transport, "conn", None)


def _exported_specs(con, specs: list[TableSpec]) -> tuple[list[TableSpec], list[TableReport]]:
    """The specs whose marts are built (checked column by column) and reports for the rest.

    Only per-request tables (with a ``uid``) are exported or reported as skipped; a ``bt_*``
    summary without one (``bt_signal_performance``, ``bt_event_path``) is derived from them and
    not replicated.
    """
    ready, skipped = [], []
    for spec in specs:
        columns = warehouse_columns(con, spec.name)
        if columns is None:
            if spec.source == CORE_CONTRACT:
                raise BacktestError(
                    f"The warehouse has no {spec.name} table yet: run `backtest run` (or "
                    "`backtest build`) before exporting."
                )
            skipped.append(TableReport(spec.name, skipped="not built in this warehouse"))
            continue
        check_against_warehouse(spec, columns)
        ready.append(spec)
    declared = {spec.name for spec in specs}
    per_request = con.execute(
        "select table_name from information_schema.columns where table_schema = ? "
        "and column_name = 'uid' and table_name like 'bt\\_%' escape '\\' order by table_name",
        [WAREHOUSE_SCHEMA],
    ).fetchall()
    skipped += [
        TableReport(name, skipped="no schema.sql declares it")
        for (name,) in per_request
        if name not in declared
    ]
    return ready, skipped


class _Delivery:
    """Sends the staged changes of one export and keeps the running counts for messages."""

    def __init__(
        self,
        state: ExportState,
        transport: Transport,
        rows_per_batch: int,
        progress: Progress | None,
        store_hooks: Mapping[str, StoreHook] | None = None,
    ) -> None:
        self.state = state
        self.transport = transport
        self.rows_per_batch = rows_per_batch
        self.progress = progress
        self.store_hooks = dict(store_hooks or {})
        self.upserted: dict[str, int] = {}
        self.deleted: dict[str, int] = {}
        self.batches: dict[str, int] = {}

    @property
    def total_upserted(self) -> int:
        return sum(self.upserted.values())

    @property
    def total_deleted(self) -> int:
        return sum(self.deleted.values())

    @property
    def delivered(self) -> int:
        return self.total_upserted + self.total_deleted

    def _batches(self, total: int) -> list[tuple[int, int]]:
        size = self.rows_per_batch
        return [(start, min(start + size, total)) for start in range(0, total, size)]

    def _failed(self, error: DeliveryError, spec: TableSpec, operation: str, number: int) -> str:
        where = f"{operation} batch {number} of {spec.name}"
        are = "is" if self.delivered == 1 else "are"
        recorded = f"the {plural(self.delivered, 'row')} delivered before it {are} recorded"
        if error.kind == "lost":
            return (
                f"The connection to {self.state.target} was lost during {where} "
                f"({error.reason}): run `backtest export` again to deliver the rest; {recorded}."
            )
        return (
            f"{self.state.target} rejected {where} ({error.reason}): fix the cause and run "
            f"`backtest export` again; {recorded} and will not be sent twice."
        )

    def _hook_failed(self, error: StoreHookError, spec: TableSpec, number: int) -> str:
        are = "is" if self.delivered == 1 else "are"
        return (
            f"Plugin {error.plugin}'s store_results failed on upsert batch {number} of "
            f"{spec.name} ({error}): fix the plugin and run `backtest export` again; the "
            f"{plural(self.delivered, 'row')} delivered before it {are} recorded, and that "
            "batch will be sent (and the hook called) again."
        )

    def _call_hooks(self, spec: TableSpec, batch: pa.Table) -> None:
        """Hand each hooked plugin its rows of a delivered ``bt_signals`` batch."""
        if spec.name != SIGNALS_TABLE:
            return
        for plugin, hook in self.store_hooks.items():
            rows = batch.filter(pc.equal(batch["calculation"], plugin))
            if not rows.num_rows:
                continue
            try:
                hook(_client(self.transport), rows.to_pandas())
            except Exception as error:  # a plugin author's code: reported, batch not recorded
                raise StoreHookError(plugin, error) from error

    def run(self, spec: TableSpec, operation: str, total: int) -> None:
        """Deliver ``total`` staged rows of ``spec`` (``upsert`` or ``delete``) batch by batch."""
        counts = self.upserted if operation == "upsert" else self.deleted
        counts.setdefault(spec.name, 0)
        if self.progress and total:
            self.progress(BatchDone(spec.name, operation, 0, 0, 0, total))
        for number, (start, stop) in enumerate(self._batches(total), start=1):
            try:
                if operation == "upsert":
                    batch = self.state.pending_batch(spec, start, stop)
                    self.transport.upsert(spec, batch)
                    self._call_hooks(spec, batch)
                else:
                    self.transport.delete(spec, self.state.vanished_batch(spec, start, stop))
            except DeliveryError as error:
                raise BacktestError(self._failed(error, spec, operation, number)) from None
            except StoreHookError as error:
                raise BacktestError(self._hook_failed(error, spec, number)) from None
            if operation == "upsert":
                self.state.record_delivered(spec, start, stop)
            else:
                self.state.record_deleted(spec, start, stop)
            counts[spec.name] += stop - start
            self.batches[spec.name] = self.batches.get(spec.name, 0) + 1
            if self.progress:
                self.progress(BatchDone(spec.name, operation, number, stop - start, stop, total))


def export_tables(
    db_path: Path,
    target: ExportTarget,
    *,
    full: bool = False,
    init_schema: bool = False,
    progress: Progress | None = None,
    specs: list[TableSpec] | None = None,
    store_hooks: Mapping[str, StoreHook] | None = None,
) -> ExportReport:
    """Export what changed in the warehouse's bt_* tables since the last export to ``target``.

    Args:
        db_path: The warehouse file.
        target: Where to export (transport, connection, batch size).
        full: Send every row again, not only the changed ones (rows stay identical).
        init_schema: Create missing target tables, and add the columns an existing table
            lacks, first (never drops or rewrites data).
        progress: Called before each table's first batch (``batch`` 0) and after every
            batch that the target committed.
        specs: The tables to export; default every DDL file's tables.
        store_hooks: Plugins' own ``store_results`` by plugin name (``plugins.loader.
            store_hooks()``), each called after every delivered ``bt_signals`` batch with the
            plugin's rows of it; a hook that raises fails the export like a rejected batch.

    Returns:
        Counts per table and the elapsed time.

    Raises:
        BacktestError: One sentence naming what failed; the warehouse's results are untouched
            and the export state records exactly the batches delivered before the failure.
    """
    if not Path(db_path).exists():
        raise BacktestError(f"Warehouse {db_path} does not exist: run `backtest run` first.")
    started = time.perf_counter()
    with connect(Path(db_path)) as con:
        ready, skipped = _exported_specs(con, specs or load_table_specs())
        transport = target.connect()
        try:
            schema_changes = transport.prepare(ready, init_schema)
            state = ExportState(con, target.identity)
            changes = _stage_all(state, ready, schema_changes.refilled, full)
            delivery = _Delivery(state, transport, target.rows_per_batch, progress, store_hooks)
            _deliver_all(state, delivery, ready, changes, full)
        finally:
            transport.close()
    tables = [_table_report(spec, delivery, changes) for spec in ready]
    elapsed = time.perf_counter() - started
    return ExportReport(
        target.identity,
        transport.name,
        tables + skipped,
        elapsed,
        schema_changes.created,
        schema_changes.added_columns,
    )


def _stage_all(
    state: ExportState, ready: list[TableSpec], refilled: list[str], full: bool
) -> dict[str, Changes]:
    """Stage every table's changes (a table just created in the target, or just given a new
    column, starts afresh)."""
    for spec in ready:
        state.ensure(spec)
        if spec.name in refilled:
            state.forget(spec)
    return {spec.name: state.stage(spec, full) for spec in ready}


def _deliver_all(
    state: ExportState,
    delivery: _Delivery,
    ready: list[TableSpec],
    changes: dict[str, Changes],
    full: bool,
) -> None:
    """Deletes child tables first, then upserts parents first; the run is recorded either way."""
    run_id = state.start_run(delivery.transport.name, full)
    try:
        for spec in reversed(ready):
            delivery.run(spec, "delete", changes[spec.name].vanished)
        for spec in ready:
            delivery.run(spec, "upsert", changes[spec.name].pending)
    except BaseException as error:
        error_text = str(error) or type(error).__name__
        state.finish_run(run_id, delivery.total_upserted, delivery.total_deleted, error_text)
        raise
    state.finish_run(run_id, delivery.total_upserted, delivery.total_deleted)


def _table_report(spec: TableSpec, delivery: _Delivery, changes: dict[str, Changes]) -> TableReport:
    return TableReport(
        spec.name,
        upserted=delivery.upserted.get(spec.name, 0),
        deleted=delivery.deleted.get(spec.name, 0),
        held_back=changes[spec.name].held_back,
        batches=delivery.batches.get(spec.name, 0),
    )
