"""The parsed dbt manifest, kept between builds: in memory for this process, on disk for the next.

Parsing the project takes dbt about a second even when its partial parsing applies (it reads its
``partial_parse.msgpack`` and hashes every file), and a build needs the same manifest as long as
nothing it was parsed from changed: the project's files, the ``--vars`` (the plugin settings),
the warehouse's database name (relations are named after its file), the environment variables
the project read, and the versions of dbt and of this Python. Those make the manifest's key; a
build whose key matches gets a fresh copy of the stored manifest (``dbtRunner(manifest=...)``)
and dbt does not parse at all. Otherwise ``dbt parse`` runs (partially, when dbt can) and its
manifest is stored under the new key.

The stored form is a pickle of the manifest as parsed, before any build compiled it: dbt keeps
compiled SQL and injected CTEs in the nodes, and a second build on the same objects would skip
injecting ephemeral models, so every build unpickles its own copy (about 10 ms). On disk it lives
in dbt's target folder (``DBT_TARGET_PATH``), written atomically, a few keys at most.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import json
import os
import pickle
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtest.core.config import PROJECT_ROOT, read_yaml

CACHE_PREFIX = "backtest_manifest_"
STORED_FORMAT = 1
"""The version of the stored form (``_reduce_manifest``): a change makes older files misses."""
UNREADABLE = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError)
"""What unpickling a damaged or foreign file raises: a miss, not a failure."""
KEPT_ON_DISK = 4
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", ".dbtignore", "packages.yml", "selectors.yml")
PATH_SETTINGS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "analysis-paths": ["analyses"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
    "docs-paths": [],
    "function-paths": ["functions"],
}
PARSED_ENDINGS = (".sql", ".yml", ".yaml", ".csv", ".md", ".jinja", ".jinja2")
"""Files dbt reads in its folders (and ``.py`` in model paths: Python models)."""
WAREHOUSE_VARIABLE = "BACKTEST_DB"
"""The warehouse path profiles.yml reads (dbt does not record profile variables in the manifest);
the manifest depends on it only through the database name DuckDB gives the file, which names
every relation."""
LAZY_CACHES = (
    "_doc_lookup",
    "_source_lookup",
    "_ref_lookup",
    "_metric_lookup",
    "_saved_query_lookup",
    "_semantic_model_by_measure_lookup",
    "_disabled_lookup",
    "_analysis_lookup",
    "_singular_test_lookup",
    "_function_lookup",
    "_macros_by_name",
    "_macros_by_package",
)
"""Manifest attributes dbt rebuilds on first use when they are None."""


@dataclass
class ManifestStats:
    """What this process did for its builds' manifests (tests and the benchmark read it)."""

    parses: int = 0
    """``dbt parse`` invocations."""
    from_disk: int = 0
    """Manifests read from the target folder (parsed by an earlier process)."""
    reused: int = 0
    """Builds that got a stored manifest (from memory or disk) and did not parse."""


STATS = ManifestStats()
_memory: dict[str, tuple[bytes, dict[str, str]]] = {}
_lock = threading.Lock()


