"""Fund usage over HTTP: staff record contracts and payments; everyone reads a section's contract, a project's
funds and the summaries as JSON, CSV, SVG charts and portal pages; supervisors see and acknowledge the alerts
contracts and payments raise."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.response import Template

from notices.portal import html_page, page_context
from trading.errors import InvalidInput, NotFound
from trading.funds import charts, contracts, schemas, services
from trading.projects.schemas import TRADE_KIND_NAMES
from trading.regions import CITIES, REGIONS
from trading.web import DB, make_act, request_actor

SVG = "image/svg+xml"
#: Litestar adds "; charset=utf-8" to every text/* type (naming it here too sent it twice).
CSV = "text/csv"


#: What makes a spreadsheet program read a cell as a formula (=HYPERLINK(…) leaking the sheet, DDE running a
#: command): its first character, in ASCII or full width (WPS and Excel read both), or a tab or return before it.
_FORMULA_START = re.compile(r"[=+\-@\t\r＝＋－＠]")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: Any) -> Any:
    """*value* as a cell no spreadsheet runs: text that would start a formula is given a leading apostrophe
    (shown as text, as OWASP advises); numbers, a negative one included, stay numbers."""
    if isinstance(value, str) and _FORMULA_START.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv(rows: list[list[Any]], filename: str) -> Response[bytes]:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[spreadsheet_cell(v) for v in row] for row in rows])
    # With a BOM, spreadsheet programs open the Chinese text as UTF-8.
    return Response(
        content=("\ufeff" + buffer.getvalue()).encode(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _alert(a: Any) -> schemas.AlertRead:
    return schemas.AlertRead(
        id=a.id,
        kind=a.kind,
        project_id=a.project_id,
        subject_type=a.subject_type,
        subject_id=a.subject_id,
        message_zh=a.message_zh,
        message_en=a.message_en,
        details=a.details,
        created_at=a.created_at,
        acknowledged_at=a.acknowledged_at,
    )


def _region(region: str | None) -> str | None:
    if region is not None and region not in REGIONS:
        raise InvalidInput("行政区划代码不在湖南省内", "Not a Hunan region code", code="bad_region")
    return region


class FundsApiController(Controller):
    tags = ["funds"]

    @post(
        "/api/sections/{section_id:int}/contract",
        operation_id="recordContract",
    )
    async def record_contract(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ContractIn]
    ) -> schemas.ContractRead:
        """Record a section's signed contract; the platform checks it against the award and publishes it."""
        return contracts.read(await contracts.record_contract(db, await make_act(request, db), section_id, data))

    @get("/api/sections/{section_id:int}/contract", operation_id="getContract")
    async def contract(self, db: DB, section_id: FromPath[int]) -> schemas.ContractRead:
        """A section's published contract: parties, amount against the award, dates, term, document hash."""
        return contracts.read(await contracts.contract_of(db, section_id))

    @post(
        "/api/projects/{project_id:int}/payments",
        operation_id="recordPayment",
    )
    async def record(
        self, request: Request, db: DB, project_id: FromPath[int], data: JSONBody[schemas.PaymentIn]
    ) -> schemas.PaymentRead:
        """Record a payment made (or an instalment collected), with the hash of its evidence."""
        return services.read(await services.record_payment(db, await make_act(request, db), project_id, data))

    @get("/api/projects/{project_id:int}/funds", operation_id="getProjectFunds")
    async def funds(self, db: DB, project_id: FromPath[int]) -> schemas.FundsRead:
        """Funding sources, budget and control price, award and contract amounts, every payment."""
        return await services.project_funds(db, project_id)

    @get("/api/projects/{project_id:int}/payments.csv", operation_id="getProjectPaymentsCsv", media_type=CSV)
    async def payments_csv(self, db: DB, project_id: FromPath[int]) -> Response[bytes]:
        """The project's payments as CSV."""
        funds = await services.project_funds(db, project_id)
        rows: list[list[Any]] = [
            ["日期 date", "类型 kind", "金额（元）amount (CNY)", "付款人 payer", "收款人 payee", "用途 purpose",
             "节点 milestone", "凭证SHA-256 evidence", "标记 flags"]
        ]  # fmt: skip
        for p in funds.payments:
            rows.append(
                [
                    p.paid_on.isoformat(),
                    p.kind,
                    f"{p.amount_fen / 100:.2f}",
                    p.payer,
                    p.payee,
                    p.purpose,
                    p.milestone,
                    p.evidence_sha256,
                    " ".join(p.flags),
                ]
            )
        return _csv(rows, f"{funds.trade_code}-payments.csv")

    @get("/api/funds/summary", operation_id="getFundsSummary")
    async def summary(
        self,
        db: DB,
        year: int | None = Parameter(default=None, ge=2000, le=2100),
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$"),
    ) -> schemas.SummaryRead:
        """Totals of funding, contracted and paid amounts by trade kind and by funding source."""
        return await services.summary(db, year=year, region_code=_region(region))

    @get("/api/funds/summary.csv", operation_id="getFundsSummaryCsv", media_type=CSV)
    async def summary_csv(
        self,
        db: DB,
        year: int | None = Parameter(default=None, ge=2000, le=2100),
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$"),
    ) -> Response[bytes]:
        """The summary as CSV (by trade kind, then by funding source)."""
        s = await services.summary(db, year=year, region_code=_region(region))
        rows: list[list[Any]] = [["分组 group", "类别 key", "名称 name", "项目数 projects", "资金（元）funding",
                                  "合同（元）contracted", "已支付（元）paid", "已收缴（元）collected"]]  # fmt: skip
        for group, table in (("trade_kind", s.by_trade_kind), ("funding_source", s.by_funding_source)):
            for r in table:
                rows.append(
                    [group, r.key, r.name_zh, r.projects, f"{r.funding_fen / 100:.2f}",
                     f"{r.contracted_fen / 100:.2f}", f"{r.paid_fen / 100:.2f}", f"{r.collected_fen / 100:.2f}"]
                )  # fmt: skip
        return _csv(rows, f"funds-{year or 'all'}-{region or '430000'}.csv")

    @get("/api/supervision/alerts", operation_id="listAlerts")
    async def alerts(
        self, request: Request, db: DB, open_only: bool = QueryParameter(name="open", default=True)
    ) -> list[schemas.AlertRead]:
        """Alerts for the supervisors of a centre: payments over the contract or not to the contractor, contracts
        late or missing, a publicity or an objection's reply late, and objection replies and complaint decisions
        or rulings overdue (raised while they are overdue)."""
        viewer = request_actor(request)
        assert viewer is not None
        return [_alert(a) for a in await services.alerts(db, viewer, open_only=open_only)]

    @post(
        "/api/supervision/alerts/{alert_id:int}/acknowledge",
        operation_id="acknowledgeAlert",
        status_code=200,
    )
    async def acknowledge(self, request: Request, db: DB, alert_id: FromPath[int]) -> schemas.AlertRead:
        """Mark an alert as seen (who and when is recorded)."""
        return _alert(await services.acknowledge(db, await make_act(request, db), alert_id))


