"""Where the export goes: a Postgres connection string or a Supabase REST URL and key.

Configuration comes from flags, else from the environment (or a ``.env`` file):
``SUPABASE_DB_URL`` for the Postgres transport, ``SUPABASE_URL`` and ``SUPABASE_KEY`` for REST.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from backtest.core.config import load_dotenv
from backtest.core.errors import BacktestError
from backtest.export.transport import Transport

TRANSPORTS = ("postgres", "rest")
DEFAULT_BATCH_SIZES = {"postgres": 50_000, "rest": 1_000}


def _describe_postgres_url(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        raise BacktestError(
            "SUPABASE_DB_URL is not a valid Postgres connection string: use the form "
            "postgresql://USER:PASSWORD@HOST:5432/postgres from the Supabase dashboard."
        ) from None
    user = info.get("user") or os.environ.get("PGUSER") or "postgres"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    dbname = info.get("dbname") or user
    return f"postgres://{user}@{host}:{port}/{dbname}"


@dataclass(frozen=True)
class ExportTarget:
    """A configured export destination.

    Attributes:
        transport: ``postgres`` (psycopg, COPY + upsert) or ``rest`` (supabase client upsert).
        db_url: Postgres connection string (``SUPABASE_DB_URL``), for ``postgres``.
        rest_url: Supabase project URL (``SUPABASE_URL``), for ``rest``.
        rest_key: Supabase API key (``SUPABASE_KEY``), for ``rest``.
        batch_size: Rows per batch (one transaction or one request each).
    """

    transport: str
    db_url: str | None = None
    rest_url: str | None = None
    rest_key: str | None = None
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise BacktestError(
                f"Unknown export transport '{self.transport}': use postgres or rest."
            )
        if self.transport == "postgres" and not self.db_url:
            raise BacktestError(
                "The postgres transport needs a connection string: set SUPABASE_DB_URL "
                "(or pass --db-url)."
            )
        if self.transport == "rest" and not (self.rest_url and self.rest_key):
            raise BacktestError(
                "The rest transport needs the project URL and an API key: set SUPABASE_URL and "
                "SUPABASE_KEY (or pass --supabase-url and --supabase-key)."
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise BacktestError(f"--batch-size {self.batch_size} is too small: use 1 or more.")

    @classmethod
    def from_env(
        cls,
        transport: str | None = None,
        db_url: str | None = None,
        rest_url: str | None = None,
        rest_key: str | None = None,
        batch_size: int | None = None,
    ) -> ExportTarget:
        """The target from flags, else the environment; the transport defaults to what is set.

        ``SUPABASE_DB_URL`` selects ``postgres``; otherwise ``SUPABASE_URL`` + ``SUPABASE_KEY``
        select ``rest``.
        """
        load_dotenv()
        db_url = db_url or os.environ.get("SUPABASE_DB_URL") or None
        rest_url = rest_url or os.environ.get("SUPABASE_URL") or None
        rest_key = rest_key or os.environ.get("SUPABASE_KEY") or None
        if transport is None:
            if db_url:
                transport = "postgres"
            elif rest_url or rest_key:
                transport = "rest"
            else:
                raise BacktestError(
                    "No Supabase export target is configured: set SUPABASE_DB_URL (Postgres "
                    "connection string) or SUPABASE_URL and SUPABASE_KEY (REST), e.g. in .env."
                )
        return cls(transport, db_url, rest_url, rest_key, batch_size)

    @property
    def identity(self) -> str:
        """Where the rows go, without secrets; export state is kept per identity.

        >>> ExportTarget("postgres", db_url="postgresql://me:secret@db.example:6543/app").identity
        'postgres://me@db.example:6543/app'
        """
        if self.transport == "postgres":
            return _describe_postgres_url(self.db_url)
        return f"rest:{self.rest_url.rstrip('/')}"

    @property
    def rows_per_batch(self) -> int:
        return self.batch_size or DEFAULT_BATCH_SIZES[self.transport]

    def connect(self) -> Transport:
        """An open transport to this target (raises ``BacktestError`` when it cannot connect)."""
        if self.transport == "postgres":
            from backtest.export.postgres import PostgresTransport

            transport: Transport = PostgresTransport(self.db_url, self.identity)
        else:
            from backtest.export.rest import RestTransport

            transport = RestTransport(self.rest_url, self.rest_key, self.identity)
        transport.open()
        return transport
