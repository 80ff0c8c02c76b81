"""Where things are: the repository (dbt project) root, the warehouse file and the .env file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from backtest.errors import BacktestError

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

    A relative ``--db`` or ``BACKTEST_DB`` is taken from the current directory, as every
    command-line tool (and ``--output``) takes it; the default lives in the repository, where a
    plain ``dbt build`` finds it.
    """
    raw = flag or os.environ.get("BACKTEST_DB")
    if not raw:
        return PROJECT_ROOT / DEFAULT_DB
    return Path(raw).expanduser().absolute()


def _prepare_folder(path: Path) -> None:
    """Create the warehouse's folder, or say in one sentence why it cannot be there."""
    blocking = next((parent for parent in path.parents if parent.is_file()), None)
    if blocking is not None:
        raise BacktestError(
            f"The warehouse {path} cannot be created: {blocking} is a file, not a folder; "
            "pass a --db path inside a folder."
        )
    if path.is_dir():
        raise BacktestError(f"The warehouse {path} is a folder: pass a file path with --db.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BacktestError(
            f"The folder of warehouse {path} cannot be created ({error.strerror}): "
            "pass a --db path in a writable folder."
        ) from None


@dataclass(frozen=True)
class Settings:
    """Resolved run-wide settings shared by ingest, build and results."""

    db_path: Path

    @classmethod
    def from_env(
        cls,
        db: str | os.PathLike | None = None,
        wait: float | None = None,
        for_reading: bool = False,
    ) -> Settings:
        """Resolve the warehouse (and the wait for another process's hold) for a command.

        Args:
            db: the ``--db`` flag, if given.
            wait: the ``--wait`` flag in seconds, if given (else ``BACKTEST_WAIT`` or 600).
            for_reading: a reader creates nothing (a missing warehouse is an error later).
        """
        load_dotenv()
        path = resolve_db_path(db)
        if not for_reading:
            _prepare_folder(path)
        os.environ["BACKTEST_DB"] = str(path)
        if wait is not None:
            os.environ["BACKTEST_WAIT"] = str(wait)
        return cls(db_path=path)
