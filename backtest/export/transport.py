"""What a transport is: the protocol the exporter drives, and how a batch fails to arrive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from backtest.export.schema import TableSpec


class DeliveryError(Exception):
    """A batch did not reach the target: ``lost`` (connection broke) or ``rejected`` (by it).

    The exporter turns it into a one-sentence ``BacktestError`` that names the table, the batch
    and what was recorded as delivered.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class SchemaChanges:
    """What ``prepare`` changed at the target: the tables it created, and the columns it added
    to tables that existed (``table.column``, e.g. a column a newer release declares).

    >>> SchemaChanges(["bt_x"], ["bt_index.note", "bt_index.flag"]).refilled
    ['bt_x', 'bt_index']
    """

    created: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)

    @property
    def refilled(self) -> list[str]:
        """The tables whose every row is sent again (their rows at the target lack values)."""
        tables = [*self.created, *(column.split(".")[0] for column in self.added_columns)]
        return list(dict.fromkeys(tables))


class Transport(Protocol):
    """What the exporter needs from a transport; every method raises ``BacktestError`` or
    ``DeliveryError`` with a clear reason."""

    name: str

    def open(self) -> None:
        """Connect and check the credentials."""

    def prepare(self, specs: Sequence[TableSpec], init_schema: bool) -> SchemaChanges:
        """Check the target tables (creating missing tables and columns when asked); return
        what was created."""

    def upsert(self, spec: TableSpec, batch: pa.Table) -> None:
        """Insert or update one batch of rows by primary key, atomically."""

    def delete(self, spec: TableSpec, keys: pa.Table) -> None:
        """Delete one batch of rows by primary key, atomically."""

    def close(self) -> None:
        """Release the connection."""
