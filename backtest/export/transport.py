"""What a transport is: the protocol the exporter drives, and how a batch fails to arrive."""

from __future__ import annotations

from collections.abc import Sequence
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


class Transport(Protocol):
    """What the exporter needs from a transport; every method raises ``BacktestError`` or
    ``DeliveryError`` with a clear reason."""

    name: str

    def open(self) -> None:
        """Connect and check the credentials."""

    def prepare(self, specs: Sequence[TableSpec], init_schema: bool) -> list[str]:
        """Check the target tables (creating missing ones when asked); return those created."""

    def upsert(self, spec: TableSpec, batch: pa.Table) -> None:
        """Insert or update one batch of rows by primary key, atomically."""

    def delete(self, spec: TableSpec, keys: pa.Table) -> None:
        """Delete one batch of rows by primary key, atomically."""

    def close(self) -> None:
        """Release the connection."""
