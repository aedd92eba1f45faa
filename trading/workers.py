"""Several worker processes behind one port, each listening on a socket of its own.

uvicorn's supervisor binds one socket and hands it to every worker; whichever worker's event loop wakes first
accepts every connection waiting. In a deadline storm (hundreds of bidders connecting within a second) one
worker took 90% of them while the other sat idle, and the storm ran on one core. Here each worker gets a
socket of its own on the same address (SO_REUSEPORT), and the kernel spreads new connections over the workers'
sockets by the connection's addresses. Everything else — starting, health checks, restarting a dead worker,
signals — is uvicorn's supervisor, unchanged.

A worker that dies takes its socket with it (the connections queued on it are reset, as its open ones are);
the supervisor's copy of each socket is closed as soon as the worker has its own, so no socket is left in the
group that nobody accepts from. A supervisor that dies (killed outright) takes its workers with it: each watches
it (:func:`watch_supervisor`) and stops as at SIGTERM, rather than live on in the port's group unsupervised.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Any

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess

from trading.parent import when_parent_gone


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to *host*:*port* that other sockets of this user may share (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


#: Set by the supervisor for the workers it starts: its process id.
SUPERVISOR_ENV = "TRADING_SUPERVISOR_PID"


def watch_supervisor() -> None:
    """In a worker of ``trading serve --workers N``: once its supervisor is gone, stop as at SIGTERM (the uploads
    in flight drain, within ``shutdown_grace``). Without it, a supervisor killed outright left its workers serving
    on: still in the port's group, so that a server started again shared the port with them. (Nothing to watch in
    a process not started by that supervisor — one worker runs in the server's own process.)"""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    if not supervisor.isdigit() or int(supervisor) != os.getppid():
        return
    when_parent_gone(int(supervisor), lambda: os.kill(os.getpid(), signal.SIGTERM), name="watch-supervisor")


class SocketPerWorker(Multiprocess):
    """uvicorn's supervisor, each worker started with a listening socket of its own."""

    def __init__(self, config: Config) -> None:
        # Bound here, so that a port already taken fails the start at once as uvicorn's own would; the first
        # worker gets this one.
        self._first: socket.socket | None = listening_socket(config.host, config.port)
        self._given: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property  # type: ignore[override]
    def sockets(self) -> list[socket.socket]:
        """Read by the supervisor for each worker it starts: a socket of its own in the port's group."""
        sock, self._first = self._first or listening_socket(self.config.host, self.config.port), None
        self._given.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, _value: Any) -> None:  # uvicorn's __init__ sets it; ours are made one per worker
        pass

    def _close_given(self) -> None:
        # A started worker holds its own descriptor (spawn passes it at exec): the supervisor's copy goes.
        for sock in self._given:
            sock.close()
        self._given.clear()

    def init_processes(self) -> None:
        super().init_processes()
        self._close_given()

    def restart_all(self) -> None:
        super().restart_all()
        self._close_given()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._close_given()


def listening_sockets(port: int) -> int:
    """How many sockets listen on *port* (IPv4, from /proc/net/tcp; 0 where there is none): one per worker that
    serves, once it has started — a bench or a test waits for all of them before its burst."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0
    suffix = f":{port:04X}"
    return sum(1 for row in rows if row.split()[1].endswith(suffix) and row.split()[3] == "0A")
