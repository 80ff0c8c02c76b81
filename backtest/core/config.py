"""Where things are (the repository and dbt project root, the warehouse file, the .env file) and
the settings Python shares with dbt, read from ``vars`` in dbt_project.yml: the stored window, the
forward horizons and the plugins' on/off switches are written there once."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backtest.core.errors import BacktestError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_DIR = PROJECT_ROOT / "plugins"
"""Plugin folders (and a dbt model path): the framework's modules and one folder per plugin."""
DEFAULT_DB = Path("warehouse") / "backtest.duckdb"
DEFAULT_LOOKBACK_HOURS = 2.0
DEFAULT_FORWARD_BARS = 60
MAX_LOOKBACK_HOURS = 48.0


_parsed_yaml: dict[Path, tuple[tuple[int, int], Any]] = {}


def read_yaml(path: Path) -> Any:
    """A YAML file's content, parsed once per version of the file (its size and modification
    time); each call gets its own copy, which the caller may change.

    >>> read_yaml(PROJECT_ROOT / "dbt_project.yml")["name"]
    'backtest'
    """
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed_yaml.get(path)
    if cached is None or cached[0] != version:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        cached = (version, yaml.load(path.read_text(), Loader=loader))  # noqa: S506 (safe loader)
        _parsed_yaml[path] = cached
    return copy.deepcopy(cached[1])


def project_vars() -> dict:
    """``vars`` of dbt_project.yml, which dbt reads too (``var('backtest_window')``, ...).

    >>> project_vars()["backtest_window"], project_vars()["backtest_horizons"]
    ({'first_offset': -15, 'last_offset': 59}, [5, 15, 30, 60])
    """
    project = read_yaml(PROJECT_ROOT / "dbt_project.yml")
    return dict(project.get("vars") or {})


ENV_VAR = re.compile(r"\{\{\s*env_var\(\s*'(\w+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*\}\}")


def duckdb_settings(db_path: Path) -> dict[str, str]:
    """The DuckDB settings of profiles.yml's warehouse target (``settings:``), which dbt applies
    to its connections, rendered for ``db_path``: Python's connections apply the same ones.

    Only ``env_var('NAME', 'default')`` is rendered; ``BACKTEST_DB`` is ``db_path``.

    >>> duckdb_settings(Path("/tmp/w.duckdb"))["preserve_insertion_order"]
    'false'
    """
    profile = read_yaml(PROJECT_ROOT / "profiles.yml")["backtest"]
    target = profile["outputs"][profile["target"]]

    def render(match: re.Match) -> str:
        if match[1] == "BACKTEST_DB":
            return str(db_path)
        return os.environ.get(match[1], match[2] or "")

    settings = target.get("settings") or {}
    return {
        key: str(value).lower() if isinstance(value, bool) else ENV_VAR.sub(render, str(value))
        for key, value in settings.items()
    }


_WINDOW = project_vars()["backtest_window"]
WINDOW_START_OFFSET: int = _WINDOW["first_offset"]
WINDOW_END_OFFSET: int = _WINDOW["last_offset"]
HORIZONS: tuple[int, ...] = tuple(project_vars()["backtest_horizons"])


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
