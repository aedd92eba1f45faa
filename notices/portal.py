"""The public portal: server-rendered Chinese pages that work without JavaScript.

Pages read through :mod:`notices.reads` and the project, account and audit services; nothing here queries
notices on its own. Every form posts a URL-encoded body with a CSRF token: the portal session's token once
signed in, and a double-submit cookie on the sign-in form (there is no session yet).

Template context, on every page: ``settings``, ``actor`` (an Actor or None), ``csrf_token`` (the session's,
or None), ``nav`` (the active item of the main navigation), ``feeds`` (extra Atom feeds for ``<head>``) and,
where the page depends on the time, ``now`` (the platform clock). Litestar adds ``request``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from notices import reads
from notices.formatting import (
    committee_view,
    machine_rows,
    notice_field_rows,
    opening_record_view,
    register_filters,
    timetable_rows,
)
from notices.kinds import NOTICE_KINDS, OPENING_NOTICE_FOR_TRADE_KIND
from trading.accounts.auth import SESSION_COOKIE
from trading.accounts.models import Person, TradingCentre
from trading.accounts.services import (
    authenticate,
    end_portal_session,
    get_organisation,
    issue_token,
    list_tokens,
    revoke_token,
    start_portal_session,
)
from trading.audit.controllers import audit_page
from trading.caching import cache_headers, etag_for, not_modified, not_modified_response
from trading.context import ROLE_NAMES_ZH, Actor
from trading.errors import DomainError, Forbidden, InvalidInput, NotFound
from trading.input_checks import iso_day
from trading.log import services as log_services
from trading.projects.models import Project
from trading.projects.schemas import TRADE_KIND_NAMES
from trading.projects.services import load_project, project_read
from trading.regions import CITIES, PROVINCE, REGIONS, ancestors, children
from trading.rules.procedures import EVENTS, PROCEDURES
from trading.web import DB, client_address, make_act, request_actor

__all__ = ["AccountPortalController", "PortalController", "register_filters"]

#: The sign-in form's double-submit cookie (there is no session to hold a CSRF token yet).
LOGIN_CSRF_COOKIE = "trading_csrf"
PAGE_SIZE = 20
HOME_LIST_SIZE = 6
#: A project's notices on its page and in a notice's timeline (a trade has a handful).
PROJECT_NOTICES = 100
#: Notice kinds shown on the home page, each in its own card.
HOME_KINDS = (
    "tender",
    "procurement",
    "land_transfer",
    "property_transfer",
    "amendment",
    "candidate_publicity",
    "result",
    "contract",
)
NO_STORE = {"Cache-Control": "no-store"}

_HERE = Path(__file__).parent


def _asset_digest() -> str:
    """A digest of the templates and stylesheets, so that a deploy changes every page's ETag."""
    h = hashlib.sha256()
    for path in sorted([*(_HERE / "templates").glob("*.html"), *(_HERE / "static").glob("*")]):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


ASSET_DIGEST = _asset_digest()


# --- forms --------------------------------------------------------------------------------------------------


class LoginForm(msgspec.Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(max_length=64)] = ""
    password: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=128)] = ""
    next: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CsrfForm(msgspec.Struct, kw_only=True):
    csrf_token: Annotated[str, msgspec.Meta(max_length=128)] = ""


class AcknowledgeForm(msgspec.Struct, kw_only=True):
    csrf_token: Annotated[str, msgspec.Meta(max_length=128)] = ""
    show: Annotated[str, msgspec.Meta(max_length=10)] = ""


class TokenForm(msgspec.Struct, kw_only=True):
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=128)] = ""


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


# --- shared helpers -------------------------------------------------------------------------------------------


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.time_zone)


def _session_csrf(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    return state.get("csrf_token") if request_actor(request) is not None else None


def page_context(request: Request, nav: str = "", **context: Any) -> dict[str, Any]:
    base = {
        "settings": request.app.state.settings,
        "actor": request_actor(request),
        "csrf_token": _session_csrf(request),
        "nav": nav,
        "feeds": [],
    }
    return base | context


def html_page(name: str, **kwargs: Any) -> Template:
    """An HTML page. Said explicitly: handlers that may also answer 304 would otherwise default to JSON."""
    return Template(name, media_type=MediaType.HTML, **kwargs)


async def _names(db: DB, key: Any, name: Any, wanted: set[int]) -> dict[int, str]:
    """The names of the *wanted* rows, in one query (none when nothing is wanted)."""
    if not wanted:
        return {}
    return dict((await db.execute(select(key, name).where(key.in_(wanted)))).all())


def _csrf_failed() -> Forbidden:
    return Forbidden(
        "表单校验失败（页面可能已过期），请刷新页面后重试",
        "The form could not be verified (the page may have expired); reload it and try again",
        code="csrf_failed",
    )


def check_session_csrf(request: Request, submitted: str) -> Actor:
    """The signed-in actor, if the form carries the session's CSRF token; otherwise a 403."""
    actor = request_actor(request)
    expected = _session_csrf(request)
    if actor is None or not expected or not submitted:
        raise _csrf_failed()
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise _csrf_failed()
    return actor


def _safe_next(value: str | None, default: str = "/account") -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\r\n\\") or value.startswith(("/login", "/logout")):
        return default
    return value


def _cookie(request: Request, key: str, value: str, max_age: int, path: str = "/") -> Cookie:
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )


async def _page_headers(request: Request, db: DB, *parts: object) -> tuple[dict[str, str], bool]:
    """ETag and Cache-Control for a public page, and whether the client already has it.

    The validator covers what the page shows: the latest publication (lists, related notices), *parts*,
    the templates, and who is looking — a signed-in page names its reader and carries a CSRF token, so it
    is private.
    """
    actor = request_actor(request)
    seq = await reads.latest_change_seq(db)
    viewer = ""
    if actor is not None:
        viewer = f"{actor.person_id}:{hashlib.sha256((_session_csrf(request) or '').encode()).hexdigest()[:12]}"
    tag = etag_for("portal", ASSET_DIGEST, seq, viewer, *parts)
    if actor is not None:
        headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Cookie"}
    else:
        headers = cache_headers(tag) | {"Vary": "Accept-Encoding, Cookie"}
    return headers, not_modified(request, tag)


def _minute(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M")


def _local_day(now: datetime, zone: ZoneInfo) -> str:
    return now.astimezone(zone).strftime("%Y%m%d")


def _url(path: str, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _region_options() -> list[dict[str, Any]]:
    """Cities with their counties, for the region select."""
    return [{"city": city, "counties": children(city.code)} for city in CITIES]


# --- the notice filters ---------------------------------------------------------------------------------------


class ListQuery(msgspec.Struct, kw_only=True):
    """The list page's query as typed: every value a string, "" when a form field was left empty."""

    kind: str = ""
    trade_kind: str = ""
    region: str = ""
    status: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""

    def params(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "trade_kind": self.trade_kind,
            "region": self.region,
            "status": self.status,
            "from": self.date_from,
            "to": self.date_to,
            "q": self.q,
        }


def _parse_day(value: str, name_zh: str, name_en: str) -> date | None:
    if not value:
        return None
    try:
        day = iso_day(value)
    except ValueError:
        raise InvalidInput(
            f"{name_zh}格式应为 年-月-日，例如 2026-03-01",
            f"The {name_en} must be a date like 2026-03-01",
            code="bad_date",
            details={"value": value},
        ) from None
    if not 2000 <= day.year <= 2100:
        raise InvalidInput(
            f"{name_zh}超出范围", f"The {name_en} is out of range", code="bad_date", details={"value": value}
        )
    return day


def build_filter(query: ListQuery, zone: ZoneInfo) -> reads.NoticeFilter:
    """The reads filter for the list page; the dates are whole local days (from 00:00 to the next 00:00)."""
    if query.kind and query.kind not in NOTICE_KINDS:
        raise InvalidInput(
            f"公告类型“{query.kind}”不存在",
            f"Unknown notice kind '{query.kind}'",
            code="unknown_notice_kind",
            details={"known": sorted(NOTICE_KINDS)},
        )
    if query.trade_kind and query.trade_kind not in TRADE_KIND_NAMES:
        raise InvalidInput(
            f"交易类型“{query.trade_kind}”不存在",
            f"Unknown trade kind '{query.trade_kind}'",
            code="unknown_trade_kind",
            details={"known": sorted(TRADE_KIND_NAMES)},
        )
    if query.region and query.region not in REGIONS:
        raise InvalidInput(
            f"行政区划代码“{query.region}”不在本平台范围内",
            f"Division code '{query.region}' is not one this platform serves",
            code="unknown_region",
            rule="GB/T 2260",
        )
    if query.status and query.status not in ("open", "closed"):
        raise InvalidInput(
            "状态只能是“进行中”（open）或“已截止”（closed）",
            "status must be open or closed",
            code="bad_status",
        )
    day_from = _parse_day(query.date_from, "起始日期", "start date")
    day_to = _parse_day(query.date_to, "截止日期", "end date")
    if day_from and day_to and day_from > day_to:
        raise InvalidInput("起始日期不能晚于截止日期", "The start date is after the end date", code="bad_date_range")
    return reads.NoticeFilter(
        kind=query.kind or None,
        trade_kind=query.trade_kind or None,
        region=query.region or None,
        status=query.status or None,
        published_from=datetime.combine(day_from, time(0), zone) if day_from else None,
        published_to=datetime.combine(day_to + timedelta(days=1), time(0), zone) if day_to else None,
        q=query.q.strip() or None,
    )


async def _opener_names(db: DB, fields: dict[str, Any]) -> dict[int, str]:
    """The opening committee's names by position, from the tender notice version the bids were sealed to."""
    tender = fields.get("tender_notice") or {}
    try:
        version = await reads.version_document(db, int(tender["notice_id"]), int(tender["version"]))
    except (KeyError, TypeError, ValueError, NotFound):
        return {}
    members = (version.published_fields().get("committee") or {}).get("members") or []
    return {m["position"]: m.get("name", "") for m in members if isinstance(m, dict) and "position" in m}


def _timeline(notice_id: int, project_notices: list[Any]) -> list[dict[str, Any]]:
    """All published notices of the project in order of first publication, this one marked."""
    ordered = sorted(project_notices, key=lambda n: (n.first_published_at is None, n.first_published_at, n.id))
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "kind_name": n.kind_name,
            "title": n.title,
            "at": n.first_published_at,
            "current": n.id == notice_id,
        }
        for n in ordered
    ]


# --- pages ------------------------------------------------------------------------------------------------------


class PortalController(Controller):
    """Public pages (公众门户): home, notices, projects, regions, the rules; sign-in; the audit trail."""

    path = "/"
    include_in_schema = False

    @get("/", operation_id="portalHome")
    async def home(self, request: Request, db: DB) -> Template | Any:
        """Home page: search, the latest notices of each kind, upcoming deadlines, regions."""
        now = await request.app.state.clock.now(db)
        headers, fresh = await _page_headers(request, db, "home", _minute(now))
        if fresh:
            return not_modified_response(headers)
        latest = {}
        for kind in HOME_KINDS:
            page = await reads.list_notices(
                db, reads.NoticeFilter(kind=kind), now=now, cursor=None, limit=HOME_LIST_SIZE
            )
            latest[kind] = page.items
        context = page_context(
            request,
            "home",
            now=now,
            latest=latest,
            kinds=NOTICE_KINDS,
            deadlines=await reads.upcoming_deadlines(db, now, limit=8),
            published_count=await reads.count_published(db),
            cities=CITIES,
            feeds=[(f"{NOTICE_KINDS[k].name_zh}订阅", f"/feeds/kinds/{k}.atom") for k in HOME_KINDS[:4]],
        )
        return html_page("home.html", context=context, headers=headers)

    @get("/notices", operation_id="portalNotices")
    async def notices(
        self,
        request: Request,
        db: DB,
        kind: str = Parameter(default="", max_length=40),
        trade_kind: str = Parameter(default="", max_length=40),
        region: str = Parameter(default="", max_length=20),
        status: str = Parameter(default="", max_length=20),
        date_from: str = QueryParameter(name="from", default="", max_length=40),
        date_to: str = QueryParameter(name="to", default="", max_length=40),
        q: str = Parameter(default="", max_length=100),
        cursor: str = Parameter(default="", max_length=200),
    ) -> Template | Any:
        """Notices, newest first: filter by kind, trade kind, region, status and date; search; next page."""
        query = ListQuery(
            kind=kind.strip(),
            trade_kind=trade_kind.strip(),
            region=region.strip(),
            status=status.strip(),
            date_from=date_from.strip(),
            date_to=date_to.strip(),
            q=q.strip(),
        )
        now = await request.app.state.clock.now(db)
        context = page_context(
            request,
            self._nav_for(query),
            now=now,
            query=query,
            kinds=NOTICE_KINDS,
            trade_kinds=TRADE_KIND_NAMES,
            region_options=_region_options(),
            page=None,
            error=None,
            next_url=None,
            first_url=None,
        )
        try:
            flt = build_filter(query, _zone(request))
            headers, fresh = await _page_headers(request, db, "list", request.url.query, _minute(now))
            if fresh:
                return not_modified_response(headers)
            page = await reads.list_notices(db, flt, now=now, cursor=cursor or None, limit=PAGE_SIZE)
        except InvalidInput as exc:
            context["error"] = exc.to_dict()["error"]
            return html_page("notices.html", context=context, status_code=400)
        params = query.params()
        context["page"] = page
        context["next_url"] = _url("/notices", params | {"cursor": page.next}) if page.next else None
        context["first_url"] = _url("/notices", params) if cursor else None
        if query.kind:
            context["feeds"] = [(f"{NOTICE_KINDS[query.kind].name_zh}订阅", f"/feeds/kinds/{query.kind}.atom")]
        elif query.region:
            context["feeds"] = [(f"{REGIONS[query.region].name}公告订阅", f"/feeds/regions/{query.region}.atom")]
        return html_page("notices.html", context=context, headers=headers)

    @staticmethod
    def _nav_for(query: ListQuery) -> str:
        if query.trade_kind:
            return query.trade_kind
        if query.kind in ("result", "candidate_publicity", "contract"):
            return "results"
        for trade_kind, kind in OPENING_NOTICE_FOR_TRADE_KIND.items():
            if query.kind == kind:
                return trade_kind
        kind_trades = NOTICE_KINDS[query.kind].trade_kinds if query.kind in NOTICE_KINDS else ()
        if len(kind_trades) == 1:  # 招标计划 and 资格预审 belong to works
            return kind_trades[0]
        return "notices"

    @get("/notices/{notice_id:int}", operation_id="portalNotice")
    async def notice(self, request: Request, db: DB, notice_id: FromPath[int]) -> Template | Any:
        """One notice: full text, structured fields, timetable, attachments, versions and the project's notices."""
        return await self._notice_page(request, db, notice_id, "notice.html")

    @get("/notices/{notice_id:int}/print", operation_id="portalNoticePrint")
    async def notice_print(self, request: Request, db: DB, notice_id: FromPath[int]) -> Template | Any:
        """One notice laid out for printing on A4 (no navigation)."""
        return await self._notice_page(request, db, notice_id, "notice_print.html")

    async def _notice_page(self, request: Request, db: DB, notice_id: int, template: str) -> Template | Any:
        notice = await reads.get_published(db, notice_id)
        now = await request.app.state.clock.now(db)
        # Open/closed depends on the time only while a deadline exists; the date shows in the header.
        moment = _minute(now) if notice.deadline_at else _local_day(now, _zone(request))
        log_size = await log_services.tree_size(db)  # the page shows each version's log position
        headers, fresh = await _page_headers(
            request, db, template, notice.id, notice.current_version, notice.status, moment, log_size
        )
        if fresh:
            return not_modified_response(headers)
        detail = await reads.notice_detail(db, notice)
        # ``related`` carries only each notice's last publication; the timeline is ordered by the first.
        project_notices = await reads.list_notices(
            db, reads.NoticeFilter(project_id=detail.project_id), now=now, cursor=None, limit=PROJECT_NOTICES
        )
        kind = NOTICE_KINDS[detail.kind]
        target = None
        if detail.target_notice_id is not None:
            target = next((r for r in detail.related if r.id == detail.target_notice_id), None)
        amendments = {v.amendment_notice_id for v in detail.versions if v.amendment_notice_id}
        record = None
        if detail.kind == "opening_record":
            record = opening_record_view(detail.fields, await _opener_names(db, detail.fields))
        context = page_context(
            request,
            detail.trade_kind,
            now=now,
            notice=detail,
            kind=kind,
            field_rows=notice_field_rows(detail.kind, detail.fields),
            record=record,
            committee=committee_view(detail.fields.get("committee")) if record is None else None,
            machine_rows=machine_rows(detail.fields),
            document_url=reads.document_url(detail.id, detail.version),
            base_url=request.app.state.settings.base_url,
            timetable=timetable_rows(notice.timetable, notice.deadline_at),
            timeline=_timeline(detail.id, project_notices.items),
            target=target,
            amendment_titles={r.id: r.title for r in detail.related if r.id in amendments},
            permanent_url=request.app.state.settings.base_url + detail.url,
            log_size=log_size,
            feeds=[
                (f"{kind.name_zh}订阅", f"/feeds/kinds/{detail.kind}.atom"),
                (f"{REGIONS[detail.region_code].name}公告订阅", f"/feeds/regions/{detail.region_code}.atom"),
            ],
        )
        return html_page(template, context=context, headers=headers)

    @get("/projects/{project_id:int}", operation_id="portalProject")
    async def project(self, request: Request, db: DB, project_id: FromPath[int]) -> Template:
        """A trading project: trade code, parties, budget, funding sources, sections and all its notices."""
        project = await load_project(db, project_id, viewer=request_actor(request))
        read = await project_read(db, project)
        now = await request.app.state.clock.now(db)
        page = await reads.list_notices(
            db, reads.NoticeFilter(project_id=project.id), now=now, cursor=None, limit=PROJECT_NOTICES
        )
        procedure = PROCEDURES.get(read.procedure)
        funding_total = sum(f.amount_fen for f in read.funding_sources)
        context = page_context(
            request,
            read.trade_kind,
            now=now,
            project=read,
            procedure=procedure,
            state_names={k: zh for k, zh, _en in procedure.states} if procedure else {},
            events=EVENTS,
            funding_total=funding_total,
            notices=_timeline(0, page.items),
        )
        return html_page("project.html", context=context)

    @get("/regions", operation_id="portalRegions")
    async def regions(self, request: Request) -> Template:
        """Hunan's cities and counties, each with its notices and feed."""
        context = page_context(request, "regions", province=PROVINCE, cities=[(c, children(c.code)) for c in CITIES])
        return html_page("regions.html", context=context)

    @get("/regions/{code:str}", operation_id="portalRegion")
    async def region(
        self,
        request: Request,
        db: DB,
        code: FromPath[str],
        cursor: str = Parameter(default="", max_length=200),
    ) -> Template | Any:
        """The notices of one region and the divisions under it, newest first, with the region's feed."""
        region = REGIONS.get(code)
        if region is None:
            raise NotFound(
                f"行政区划“{code}”不存在或不属于湖南省",
                f"No division '{code}' in Hunan province",
                code="unknown_region",
                rule="GB/T 2260",
            )
        now = await request.app.state.clock.now(db)
        headers, fresh = await _page_headers(request, db, "region", code, cursor, _minute(now))
        if fresh:
            return not_modified_response(headers)
        page = await reads.list_notices(
            db, reads.NoticeFilter(region=code), now=now, cursor=cursor or None, limit=PAGE_SIZE
        )
        feed = f"/feeds/regions/{code}.atom"
        context = page_context(
            request,
            "regions",
            now=now,
            region=region,
            ancestors=ancestors(code),
            subregions=children(code),
            page=page,
            feed_url=feed,
            next_url=_url(f"/regions/{code}", {"cursor": page.next}) if page.next else None,
            first_url=f"/regions/{code}" if cursor else None,
            feeds=[(f"{region.name}公告订阅", feed)],
        )
        return html_page("region.html", context=context, headers=headers)

    @get("/log", operation_id="portalLog")
    async def log_page(self, request: Request, db: DB) -> Template | Any:
        """The transparency log explained in plain Chinese, with the current checkpoint and the log's key."""
        latest = await log_services.latest_checkpoint(db)
        vkeys = request.app.state.settings.witness_vkeys
        witnesses = await log_services.witness_status(db, vkeys)
        cosigned = [(w["size"], w["timestamp"]) for w in witnesses]
        headers, fresh = await _page_headers(request, db, "log", latest.size if latest else 0, cosigned)
        if fresh:
            return not_modified_response(headers)
        cosignatures = await log_services.cosignature_lines(db, latest.size) if latest else []
        context = page_context(
            request,
            "about",
            checkpoint=latest,
            checkpoint_text=log_services.with_cosignatures(latest.note, cosignatures) if latest else None,
            witnesses=len(cosignatures),
            witness_status=witnesses,
            vkey=request.app.state.log_signer.vkey,
            base_url=request.app.state.settings.base_url,
        )
        return html_page("log.html", context=context, headers=headers)

    @get("/about", operation_id="portalAbout")
    async def about(self, request: Request) -> Template:
        """What the platform is, how each trade goes, and the statutory periods it enforces."""
        context = page_context(
            request,
            "about",
            procedures=list(PROCEDURES.values()),
            trade_kinds=TRADE_KIND_NAMES,
            events=EVENTS | {"clarification": ("澄清或修改发出", "a clarification or change")},
        )
        return html_page("about.html", context=context)

    # --- signing in and out -----------------------------------------------------------------------------------

    @get("/login", operation_id="portalLoginForm")
    async def login_form(
        self, request: Request, next_path: str = QueryParameter(name="next", default="", max_length=500)
    ) -> Template | Redirect:
        """The sign-in form (sets the double-submit CSRF cookie)."""
        if request_actor(request) is not None:
            return Redirect(path=_safe_next(next_path), status_code=303)
        return self._login_page(request, next_path, status=200, error=None)

    def _login_page(
        self, request: Request, next_path: str, *, status: int, error: dict[str, Any] | None, username: str = ""
    ) -> Template:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if len(token) < 32 or len(token) > 128:
            token = secrets.token_urlsafe(32)
        context = page_context(
            request, "login", login_csrf=token, next=_safe_next(next_path, ""), error=error, username=username
        )
        return html_page(
            "login.html",
            context=context,
            status_code=status,
            headers=NO_STORE,
            cookies=[_cookie(request, LOGIN_CSRF_COOKIE, token, 3600, path="/login")],
        )

    @post("/login", operation_id="portalLogin", status_code=303)
    async def login(self, request: Request, db: DB, data: Annotated[LoginForm, Form]) -> Template | Redirect:
        """Sign in with username and password; the session cookie is HttpOnly and SameSite=Lax."""
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not cookie or not data.csrf_token or not hmac.compare_digest(cookie.encode(), data.csrf_token.encode()):
            raise _csrf_failed()
        username = data.username.strip()
        if not username or not data.password:
            error = InvalidInput("请输入用户名和密码", "Enter your username and password", code="credentials_required")
            return self._login_page(request, data.next, status=400, error=error.to_dict()["error"], username=username)
        settings = request.app.state.settings
        act = await make_act(request, db)
        try:
            person = await authenticate(db, username, data.password, act.address, act.at, settings)
        except DomainError as exc:  # wrong password (401) or too many attempts (429)
            return self._login_page(
                request, data.next, status=exc.status_code, error=exc.to_dict()["error"], username=username
            )
        cookie_value, _csrf = await start_portal_session(db, person, client_address(request), act.at, settings)
        return Redirect(
            path=_safe_next(data.next),
            status_code=303,
            headers=NO_STORE,
            cookies=[
                _cookie(request, SESSION_COOKIE, cookie_value, settings.session_lifetime),
                _cookie(request, LOGIN_CSRF_COOKIE, "", 0, path="/login"),
            ],
        )

    @post("/logout", operation_id="portalLogout", status_code=303)
    async def logout(self, request: Request, db: DB, data: Annotated[CsrfForm, Form]) -> Redirect:
        """Sign out: the session ends on the server and the cookie is cleared."""
        cookie_value = request.cookies.get(SESSION_COOKIE)
        if request_actor(request) is not None:
            check_session_csrf(request, data.csrf_token)
            if cookie_value:
                await end_portal_session(db, cookie_value)
        return Redirect(
            path="/",
            status_code=303,
            headers=NO_STORE,
            cookies=[_cookie(request, SESSION_COOKIE, "", 0)],
        )

    # --- supervision -------------------------------------------------------------------------------------------

    @get("/audit", operation_id="portalAudit")
    async def audit(
        self,
        request: Request,
        db: DB,
        subject_type: str = Parameter(default="", max_length=40),
        subject_id: str = Parameter(default="", max_length=64),
        cursor: str = Parameter(default="", max_length=200),
    ) -> Template:
        """The audit trail (审计日志), newest first — the admin all of it, a supervisor its own centre's."""
        viewer = request_actor(request)
        assert viewer is not None
        page = await audit_page(
            db,
            viewer,
            subject_type=subject_type.strip() or None,
            subject_id=subject_id.strip() or None,
            cursor=cursor or None,
            limit=50,
        )
        params = {"subject_type": subject_type.strip(), "subject_id": subject_id.strip()}
        context = page_context(
            request,
            "audit",
            page=page,
            subject_type=params["subject_type"],
            subject_id=params["subject_id"],
            next_url=_url("/audit", params | {"cursor": page.next}) if page.next else None,
            first_url=_url("/audit", params) if cursor else None,
        )
        return html_page("audit.html", context=context, headers=NO_STORE)

    @get("/supervision", operation_id="portalAlerts")
    async def alerts(
        self,
        request: Request,
        db: DB,
        show: str = Parameter(default="open", max_length=10),
        done: str = Parameter(default="", max_length=20),
    ) -> Template:
        """The alerts (监督预警) for the supervisors of a centre, newest first — those not yet seen, or all; the
        admin sees every centre's. Each names its trade and can be marked as seen."""
        from trading.funds.services import alerts  # (funds publishes through notices)

        viewer = request_actor(request)
        assert viewer is not None
        rows = await alerts(db, viewer, open_only=show != "all")
        projects = {r.project_id for r in rows}
        seen_by = {r.acknowledged_by for r in rows if r.acknowledged_by is not None}
        names = {
            "projects": await _names(db, Project.id, Project.name, projects),
            "people": await _names(db, Person.id, Person.display_name, seen_by),
        }
        context = page_context(
            request,
            "supervision",
            alerts=rows,
            names=names,
            show="all" if show == "all" else "open",
            message="已标记为已阅。" if done == "acknowledged" else None,
        )
        return html_page("supervision.html", context=context, headers=NO_STORE)

    @post("/supervision/alerts/{alert_id:int}/acknowledge", operation_id="portalAcknowledgeAlert", status_code=303)
    async def acknowledge_alert(
        self, request: Request, db: DB, alert_id: FromPath[int], data: Annotated[AcknowledgeForm, Form]
    ) -> Redirect:
        """Mark an alert as seen (who and when is recorded in the audit trail); back to the list it was on."""
        from trading.funds.services import acknowledge

        check_session_csrf(request, data.csrf_token)
        await acknowledge(db, await make_act(request, db), alert_id)
        back = _url("/supervision", {"show": "all" if data.show == "all" else "", "done": "acknowledged"})
        return Redirect(path=back, status_code=303, headers=NO_STORE)


class AccountPortalController(Controller):
    """The signed-in person's page: who I am, my roles, my API tokens."""

    path = "/account"
    include_in_schema = False

    @get("/", operation_id="portalAccount")
    async def account(self, request: Request, db: DB, done: str = Parameter(default="", max_length=20)) -> Template:
        """Who I am, my roles and my API tokens."""
        message = "令牌已吊销，使用它的程序将不能再访问接口。" if done == "revoked" else None
        return await self._page(request, db, message=message)

    async def _page(
        self,
        request: Request,
        db: DB,
        *,
        status: int = 200,
        new_token: str | None = None,
        new_label: str = "",
        error: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> Template:
        actor = request_actor(request)
        assert actor is not None
        organisation = await get_organisation(db, actor.organisation_id) if actor.organisation_id else None
        centre = await db.get(TradingCentre, actor.centre_id) if actor.centre_id else None
        letters = []
        if actor.has_role("bidder") and actor.organisation_id is not None:
            from evaluation.award import my_letters  # (evaluation publishes through notices)

            letters = await my_letters(db, await make_act(request, db))
        context = page_context(
            request,
            "account",
            letters=letters,
            organisation=organisation,
            centre=centre,
            role_names=ROLE_NAMES_ZH,
            tokens=await list_tokens(db, actor),
            now=await request.app.state.clock.now(db),
            new_token=new_token,
            new_label=new_label,
            error=error,
            message=message,
        )
        return html_page("account.html", context=context, status_code=status, headers=NO_STORE)

    @post("/tokens", operation_id="portalCreateToken", status_code=201)
    async def create_token(self, request: Request, db: DB, data: Annotated[TokenForm, Form]) -> Template:
        """Issue an API token; it is shown once, on this page, and only its hash is kept."""
        actor = check_session_csrf(request, data.csrf_token)
        label = data.label.strip()
        if not label:
            error = InvalidInput("请为令牌填写用途说明", "Give the token a label", code="label_required")
            return await self._page(request, db, status=400, error=error.to_dict()["error"])
        person = await db.get(Person, actor.person_id)
        assert person is not None
        row, token = await issue_token(db, await make_act(request, db), person, label, request.app.state.settings)
        return await self._page(request, db, status=201, new_token=token, new_label=row.label)

    @post("/tokens/{token_id:int}/revoke", operation_id="portalRevokeToken", status_code=303)
    async def revoke(
        self, request: Request, db: DB, token_id: FromPath[int], data: Annotated[CsrfForm, Form]
    ) -> Redirect:
        """Revoke one of my API tokens."""
        check_session_csrf(request, data.csrf_token)
        await revoke_token(db, await make_act(request, db), token_id)
        return Redirect(path="/account?done=revoked", status_code=303, headers=NO_STORE)
