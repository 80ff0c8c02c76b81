"""Where things are: the repository (dbt project) root, the warehouse file and the .env file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("warehouse") / "backtest.duckdb"
DEFAULT_LOOKBACK_HOURS = 2.0
DEFAULT_FORWARD_BARS = 60
MAX_LOOKBACK_HOURS = 48.0
WINDOW_START_OFFSET = -15
WINDOW_END_OFFSET = 59


def load_dotenv(path: Path | None = None) -> None:
    """Set variables from a ``KEY=value`` .env file without overriding the real environment."""
    path = path or Path.cwd() / ".env"
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def resolve_db_path(flag: str | os.PathLike | None = None) -> Path:
    """The warehouse file: ``--db`` flag, else ``BACKTEST_DB``, else ``warehouse/backtest.duckdb``.

    A relative path is taken from the repository root, exactly as dbt (run from the root) does.
    """
    raw = flag or os.environ.get("BACKTEST_DB") or DEFAULT_DB
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    """Resolved run-wide settings shared by ingest, build and results."""

    db_path: Path

    @classmethod
    def from_env(cls, db: str | os.PathLike | None = None) -> Settings:
        load_dotenv()
        path = resolve_db_path(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.environ["BACKTEST_DB"] = str(path)
        return cls(db_path=path)
