"""A private, throw-away PostgreSQL cluster a test may stop and restart, as .ci/start-postgres makes one.

It uses the newest /usr/lib/postgresql/*/bin, trust auth for user postgres, 127.0.0.1 on a free port, its
socket, log and data in a directory of its own, and PostgreSQL's default durability (fsync on). initdb
refuses to run as root: as root the cluster runs as ``trading-pg`` (the user .ci/start-postgres creates)
when it exists, else as ``nobody`` — no user is created here.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.processes import free_port


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _owner() -> str | None:
    if os.getuid() != 0:
        return None
    for name in ("trading-pg", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and neither trading-pg nor nobody exists to own the cluster")


class PrivatePostgres:
    def __init__(self) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = binaries
        self.owner = _owner()
        self.port = free_port()
        # Short, in /tmp: the socket path must stay under ~107 bytes, and the owner must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="trading-pg."))
        self.data = self.root / "data"
        if self.owner is not None:
            entry = pwd.getpwnam(self.owner)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}\n{log[-3000:]}")

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C.UTF-8"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
            )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def restart(self) -> float:
        """``pg_ctl restart -m fast``: every session is ended at once; returns how long it took."""
        began = time.monotonic()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-m",
            "fast",
            "restart",
        )
        return time.monotonic() - began

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
