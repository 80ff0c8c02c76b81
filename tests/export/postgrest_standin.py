"""A small PostgREST-protocol server for the REST export tests, writing to a real PostgreSQL.

This stands in for PostgREST, which cannot be installed here (no PostgREST binary or Docker
image is reachable from this machine). It implements only the part of the protocol that the
real ``supabase`` client sends for the export, as read from the installed client
(``postgrest/base_request_builder.py``: ``pre_upsert``, ``pre_select``, ``pre_delete``):

* ``POST /rest/v1/<table>?columns="a","b"&on_conflict=a,b`` with a JSON array body and
  ``Prefer: return=minimal|representation,resolution=merge-duplicates|ignore-duplicates``: one
  ``INSERT ... SELECT ... FROM json_populate_recordset(...) ON CONFLICT ...`` in one
  transaction, answered ``201``, as PostgREST does.
* ``GET /rest/v1/<table>?select=a,b&limit=n&<filters>``: ``200`` with a JSON array.
* ``DELETE /rest/v1/<table>?<filters>``: ``204`` (``return=minimal``).
* Filters ``col=eq.value``, ``col=in.(a,"b,c")`` and ``col=is.null``; ``Content-Profile`` /
  ``Accept-Profile`` choose the schema (``public`` by default).
* The ``apikey`` header and ``Authorization: Bearer`` must carry the configured key, else
  ``401 {"message": "Invalid API key"}`` as Supabase's gateway answers.
* Database errors come back as PostgREST does: ``{"code", "message", "details", "hint"}`` with
  409 for unique and foreign-key violations, 404 ``PGRST205`` for an unknown table and 400
  otherwise.

For fault tests, ``drop_write`` makes the server hang up without an answer on a chosen write
request (after rolling it back), as a crash or a cut network would.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

REST_PREFIX = "/rest/v1/"
CONFLICT_CODES = {"23505", "23503"}


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    method: str
    table: str
    params: dict[str, str]
    prefer: str
    rows: int


class RestError(Exception):
    """An error answer in PostgREST's JSON shape."""

    def __init__(self, status: int, code: str | None, message: str, details=None, hint=None):
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "details": details, "hint": hint}


def _split_list(text: str) -> list[str]:
    """Values of ``in.(...)``: comma-separated, double-quoted when they hold reserved chars."""
    values, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _columns_param(text: str) -> list[str]:
    return [name.strip().strip('"') for name in _split_list(text) if name.strip()]


def _filters(params: list[tuple[str, str]]) -> tuple[sql.Composable, list]:
    reserved = {"select", "limit", "offset", "order", "columns", "on_conflict"}
    clauses, values = [], []
    for column, expression in params:
        if column in reserved:
            continue
        operator, _, operand = expression.partition(".")
        name = sql.Identifier(column)
        if operator == "eq":
            clauses.append(sql.SQL("{}::text = %s").format(name))
            values.append(operand)
        elif operator == "in" and operand.startswith("(") and operand.endswith(")"):
            clauses.append(sql.SQL("{}::text = any(%s)").format(name))
            values.append(_split_list(operand[1:-1]))
        elif operator == "is" and operand == "null":
            clauses.append(sql.SQL("{} is null").format(name))
        else:
            raise RestError(400, "PGRST100", f"'{column}={expression}' is not supported here")
    if not clauses:
        return sql.SQL(""), values
    return sql.SQL(" where ") + sql.SQL(" and ").join(clauses), values


