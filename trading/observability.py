"""What the service tells its operators about each request: one log line (JSON for a log collector, or text for
people), a request id that follows the request through every line it causes, and the HTTP metrics.

A request's line names its method, its route *template* (``/api/uploads/{upload_id}/{envelope}``, never
the path with its ids and never a query string: sign-in links and tokens travel there), its status, how long it
took, the instance and the client's address (after trusted_proxies). Nothing else of the request is read: no
body, no header but X-Request-ID — so no Authorization, no cookie, no bid.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trading import metrics

log = logging.getLogger("trading.request")

#: The request being answered, for every line logged while it is (set by :class:`RequestObserver`).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

#: An incoming X-Request-ID is kept only if it is short and plain (a proxy's or a client's id); anything else
#: could forge log lines or carry data, and is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
NO_ROUTE = "(no route)"


def new_request_id() -> str:
    return secrets.token_hex(16)


class RequestObserver:
    """Wraps the whole application (in front of routing, so unknown paths count too): gives each request its
    id, echoes it as X-Request-ID, and logs and measures the request when its answer has gone."""

    def __init__(self, app: ASGIApp, *, instance: str) -> None:
        self.app = app
        self.instance = instance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        rid = incoming if SANE_REQUEST_ID.fullmatch(incoming) else new_request_id()
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500  # if the application fails before answering, the server answers 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers") or [] if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._observe(scope, status, time.perf_counter() - started, rid)
            request_id.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float, rid: str) -> None:
        method = scope["method"]
        route = scope.get("path_template") or NO_ROUTE
        metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        metrics.HTTP_SECONDS.labels(method, route).observe(seconds)
        app = scope.get("app")
        if app is not None:
            metrics.sample_pool(app.state.engine)
        client = scope.get("client")
        fields = {
            "request_id": rid,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "instance": self.instance,
            "client": client[0] if client else None,
        }
        level = logging.ERROR if status == 500 else logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "%s %s %s %.1fms", method, route, status, seconds * 1000, extra={"fields": fields})


# --- the log format ------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the instance and the worker's pid, the id of
    the request being answered, and a record's ``fields`` (the request line's)."""

    def __init__(self, instance: str = "") -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self.instance,
            "pid": os.getpid(),  # which worker
        }
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:  # (the platform logs safe tracebacks itself: trading.app.safe_traceback)
            line["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Lines for people: time, level, logger, message, and the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = request_id.get()
        return f"{text} [{rid}]" if rid else text


def logging_config(log_format: str, instance: str) -> dict[str, Any]:
    """A logging.config.dictConfig for the server and the platform, in *log_format* ("json" or "text")."""
    formatter: dict[str, Any] = (
        {"()": "trading.observability.JsonFormatter", "instance": instance}
        if log_format == "json"
        else {"()": "trading.observability.TextFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"platform": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "platform", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            # uvicorn's own loggers carry their own handlers by default: here they go through the one above.
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            # /readyz reads the schema's revision on every probe: alembic would say so each time.
            "alembic.runtime.migration": {"level": "WARNING"},
        },
    }