class FundsPortalController(Controller):
    """Public pages and charts (SVG, drawn on the server)."""

    include_in_schema = False

    @get("/projects/{project_id:int}/funds", operation_id="portalProjectFunds")
    async def project_page(self, request: Request, db: DB, project_id: FromPath[int]) -> Template:
        funds = await services.project_funds(db, project_id)
        return html_page(
            "funds_project.html",
            context=page_context(request, funds.trade_kind, funds=funds, kinds=TRADE_KIND_NAMES),
        )

    @get("/projects/{project_id:int}/funds/timeline.svg", operation_id="portalProjectFundsChart", media_type=SVG)
    async def timeline(self, request: Request, db: DB, project_id: FromPath[int]) -> Response[str]:
        funds = await services.project_funds(db, project_id)
        today = (await request.app.state.clock.now(db)).astimezone(services.SHANGHAI).date()
        dates = [p.paid_on for p in funds.payments]
        signed = _signed(funds)
        start = min([*dates, *([signed] if signed else [])], default=today - timedelta(days=30))
        base = funds.award_fen if funds.trade_kind in ("land", "property") else funds.contract_fen
        svg = charts.timeline_chart(
            [(p.paid_on, p.amount_fen) for p in funds.payments],
            contract_fen=base,
            start=start,
            end=max(today, *dates) if dates else today,
            title=f"{funds.name}：累计支付",
        )
        return Response(content=svg, media_type=SVG, headers={"Cache-Control": "public, max-age=60"})

    @get("/funds", operation_id="portalFunds")
    async def summary_page(
        self,
        request: Request,
        db: DB,
        year: int | None = Parameter(default=None, ge=2000, le=2100),
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$"),
    ) -> Template:
        s = await services.summary(db, year=year, region_code=_region(region))
        query = "&".join(f"{k}={v}" for k, v in (("year", year), ("region", region)) if v)
        return html_page(
            "funds.html",
            context=page_context(
                request,
                "funds",
                summary=s,
                query=query,
                region_name=REGIONS[region].name if region else "湖南省",
                cities=CITIES,
            ),
        )

    @get("/funds/charts/{chart:str}", operation_id="portalFundsChart", media_type=SVG)
    async def summary_chart(
        self,
        db: DB,
        chart: FromPath[str],
        year: int | None = Parameter(default=None, ge=2000, le=2100),
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$"),
    ) -> Response[str]:
        s = await services.summary(db, year=year, region_code=_region(region))
        if chart == "by-kind.svg":  # the trades that spend project funds (land and property bring money in)
            items = [(r.name_zh, r.funding_fen) for r in s.by_trade_kind if r.spends]
            title = "按交易类型：项目资金"
        elif chart == "collected-by-kind.svg":
            items = [(r.name_zh, r.collected_fen) for r in s.by_trade_kind if not r.spends]
            title = "按交易类型：已收缴（土地出让价款、产权转让价款）"
        elif chart == "by-source.svg":
            items, title = [(r.name_zh, r.funding_fen) for r in s.by_funding_source], "按资金来源：项目资金"
        elif chart == "paid-by-source.svg":
            items, title = [(r.name_zh, r.paid_fen) for r in s.by_funding_source], "按资金来源：已支付"
        else:
            raise NotFound("没有这张图", "No such chart", code="chart_not_found")
        svg = charts.bar_chart(items, title=title)
        return Response(content=svg, media_type=SVG, headers={"Cache-Control": "public, max-age=60"})


def _signed(funds: schemas.FundsRead) -> date | None:
    days = []
    for contract in funds.contracts:
        try:
            days.append(datetime.fromisoformat(contract.signed_on or "").date())
        except ValueError:
            continue
    return min(days, default=None)