@dataclass
class PostgrestStandIn:
    """The server; ``start()`` it, point ``supabase.create_client(standin.url, key)`` at it.

    Attributes:
        db_url: The real Postgres database the requests are run against.
        api_key: The one key it accepts.
        requests: Every request received, in order.
        drop_write: Hang up without answering on this write request (1 = the first POST or
            DELETE); the request's transaction is rolled back first.
    """

    db_url: str
    api_key: str
    requests: list[Recorded] = field(default_factory=list)
    drop_write: int | None = None
    _writes: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PostgrestStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                """Keep the test output clean."""

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def writes(self, table: str | None = None) -> list[Recorded]:
        """The POST and DELETE requests received (for one table when given)."""
        return [
            request
            for request in self.requests
            if request.method != "GET" and (table is None or request.table == table)
        ]

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        return (
            handler.headers.get("apikey") == self.api_key
            and handler.headers.get("Authorization") == f"Bearer {self.api_key}"
        )

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes | None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body or b"")))
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        payload = json.loads(handler.rfile.read(length)) if length else None
        params = parse_qsl(parts.query, keep_blank_values=True)
        table = parts.path[len(REST_PREFIX) :] if parts.path.startswith(REST_PREFIX) else ""
        prefer = handler.headers.get("Prefer") or ""
        rows = len(payload) if isinstance(payload, list) else int(payload is not None)
        with self._lock:
            self.requests.append(Recorded(method, table, dict(params), prefer, rows))
            drop = False
            if method != "GET":
                self._writes += 1
                drop = self._writes == self.drop_write
        if not self._authorized(handler):
            body = {
                "message": "Invalid API key",
                "hint": "Double check your Supabase `anon` or `service_role` API key.",
            }
            self._answer(handler, 401, json.dumps(body).encode())
            return
        schema = handler.headers.get(
            "Content-Profile" if method != "GET" else "Accept-Profile", "public"
        )
        options = dict(item.strip().split("=", 1) for item in prefer.split(",") if "=" in item)
        try:
            status, body = self._run(method, schema, table, params, options, payload, drop)
        except RestError as error:
            status, body = error.status, json.dumps(error.body).encode()
        if drop:
            handler.close_connection = True
            return
        self._answer(handler, status, body)

    def _run(self, method, schema, table, params, options, payload, drop):
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            exists = conn.execute(
                "select to_regclass(%s) is not null",
                [sql.Identifier(schema, table).as_string(conn)],
            ).fetchone()[0]
            if not table or not exists:
                raise RestError(
                    404,
                    "PGRST205",
                    f"Could not find the table '{schema}.{table}' in the schema cache",
                )
            try:
                with conn.transaction():
                    status, body = self._statement(
                        conn, method, schema, table, params, options, payload
                    )
                    if drop:
                        raise _Dropped
            except _Dropped:
                return 0, None
            except psycopg.Error as error:
                diag = error.diag
                code = diag.sqlstate or "XX000"
                raise RestError(
                    409 if code in CONFLICT_CODES else 400,
                    code,
                    diag.message_primary or str(error),
                    diag.message_detail,
                    diag.message_hint,
                ) from None
        return status, body

    @staticmethod
    def _statement(conn, method, schema, table, params, options, payload):
        target = sql.Identifier(schema, table)
        where, values = _filters(params)
        representation = options.get("return") == "representation"
        if method == "GET":
            selected = params_get(params, "select") or "*"
            columns = (
                sql.SQL("*")
                if selected == "*"
                else sql.SQL(", ").join(map(sql.Identifier, _columns_param(selected)))
            )
            limit = params_get(params, "limit")
            query = sql.SQL(
                "select coalesce(json_agg(row_to_json(found)), '[]'::json) from "
                "(select {columns} from {target}{where}{limit}) as found"
            ).format(
                columns=columns,
                target=target,
                where=where,
                limit=sql.SQL(" limit {}").format(int(limit)) if limit else sql.SQL(""),
            )
            result = conn.execute(query, values).fetchone()[0]
            return 200, json.dumps(result).encode()
        if method == "DELETE":
            query = sql.SQL("delete from {target}{where}").format(target=target, where=where)
            if representation:
                query += sql.SQL(" returning row_to_json({}.*)").format(sql.Identifier(table))
            cursor = conn.execute(query, values)
            rows = [row[0] for row in cursor.fetchall()] if representation else None
            return (200, json.dumps(rows).encode()) if representation else (204, None)
        rows = payload if isinstance(payload, list) else [payload]
        given = params_get(params, "columns")
        names = _columns_param(given) if given else list(rows[0]) if rows else []
        columns = sql.SQL(", ").join(map(sql.Identifier, names))
        query = sql.SQL(
            "insert into {target} as existing ({columns}) select {columns} "
            "from json_populate_recordset(null::{target}, %s::json)"
        ).format(target=target, columns=columns)
        conflict = params_get(params, "on_conflict")
        resolution = options.get("resolution")
        if conflict and resolution:
            keys = [name.strip() for name in conflict.split(",")]
            if resolution == "ignore-duplicates":
                action = sql.SQL("do nothing")
            else:
                action = sql.SQL("do update set ") + sql.SQL(", ").join(
                    sql.SQL("{0} = excluded.{0}").format(sql.Identifier(name))
                    for name in names
                    if name not in keys
                )
            query += (
                sql.SQL(" on conflict ({}) ").format(sql.SQL(", ").join(map(sql.Identifier, keys)))
                + action
            )
        if representation:
            query += sql.SQL(" returning row_to_json(existing.*)")
        cursor = conn.execute(query, [json.dumps(rows)])
        if representation:
            return 201, json.dumps([row[0] for row in cursor.fetchall()]).encode()
        return 201, None


class _Dropped(Exception):
    """Raised inside a transaction to roll it back before hanging up."""


def params_get(params: list[tuple[str, str]], name: str) -> str | None:
    """The last value of a query parameter, or None."""
    found = [value for key, value in params if key == name]
    return found[-1] if found else None