def project_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A digest of the name, size and modification time of every file dbt may parse (a file
    edited in place changes its modification time).

    >>> len(project_fingerprint())
    64
    """
    project = read_yaml(root / "dbt_project.yml") or {}
    folders = {
        folder: setting == "model-paths"
        for setting, default in PATH_SETTINGS.items()
        for folder in (project.get(setting) or default)
    }
    entries = []
    for name in PROJECT_FILES:
        path = root / name
        if path.is_file():
            stat = path.stat()
            entries.append((name, stat.st_mtime_ns, stat.st_size))
    for folder, has_models in sorted(folders.items()):
        endings = PARSED_ENDINGS + ((".py",) if has_models else ())
        for directory, subfolders, files in os.walk(root / folder):
            subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
            for name in sorted(files):
                if not name.endswith(endings):
                    continue
                path = Path(directory) / name
                stat = path.stat()
                entries.append((str(path.relative_to(root)), stat.st_mtime_ns, stat.st_size))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def manifest_key(parse_args: list[str]) -> str:
    """The key of the manifest ``dbt`` would parse with ``parse_args`` right now."""
    from dbt.adapters.duckdb.__version__ import version as adapter_version
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.version import __version__ as dbt_version

    warehouse = os.environ.get(WAREHOUSE_VARIABLE)
    ingredients = {
        "format": STORED_FORMAT,
        "args": parse_args,
        "database": DuckDBCredentials.path_derived_database_name(warehouse) if warehouse else None,
        "versions": [dbt_version, adapter_version, sys.version],
        "files": project_fingerprint(),
    }
    return hashlib.sha256(json.dumps(ingredients).encode()).hexdigest()


def _restore_manifest(cls: type, state: dict[str, Any]):
    from dbt.mp_context import get_mp_context

    manifest = cls.__new__(cls)
    manifest.__dict__.update(state)
    for name in LAZY_CACHES:
        setattr(manifest, name, None)
    manifest._lock = get_mp_context().Lock()
    return manifest


def _reduce_manifest(manifest):
    """The manifest's whole state but its lock and lazy caches (dbt's own ``__reduce_ex__``
    drops its ``fixtures`` and shifts the fields after it, so it is not used)."""
    skipped = {"_lock", *LAZY_CACHES}
    state = {name: value for name, value in vars(manifest).items() if name not in skipped}
    return _restore_manifest, (type(manifest), state)


def _dumps(manifest) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[type(manifest)] = _reduce_manifest
    pickler.dump(manifest)
    return buffer.getvalue()


def _env_vars_unchanged(env_vars: dict[str, str]) -> bool:
    """Whether the variables the project read through ``env_var`` still have those values."""
    return all(os.environ.get(name) == value for name, value in env_vars.items())


def _disk_path(target_path: Path, key: str) -> Path:
    return target_path / f"{CACHE_PREFIX}{key[:16]}.pickle"


def _read_disk(target_path: Path, key: str) -> tuple[bytes, dict[str, str]] | None:
    path = _disk_path(target_path, key)
    try:
        record = pickle.loads(path.read_bytes())
    except (OSError, *UNREADABLE):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    return record["manifest"], record["env_vars"]


def _write_disk(target_path: Path, key: str, stored: tuple[bytes, dict[str, str]]) -> None:
    """Store atomically (a concurrent reader sees the old file or the new one) and keep only
    the newest few keys."""
    path = _disk_path(target_path, key)
    record = {"key": key, "manifest": stored[0], "env_vars": stored[1]}
    try:
        target_path.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(scratch, path)
        kept = sorted(
            target_path.glob(f"{CACHE_PREFIX}*.pickle"),
            key=lambda stored_path: stored_path.stat().st_mtime_ns,
            reverse=True,
        )
        for old in kept[KEPT_ON_DISK:]:
            old.unlink(missing_ok=True)
    except OSError:
        return  # a read-only target folder: the next process parses again


def _stored(key: str, target_path: Path) -> tuple[bytes, dict[str, str]] | None:
    stored = _memory.get(key) or _read_disk(target_path, key)
    if stored is None or not _env_vars_unchanged(stored[1]):
        return None
    if key not in _memory:
        STATS.from_disk += 1
        _memory.clear()
        _memory[key] = stored
    return stored


def parsed_manifest(parse_args: list[str], target_path: Path, parse: Callable[[list[str]], Any]):
    """A fresh copy of the manifest for ``parse_args``, parsing only when none is stored.

    Args:
        parse_args: the ``dbt parse`` arguments (project, profiles, target, vars, paths).
        target_path: dbt's target folder, where the manifest is kept between processes.
        parse: runs ``dbt parse`` with the arguments and returns dbt's result object; the
            manifest is its ``result`` when it succeeded.

    Returns:
        ``(manifest, None, key)``, or ``(None, outcome, key)`` when the parse failed (the caller
        reports the outcome as it reports a failed build).
    """
    with _lock:
        key = manifest_key(parse_args)
        stored = _stored(key, target_path)
        if stored is not None:
            try:
                manifest = pickle.loads(stored[0])
            except UNREADABLE:
                _memory.clear()
            else:
                STATS.reused += 1
                return manifest, None, key
        STATS.parses += 1
        outcome = parse(parse_args)
        if not outcome.success or outcome.result is None:
            return None, outcome, key
        manifest = outcome.result
        stored = (_dumps(manifest), dict(manifest.env_vars))
        _memory.clear()
        _memory[key] = stored
        _write_disk(target_path, key, stored)
        return pickle.loads(stored[0]), None, key


def forget() -> None:
    """Drop the manifest kept in memory (the next build reads the disk, or parses)."""
    with _lock:
        _memory.clear()
