"""A throwaway local PostgreSQL cluster for the export benchmark and the export tests.

``initdb`` into a new temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 with its
socket in that folder, password authentication over TCP; ``stop()`` removes everything. As root
the server binaries run as the ``postgres`` system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from backtest.core.errors import BacktestError

SEARCH_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"


def find_postgres_bindir() -> Path | None:
    """The newest server bin folder with ``initdb`` and ``pg_ctl``, or None when absent."""
    candidates = sorted(
        (Path(folder) for folder in Path("/").glob(SEARCH_GLOB.lstrip("/"))),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalCluster:
    """A running throwaway cluster; use as a context manager or call ``stop()``.

    Attributes:
        folder: Holds the data directory, the socket and the log; removed on stop.
        port: TCP port on 127.0.0.1.
        password: Password of the ``postgres`` superuser.
    """

    bindir: Path
    folder: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    durable: bool = False

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, dbname: str = "postgres", password: str | None = None) -> str:
        """A connection URI over TCP (``password`` overrides the real one, e.g. to test a typo)."""
        secret = self.password if password is None else password
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{dbname}"

    def _command(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SUPERUSER, "--", *args]
        return list(args)

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._command(*args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            log_tail = self.log.read_text().strip().splitlines()[-1:] if self.log.exists() else []
            raise BacktestError(
                f"{Path(args[0]).name} failed for the throwaway PostgreSQL cluster "
                f"({' '.join(tail + log_tail)}): check that postgresql-15 is installed."
            )

    def start(self) -> LocalCluster:
        """initdb and start the server; returns self."""
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise BacktestError(
                    "There is no 'postgres' system user to run PostgreSQL as: install "
                    "postgresql-15 with apt-get."
                ) from None
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            os.chown(password_file, account.pw_uid, account.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
            "--no-sync",
        )
        settings = [
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.folder}",
            "-c max_connections=40",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        for _attempt in range(3):
            self.port = _free_port()
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    " ".join([f"-p {self.port}", *settings]),
                    "start",
                )
                return self
            except BacktestError:
                if "already in use" not in (self.log.read_text() if self.log.exists() else ""):
                    raise
        raise BacktestError("No free port for the throwaway PostgreSQL cluster: try again.")

    def stop(self) -> None:
        """Stop the server immediately and delete its folder."""
        if (self.datadir / "postmaster.pid").exists():
            subprocess.run(
                self._command(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_cluster(durable: bool = False) -> LocalCluster:
    """Start a throwaway cluster in a new temporary folder.

    Args:
        durable: Keep fsync on (as a real server runs); off makes tests faster.

    Raises:
        BacktestError: When the PostgreSQL server binaries are not installed.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        raise BacktestError(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
            "run `apt-get install postgresql-15` or pass --db-url."
        )
    cluster = LocalCluster(bindir, Path(tempfile.mkdtemp(prefix="backtest-pg-")), durable=durable)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise
