"""The app factory: every plugin, middleware and router in plain sight."""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

import notices
from bidding import opening_job, scheduler
from bidding.committees import committee_person_ids
from bidding.controllers import (
    BidderKeyController,
    BiddingController,
    CentreKeyController,
    KeyDirectoryController,
    OpenerKeyController,
    OpeningController,
    UploadController,
)
from bidding.hall import HALL_CHANNEL
from bidding.opening import opening_readings
from bidding.portal import OpeningHallController
from evaluation import publicity
from evaluation.controllers import EvaluationDocumentsController, ExpertController, ExpertDrawController
from evaluation.controllers_award import CONTROLLERS as EVALUATION_CONTROLLERS
from evaluation.panel import panel_person_ids
from notices import api as notices_api
from notices import feeds, portal, staff
from notices import services as notice_services
from notices.ocds.api import OcdsController
from trading import api_explorer, metrics, security_headers
from trading.accounts.auth import AuthenticationMiddleware
from trading.accounts.controllers import (
    CentreController,
    OrganisationController,
    PersonController,
    TokenController,
)
from trading.api_docs import DocumentedJsonRenderPlugin
from trading.audit.controllers import AuditController
from trading.authorise import Resolvers, make_guard
from trading.blobs import gc as blob_gc
from trading.blobs import make_blob_store
from trading.clock import Clock, clock_from_setting
from trading.db import (
    ArgumentOutOfRange,
    ConcurrentChange,
    DatabaseUnavailable,
    is_argument_out_of_range,
    is_database_outage,
    is_unique_violation,
    make_engine,
    make_sessionmaker,
)
from trading.draining import Drain, DrainMiddleware
from trading.errors import DomainError
from trading.funds import services as funds_services
from trading.funds.controllers import FundsApiController, FundsPortalController
from trading.input_checks import check_request, validation_error
from trading.keys import load_or_create_signing_key
from trading.log import integrator
from trading.log.controllers import LogController
from trading.log.note import NoteSigner
from trading.notify import HUB_KEY as LIVE_HUB_KEY
from trading.notify import LiveHub
from trading.observability import RequestObserver
from trading.projects.controllers import ProjectController
from trading.projects.services import centre_of_project, centre_of_section
from trading.rules.controllers import CalendarController, ProcedureController
from trading.security_headers import SecurityHeadersMiddleware
from trading.settings import Settings
from trading.web import one_charset, provide_db

log = logging.getLogger("trading")

NOTICES_DIR = Path(notices.__file__).parent


@get("/healthz", operation_id="health", include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, str]:
    """The bare endpoint: no database, no template (the floor for benchmarks)."""
    return {"status": "ok"}


@get("/readyz", operation_id="ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready to serve: the database answers at the schema this code needs, the blob store takes a write (on S3 a
    small object written and removed), and the process is not shutting down. Each check gives up after
    ``ready_timeout`` seconds, so the answer never hangs. (/healthz says only that the process runs.)"""
    from trading.migrate import schema_revisions

    state = request.app.state
    timeout = state.settings.ready_timeout
    checks: dict[str, str] = {}
    try:
        current, head = await asyncio.wait_for(schema_revisions(state.engine), timeout)
        checks["database"] = "ok" if current == head else f"schema at {current}, code needs {head}"
    except TimeoutError:
        checks["database"] = f"no answer within {timeout:g} s"
    except Exception as exc:  # the type only: a driver's message can name the server and the user
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        checks["blob_store"] = "ok" if await asyncio.wait_for(state.blobs.writable(), timeout) else "not writable"
    except TimeoutError:
        checks["blob_store"] = f"no answer within {timeout:g} s"
    except Exception as exc:
        checks["blob_store"] = f"unreachable ({type(exc).__name__})"
    if state.drain.draining:
        checks["shutdown"] = "draining: finishing uploads in flight, taking no new ones"
    ok = all(v == "ok" for v in checks.values())
    return Response(
        content={"status": "ready" if ok else "not ready", "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    machine = ("/api/", "/schema", "/feeds/", "/healthz", "/readyz", "/metrics", "/static/", "/log/")
    return not request.url.path.startswith(machine)


def _error_response(
    request: Request[Any, Any, Any], status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    # An unknown path is answered before any route's middleware runs: the security headers are added here too.
    headers = security_headers.headers_for("text/html" if _wants_html(request) else "application/json") | (
        headers or {}
    )
    if _wants_html(request):
        return Response(
            content=request.app.template_engine.get_template("error.html").render(
                status=status,
                error=body["error"],
                request=request,
                settings=request.app.state.settings,
                actor=request.scope.get("user"),
            ),
            status_code=status,
            media_type=MediaType.HTML,
            headers=headers,
        )
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _error_response(request, exc.status_code, exc.to_dict(), exc.headers)


_HTTP_MESSAGES = {
    400: ("请求无效", "Bad request", "invalid_input"),
    401: ("请先登录", "Please sign in first", "not_authenticated"),
    403: ("无权访问", "Forbidden", "forbidden"),
    404: ("页面或记录不存在", "Not found", "not_found"),
    405: ("不支持此请求方法", "Method not allowed", "method_not_allowed"),
    413: ("请求体过大", "The request body is too large", "payload_too_large"),
    415: ("不支持的内容类型", "Unsupported media type", "unsupported_media_type"),
}


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    """The largest body the request's route takes, in bytes (None if unknown)."""
    try:
        return request.route_handler.resolve_request_max_body_size()
    except Exception:  # no route (the limit was met before routing)
        return None


def _size(n: int) -> str:
    return f"{n // 1024 // 1024} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n:,} bytes"


_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _missing_parameter(detail: str) -> list[dict[str, str]]:
    """Litestar's refusal of a request without a required parameter, as one problem naming it."""
    found = _MISSING.match(detail or "")
    if found is None:
        return []
    source, key = found.groups()
    return [{"key": key, "source": source, "message": f"the {source} parameter is required"}]


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    zh, en, code = _HTTP_MESSAGES.get(exc.status_code, ("请求无法处理", "The request cannot be handled", "http_error"))
    limit = _body_limit(request) if exc.status_code == 413 else None
    if limit:
        zh, en = f"{zh}（此处上限 {_size(limit)}）", f"{en} (the limit here is {_size(limit)})"
    body: dict[str, Any] = {"code": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en}
    if isinstance(exc, ValidationException):
        # A query or path parameter the route's signature refused: each problem named, in Chinese too.
        problems = exc.extra if isinstance(exc.extra, list) else _missing_parameter(exc.detail)
        zh = "；".join(
            f"参数 {p.get('key', '?')}：{validation_error(str(p.get('message', ''))).message_zh.split('：', 1)[-1]}"
            for p in problems
            if isinstance(p, dict)
        )
        body["code"] = "invalid_input"
        body["message_zh"] = "请求参数不符合要求：" + (zh or "请检查参数")
        body["message_en"] = (
            "The request is not valid: "
            + "; ".join(f"{p.get('key', '?')}: {p.get('message', '')}" for p in problems if isinstance(p, dict))
            if problems
            else "The request is not valid"
        )
        body["message"] = f"{body['message_zh']} / {body['message_en']}"
        if problems:
            body["details"] = {"problems": problems}
    elif exc.status_code < 500 and exc.detail and exc.detail not in (zh, en) and exc.status_code != 404:
        body["details"] = {"detail": str(exc.detail)}
    if limit:
        body["details"] = {"max_bytes": limit}
    # (a 405 names the methods the route takes in Allow, as RFC 9110 asks)
    return _error_response(request, exc.status_code, {"error": body}, dict(exc.headers or {}))


def safe_traceback(exc: BaseException) -> str:
    """Where an error happened — each exception's type and the frames it passed through — and nothing it
    said: database errors quote the statement's values (a receipt, a salt, a token's hash), and so can any
    message. The chain of causes is followed, as a full traceback would."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        lines.append(f"{kind.__module__}.{kind.__qualname__}")
        lines += [f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(current.__traceback__)]
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def _route_of(request: Request[Any, Any, Any]) -> str:
    """The route's template (/api/uploads/{upload_id:str}/complete), not the path with its ids."""
    return str(request.scope.get("path_template") or "(no route)")


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The type and the place only: exception messages (and so tracebacks) can carry data that must never
    # reach a log.
    if is_database_outage(exc):
        # Not a fault of this code: the database restarted, failed over or is out of connections. The client
        # is told to retry (every step of a submission is safe to repeat), and hears nothing of the driver.
        causes = [line for line in safe_traceback(exc).splitlines() if not line.startswith(" ")]
        log.warning("database unavailable on %s %s: %s", request.method, _route_of(request), " <- ".join(causes))
        outage = DatabaseUnavailable()
        return _error_response(request, outage.status_code, outage.to_dict(), outage.headers)
    if is_unique_violation(exc):
        # Two requests made the same change at once, and the database kept one: the other is told so (409).
        log.info("concurrent change refused on %s %s", request.method, _route_of(request))
        conflict = ConcurrentChange()
        return _error_response(request, conflict.status_code, conflict.to_dict(), conflict.headers)
    if is_argument_out_of_range(exc):
        # A number in the request that fits 64 bits but not the narrower column it is looked up in.
        log.info("argument out of its column's range on %s %s", request.method, _route_of(request))
        refused = ArgumentOutOfRange()
        return _error_response(request, refused.status_code, refused.to_dict(), refused.headers)
    log.error("internal error on %s %s:\n%s", request.method, _route_of(request), safe_traceback(exc))
    body = {
        "code": "internal_error",
        "message": "服务器内部错误 / Internal server error",
        "message_zh": "服务器内部错误",
        "message_en": "Internal server error",
    }
    return _error_response(request, 500, {"error": body})


#: Connections of a worker's background loops (PostgreSQL), and as many again for the log's integrator thread:
#: beside settings.pool_size, its overflow and the opening hall's LISTEN connection, max_connections counts
#: workers × (pool_size + pool_overflow + 5).
BACKGROUND_POOL = 2


def _own_sessions(settings: Settings) -> tuple[Any, Callable[[], Awaitable[None]]]:
    """A sessionmaker on connections of its own (made on the calling thread's loop), and how to close them."""
    engine = make_engine(settings, pool_size=BACKGROUND_POOL, overflow=0)
    return make_sessionmaker(engine), engine.dispose


