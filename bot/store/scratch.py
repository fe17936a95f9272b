"""A scratch PostgreSQL cluster for tests and benchmarks: initdb into a temporary folder, listening on
127.0.0.1 only (a free port, its unix socket in that folder), stopped and deleted at the end.

PostgreSQL refuses to run as root, so as root the cluster belongs to a dedicated user (Debian's
`postgres` when the package made one, else `nobody`). It is a throwaway: fsync is off. Used by the tests
(tests/postgres.py) when NEWSBOT_TEST_POSTGRES names no server, and by bench.replicas. Must not import
telegram.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SUPERUSER = "newsbot"


def postgres_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: on PATH, else the newest Debian install; None."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major, reverse=True)
    for candidate in candidates:
        folder = Path(candidate).parent
        if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
            return folder
    return None


def _major(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ScratchCluster:
    """A running throwaway cluster; `dsn` reaches its `postgres` database as the superuser."""

    folder: Path
    binaries: Path
    port: int
    password: str
    user: str | None  # the OS user running it (None: this process's own)
    _stopped: bool = field(default=False, repr=False)

    @property
    def dsn(self) -> str:
        """postgresql://newsbot:…@127.0.0.1:port/postgres"""
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        """The DSN of another database in this cluster."""
        return self.dsn.rsplit("/", 1)[0] + "/" + database

    @classmethod
    def start(cls, binaries: Path | None = None) -> ScratchCluster:
        """initdb and start a cluster; raise RuntimeError (with PostgreSQL's log) if it cannot."""
        found = binaries or postgres_binaries()
        if found is None:
            raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql")
        user = _run_as()
        folder = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        password = secrets.token_hex(12)
        try:
            (folder / "pwfile").write_text(password + "\n")
            if user is not None:
                entry = pwd.getpwnam(user)
                for path in (folder, folder / "pwfile"):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            cluster = cls(folder, found, free_port(), password, user)
            cluster._run(
                "initdb",
                "-D",
                str(folder / "data"),
                "-U",
                SUPERUSER,
                f"--pwfile={folder / 'pwfile'}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--locale=C",
                "--encoding=UTF8",
                "--no-sync",
            )
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={cluster.port}",
                    f"-c unix_socket_directories={folder}",
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            cluster._run(
                "pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "log"), "-o", options, "-w", "start"
            )
        except BaseException as error:
            log_text = ""
            with contextlib.suppress(OSError):
                log_text = (folder / "log").read_text()[-2000:]
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, subprocess.CalledProcessError):
                raise RuntimeError(
                    f"could not start a scratch PostgreSQL: {error.stderr or error}\n{log_text}"
                ) from error
            raise
        return cluster

    def stop(self) -> None:
        """Stop the server at once and delete its folder (safe to call twice)."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.binaries / program), *args],
            check=True,
            capture_output=True,
            text=True,
            user=self.user,
            cwd=self.folder,
            timeout=120,
        )

    def __enter__(self) -> ScratchCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _run_as() -> str | None:
    """The user to run PostgreSQL as: None unless we are root (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")
