"""The REST transport: the ``supabase`` client's upsert (PostgREST), batch by batch.

Each batch is one ``POST /rest/v1/<table>?on_conflict=<key>`` with
``Prefer: resolution=merge-duplicates``, which PostgREST runs as one
``INSERT ... ON CONFLICT DO UPDATE`` in one transaction. Deleted rows go as
``DELETE /rest/v1/<table>?<key>=eq.<value>`` requests. Tables cannot be created over REST:
create them once with the Postgres transport or paste ``backtest export --print-schema`` into
the Supabase SQL editor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

import httpx
import pyarrow as pa
from postgrest.exceptions import APIError
from postgrest.types import ReturnMethod
from supabase import Client, SupabaseException, create_client
from supabase.lib.client_options import SyncClientOptions

from backtest.core.errors import BacktestError
from backtest.export.schema import TableSpec
from backtest.export.transport import DeliveryError, SchemaChanges

REQUEST_TIMEOUT_SECONDS = 60
DELETE_CHUNK = 200
CREDENTIAL_STATUS = {"401", "403", "PGRST301", "PGRST302", "PGRST303"}
MISSING_TABLE_CODES = {"42P01", "PGRST205", "PGRST204", "42703"}


def _api_reason(error: APIError) -> str:
    parts = [str(part) for part in (error.message, error.details, error.hint) if part]
    return "; ".join(parts) or str(error)


def _is_credential_error(error: APIError) -> bool:
    message = (error.message or "").lower()
    return str(error.code) in CREDENTIAL_STATUS or "api key" in message or "jwt" in message


def to_rows(spec: TableSpec, batch: pa.Table) -> list[dict]:
    """A batch as JSON-ready row objects: timestamps in ISO 8601 with UTC offset, JSON parsed.

    >>> from backtest.export.schema import load_table_specs
    >>> spec = next(spec for spec in load_table_specs() if spec.name == "bt_signals")
    >>> table = pa.table({"metadata": ['{"ema_9": 1.5}']})
    >>> to_rows(spec, table)
    [{'metadata': {'ema_9': 1.5}}]
    """
    json_columns = [column.name for column in spec.columns if column.is_json]
    rows = batch.to_pylist()
    for row in rows:
        for name in json_columns:
            if row.get(name) is not None:
                row[name] = json.loads(row[name])
    return rows


class RestTransport:
    """Delivers batches through the Supabase REST API with the official client.

    Args:
        url: The project URL (``SUPABASE_URL``), e.g. ``https://abcd.supabase.co``.
        key: An API key (``SUPABASE_KEY``): the ``service_role`` key, or a key whose role has
            insert, update, select and delete rights under the tables' row-level security.
        identity: The target's name without secrets, for messages.
    """

    name = "rest"

    def __init__(self, url: str, key: str, identity: str) -> None:
        self.url = url
        self.key = key
        self.identity = identity
        self.client: Client | None = None
        self.http: httpx.Client | None = None

    def open(self) -> None:
        """Create the client (the first request checks reachability and the key)."""
        self.http = httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, follow_redirects=True)
        options = SyncClientOptions(httpx_client=self.http, postgrest_client_retry=False)
        try:
            self.client = create_client(self.url, self.key, options=options)
        except SupabaseException as error:
            self.close()
            raise BacktestError(
                f"SUPABASE_URL or SUPABASE_KEY is not usable ({error}): use the project URL "
                "https://<project>.supabase.co and an API key from the Supabase dashboard."
            ) from None

    def _client(self) -> Client:
        if self.client is None:
            raise BacktestError("The REST export client is not open: call open() first.")
        return self.client

    def _unreachable(self, error: httpx.HTTPError) -> BacktestError:
        return BacktestError(
            f"Cannot reach the Supabase REST API at {self.url} ({type(error).__name__}: "
            f"{error}): check SUPABASE_URL and the network; the local results are unchanged."
        )

    def _rejected_key(self, error: APIError) -> BacktestError:
        return BacktestError(
            f"Supabase at {self.url} rejected the API key in SUPABASE_KEY "
            f"({_api_reason(error)}): use the project's service_role key."
        )

    def prepare(self, specs: Sequence[TableSpec], init_schema: bool) -> SchemaChanges:
        """Check that every table and column is reachable with this key (nothing is created)."""
        if init_schema:
            raise BacktestError(
                "Tables cannot be created over the REST API: run `backtest export --init-schema "
                "--transport postgres` with SUPABASE_DB_URL once, or paste the output of "
                "`backtest export --print-schema` into the Supabase SQL editor."
            )
        for spec in specs:
            try:
                self._client().table(spec.name).select(",".join(spec.column_names)).limit(
                    1
                ).execute()
            except httpx.HTTPError as error:
                raise self._unreachable(error) from None
            except APIError as error:
                if _is_credential_error(error):
                    raise self._rejected_key(error) from None
                if str(error.code) in MISSING_TABLE_CODES:
                    raise BacktestError(
                        f"Table {spec.name} or one of its columns is missing at {self.url} "
                        f"({_api_reason(error)}): run `backtest export --init-schema --transport "
                        "postgres` once (it creates missing tables and adds missing columns), or "
                        "paste `backtest export --print-schema` into the Supabase SQL editor."
                    ) from None
                raise BacktestError(
                    f"Supabase at {self.url} refused to read {spec.name} "
                    f"({_api_reason(error)}): give the key's role select rights on it."
                ) from None
        return SchemaChanges()

    def _send(self, request) -> None:
        try:
            request.execute()
        except httpx.HTTPError as error:
            raise DeliveryError("lost", f"{type(error).__name__}: {error}") from None
        except APIError as error:
            raise DeliveryError("rejected", _api_reason(error)) from None

    def upsert(self, spec: TableSpec, batch: pa.Table) -> None:
        """One upsert request (one transaction at the server) for the whole batch."""
        self._send(
            self._client()
            .table(spec.name)
            .upsert(
                to_rows(spec, batch),
                on_conflict=",".join(spec.key),
                returning=ReturnMethod.minimal,
            )
        )

    def delete(self, spec: TableSpec, keys: pa.Table) -> None:
        """Delete rows by key: one request per value of the leading key columns.

        Deletions are rare (a rebuild that dropped a calculation, say), so a request per
        group is fine; each request is atomic at the server.
        """
        *leading, last = spec.key
        rows = keys.to_pylist()
        for prefix, group in groupby(rows, key=lambda row: tuple(row[name] for name in leading)):
            values = [row[last] for row in group]
            for start in range(0, len(values), DELETE_CHUNK):
                request = self._client().table(spec.name).delete(returning=ReturnMethod.minimal)
                for name, value in zip(leading, prefix, strict=True):
                    request = request.eq(name, value)
                self._send(request.in_(last, values[start : start + DELETE_CHUNK]))

    def close(self) -> None:
        """Close the HTTP session."""
        if self.http is not None:
            self.http.close()
        self.client = self.http = None