def create_app(settings: Settings, *, clock: Clock | None = None) -> Litestar:
    """Build the application for *settings*. Tests pass a fixed *clock*."""
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "sessionmaker": sessionmaker,
            "clock": clock or clock_from_setting(settings.clock),
            "blobs": make_blob_store(settings, engine),
            # Uploads in flight, refused while the process drains on SIGTERM (trading.draining).
            "drain": Drain(),
            # What /metrics reads from the database at each scrape, each package its own tables.
            "metric_readers": [metrics.log_readings, opening_readings],
        }
    )
    # The opening halls' live streams: one LISTEN connection per worker on PostgreSQL, fanned out to the
    # viewers here (trading.notify). On SQLite the sessions carry the hub, to wake viewers after a commit.
    state.live = LiveHub(settings, channels=(HALL_CHANNEL,))
    sessionmaker.configure(info={LIVE_HUB_KEY: state.live})
    state.drain.on_begin(state.live.close_streams)
    state.platform_key = load_or_create_signing_key(settings.signing_key_path)
    state.log_signer = NoteSigner(settings.log_origin, state.platform_key)
    stop_integrator = asyncio.Event()
    background: list[asyncio.Task[None]] = []

    async def start_integrator() -> None:
        # The worker's own loops (the log's integrator, the deadline's close) have connections of their own: in
        # a deadline storm they must not queue for the pool behind hundreds of requests.
        if settings.is_sqlite:
            # Each worker closes due sections before integrating, so a deadline's log cut follows its close.
            background.append(
                asyncio.create_task(integrator.run(state, stop_integrator, before=scheduler.Ticker(state)))
            )
        else:
            state.background_engine = make_engine(settings, pool_size=BACKGROUND_POOL, overflow=0)
            state.background_sessionmaker = make_sessionmaker(state.background_engine)
            background.append(asyncio.create_task(scheduler.run(state, stop_integrator)))
            # The log's rounds on a thread of their own (a storm's requests do not hold them up); a deadline's
            # cut still follows its close: it waits for the section to close (or its grace period).
            state.log_thread = integrator.IntegratorThread(state, lambda: _own_sessions(settings))
            state.log_thread.start()
        background.append(asyncio.create_task(blob_gc.run_periodically(state, stop_integrator)))
        await state.live.start()
        # Every worker looks for due openings; the database lets one take each (bidding.opening_job).
        background.append(asyncio.create_task(opening_job.run(state, stop_integrator)))

    async def stop_background() -> None:
        stop_integrator.set()
        if getattr(state, "log_thread", None) is not None:
            await state.log_thread.stop()
        await state.live.stop()
        for task in background:
            await task
        await engine.dispose()
        if getattr(state, "background_engine", None) is not None:
            await state.background_engine.dispose()

    # Every route's rule is in trading.policy; the guard resolves the paths it names with these.
    authorise = make_guard(
        sessionmaker,
        Resolvers(
            centre_of={
                "section_id": centre_of_section,
                "project_id": centre_of_project,
                "notice_id": notice_services.centre_of_notice,
                "objection_id": publicity.centre_of_objection,
                "complaint_id": publicity.centre_of_complaint,
                "alert_id": funds_services.centre_of_alert,
            },
            panel_of=panel_person_ids,
            committee_of=committee_person_ids,
        ),
    )

    app = Litestar(
        guards=[authorise],
        route_handlers=[
            health,
            ready,
            metrics.metrics,
            CentreController,
            OrganisationController,
            PersonController,
            TokenController,
            ProjectController,
            ProcedureController,
            CalendarController,
            AuditController,
            LogController,
            BidderKeyController,
            CentreKeyController,
            KeyDirectoryController,
            OpenerKeyController,
            BiddingController,
            UploadController,
            OpeningController,
            OpeningHallController,
            ExpertController,
            ExpertDrawController,
            EvaluationDocumentsController,
            *EVALUATION_CONTROLLERS,
            OcdsController,
            FundsApiController,
            FundsPortalController,
            staff.StaffNoticeController,
            notices_api.PublicNoticeController,
            notices_api.ChangesController,
            feeds.FeedController,
            portal.PortalController,
            portal.AccountPortalController,
            create_static_files_router(path="/static", directories=[NOTICES_DIR / "static"], include_in_schema=False),
            create_static_files_router(
                path=api_explorer.ASSETS_PATH,
                directories=[api_explorer.ASSETS_DIR],
                include_in_schema=False,
            ),
        ],
        state=state,
        dependencies={"db": Provide(provide_db)},
        middleware=[
            DefineMiddleware(DrainMiddleware, drain=state.drain),
            SecurityHeadersMiddleware,
            DefineMiddleware(AuthenticationMiddleware, sessionmaker=sessionmaker, clock=state.clock),
        ],
        before_request=check_request,
        after_request=one_charset,
        after_exception=[metrics.count_bid_refusal],
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        template_config=TemplateConfig(
            directory=NOTICES_DIR / "templates", engine=JinjaTemplateEngine, engine_callback=portal.register_filters
        ),
        openapi_config=OpenAPIConfig(
            title="湖南省公共资源交易平台 API",
            version="0.1.0",
            description="Public resource trading platform: notices, projects, rules. Public reads need no account.",
            openapi_router=Router(path="/schema", route_handlers=[], include_in_schema=False),
            render_plugins=[DocumentedJsonRenderPlugin(), api_explorer.LocalSwaggerRenderPlugin()],
        ),
        request_max_body_size=settings.max_json_body,
        response_cache_config=ResponseCacheConfig(),
        on_startup=[start_integrator],
        on_shutdown=[stop_background],
        # Logging is the server's to set up (trading.observability.logging_config): Litestar's own default
        # would replace the root logger's handlers with its text format in every worker.
        logging_config=None,
        debug=False,
    )
    # In front of routing, so that every request — an unknown path too — is logged and counted.
    app.asgi_handler = RequestObserver(app.asgi_handler, instance=settings.instance_name)
    return app
