"""Graceful shutdown: on SIGTERM a worker stops taking new uploads, lets those in flight finish within
``shutdown_grace`` seconds, and only then lets the server stop.

While it drains, a new upload (a bid begun, ciphertext sent, an attachment) is answered 503 with Retry-After —
the client's retry reaches another worker or host — and /readyz says 503, so a load balancer stops sending
traffic here; everything else (reads, a bid's completion) is still served, but the opening halls' event streams
end at once (trading.notify: a browser reconnects by itself, to a worker that is not stopping). Then the server
shuts down as usual: no new connections, the requests still running given a few seconds, the background tasks
stopped.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Receive, Scope, Send

from trading.errors import ServiceUnavailable

log = logging.getLogger("trading.shutdown")

#: The routes that start or feed an upload: refused while draining, and waited for.
UPLOAD_ROUTES = frozenset({"beginBidSubmission", "uploadCiphertext", "uploadNoticeAttachment"})
#: Routes waited for but not refused: finishing what was already uploaded.
FINISHING_ROUTES = frozenset({"completeUpload"})


class Draining(ServiceUnavailable):
    code = "shutting_down"

    def __init__(self) -> None:
        super().__init__(
            "本服务实例正在停止，未接收此次上传，请稍后重试",
            "This server is shutting down and did not take this upload: try again shortly",
            retry_after=2,
        )


class Drain:
    """This process's uploads in flight, and whether it is draining."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._on_begin: list[Callable[[], None]] = []

    def on_begin(self, callback: Callable[[], None]) -> None:
        """Call *callback* when the drain begins (from the signal handler: it must only set flags or schedule)."""
        self._on_begin.append(callback)

    def begin(self) -> None:
        self.draining = True
        for callback in self._on_begin:
            callback()

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        """Whether every upload in flight finished within *seconds*."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True


class DrainMiddleware:
    """Refuse new uploads while draining; count the uploads in flight."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        operation = getattr(handler, "operation_id", None)
        if scope["type"] != "http" or operation not in UPLOAD_ROUTES | FINISHING_ROUTES:
            await self.app(scope, receive, send)
            return
        if self.drain.draining and operation in UPLOAD_ROUTES:
            raise Draining()
        self.drain.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.leave()


def drain_on_sigterm(app: Litestar) -> None:
    """Make SIGTERM drain this worker before the server's own handler stops it (for a server that handles
    SIGTERM in the main thread, as uvicorn does). Called at startup, after the server installed its handlers.

    A SIGTERM while draining changes nothing: a process manager may send it to every worker as well as to the
    parent, which passes its own on. SIGINT (Ctrl-C) still goes straight to the server: it skips the drain."""
    server_handler = signal.getsignal(signal.SIGTERM)
    drain: Drain = app.state.drain
    grace: float = app.state.settings.shutdown_grace
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[None]] = []

    def stop_server(sig: int, frame: FrameType | None) -> None:
        if callable(server_handler):
            server_handler(sig, frame)
        else:  # no server handler to hand over to: stop as the default would
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    async def drain_then_stop() -> None:
        log.info("SIGTERM: draining, %d upload(s) in flight, up to %.0f s", drain.in_flight, grace)
        finished = await drain.wait_idle(grace)
        if not finished:
            log.warning("shutdown grace over with %d upload(s) still in flight", drain.in_flight)
        stop_server(signal.SIGTERM, None)

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if drain.draining:
            return
        drain.begin()
        loop.call_soon_threadsafe(lambda: tasks.append(loop.create_task(drain_then_stop())))

    signal.signal(signal.SIGTERM, on_sigterm)


def install(app: Litestar) -> Any:
    """The startup hook for :func:`drain_on_sigterm` (the production entry point, trading.asgi, adds it)."""

    async def hook() -> None:
        drain_on_sigterm(app)

    return hook
