"""OCDS from the database: every published notice version of a project becomes a release
(notices.ocds.releases); packages of releases for a date range, and a project's record."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notices.models import Attachment, Notice, NoticeVersion
from notices.ocds.releases import (
    BID_EXTENSION,
    OCDS_VERSION,
    Org,
    ProjectFacts,
    PublishedFile,
    PublishedVersion,
    Transaction,
    compile_releases,
    implementation_release,
    release,
)
from notices.reads import _in_region, attachment_url, document_url
from trading.accounts.models import Organisation
from trading.errors import NotFound
from trading.projects.models import FundingSource, Project
from trading.rules.procedures import PROCEDURES
from trading.settings import Settings
from trading.web import decode_cursor, encode_cursor

PUBLISHER = {"name": "湖南省公共资源交易平台 / Hunan Public Resource Trading Platform"}


async def project_facts(session: AsyncSession, project: Project, settings: Settings) -> ProjectFacts:
    tenderer = await session.get(Organisation, project.tenderer_id)
    agent = await session.get(Organisation, project.agent_id) if project.agent_id else None
    assert tenderer is not None
    funding = list(
        await session.scalars(
            select(FundingSource).where(FundingSource.project_id == project.id).order_by(FundingSource.id)
        )
    )
    procedure = PROCEDURES.get(project.procedure)
    return ProjectFacts(
        ocid_prefix=settings.ocid_prefix,
        trade_code=project.trade_code,
        name=project.name,
        trade_kind=project.trade_kind,
        procedure_name_zh=procedure.name_zh if procedure else project.procedure,
        tenderer=Org(tenderer.name, tenderer.credit_code),
        agent=Org(agent.name, agent.credit_code) if agent else None,
        budget_fen=project.budget_fen,
        control_price_fen=project.control_price_fen,
        funding=[(f.kind, f.description, f.amount_fen) for f in funding],
    )


#: A notice's published files: (the version that first published each, the file), in the order attached.
Files = dict[int, list[tuple[int, PublishedFile]]]


async def published_files(session: AsyncSession, notice_ids: Iterable[int], base_url: str) -> Files:
    """The published attachments of these notices, each with the time of the version that first published it."""
    ids = sorted(set(notice_ids))
    files: Files = defaultdict(list)
    if not ids:
        return files
    rows = await session.execute(
        select(Attachment, NoticeVersion.published_at)
        .join(
            NoticeVersion,
            and_(
                NoticeVersion.notice_id == Attachment.notice_id,
                NoticeVersion.version == Attachment.published_in_version,
            ),
        )
        .where(Attachment.notice_id.in_(ids))
        .order_by(Attachment.id)
    )
    for a, published_at in rows:
        url = base_url.rstrip("/") + attachment_url(a)
        file = PublishedFile(a.id, a.filename, a.media_type, a.sha256, a.size, url, published_at.isoformat())
        files[a.notice_id].append((a.published_in_version, file))
    return files


def published_version(
    notice: Notice, version: NoticeVersion, base_url: str, files: Files | None = None
) -> PublishedVersion:
    document = json.loads(version.document)
    return PublishedVersion(
        notice_id=notice.id,
        version=version.version,
        kind=notice.kind,
        title=version.title,
        published_at=document["published_at"],
        fields=document.get("fields") or {},
        timetable=document.get("timetable") or {},
        section_ids=document.get("section_ids") or [],
        content_sha256=version.content_hash,
        url=base_url.rstrip("/") + document_url(notice.id, version.version),
        files=[f for first, f in (files or {}).get(notice.id, ()) if first <= version.version],
    )


async def project_releases(session: AsyncSession, project: Project, settings: Settings) -> list[dict[str, Any]]:
    facts = await project_facts(session, project, settings)
    rows = (
        await session.execute(
            select(Notice, NoticeVersion)
            .join(NoticeVersion, NoticeVersion.notice_id == Notice.id)
            .where(Notice.project_id == project.id)
            .order_by(NoticeVersion.published_at, NoticeVersion.id)
        )
    ).all()
    releases = []
    files = await published_files(session, (n.id for n, _ in rows), settings.base_url)
    for n, v in rows:
        version = published_version(n, v, settings.base_url, files)
        releases.append(release(facts, version, opening_bids=await _opening_bids(session, version)))
    return releases + await _implementation(session, project, facts, rows)


async def _opening_bids(session: AsyncSession, version: PublishedVersion) -> list[Any] | None:
    """For a ruling on a disputed bid, the bids of the opening record it rules on (its release updates the
    ruled bid there); None for any other notice."""
    record_id = version.fields.get("opening_record_notice_id") if version.kind == "dispute_ruling" else None
    if type(record_id) is not int:
        return None
    document = await session.scalar(
        select(NoticeVersion.document)
        .where(NoticeVersion.notice_id == record_id)
        .order_by(NoticeVersion.version)
        .limit(1)
    )
    if document is None:
        return None
    bids = (json.loads(document).get("fields") or {}).get("bids")
    return bids if isinstance(bids, list) else None


async def _implementation(
    session: AsyncSession, project: Project, facts: ProjectFacts, rows: Any
) -> list[dict[str, Any]]:
    """The payments under the project's contract (kind "payment"), as implementation releases."""
    from trading.funds.models import Payment

    keys = {n.id: _contract_key(n) for n, _ in rows if n.kind == "contract"}
    if not keys:
        return []
    payments = await session.scalars(
        select(Payment).where(Payment.project_id == project.id, Payment.kind == "payment").order_by(Payment.id)
    )
    return [implementation_release(facts, keys.get(p.contract_notice_id, "s0"), _transaction(p)) for p in payments]


def _contract_key(notice: Notice | None) -> str:
    """The section key the contract release uses (notices.ocds.releases: one contract per section)."""
    return f"s{notice.section_ids[0]}" if notice is not None and notice.section_ids else "s0"


def _transaction(p: Any) -> Transaction:
    return Transaction(
        payment_id=p.id,
        paid_on=p.paid_on.isoformat(),
        recorded_at=p.recorded_at.isoformat(),
        amount_fen=p.amount_fen,
        payer=Org(p.payer),
        payee=Org(p.payee, p.payee_credit_code),
        purpose=p.purpose,
        evidence_sha256=p.evidence_sha256,
    )


def _package_head(uri: str, published: datetime) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": published.isoformat(),
        "publisher": PUBLISHER,
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "publicationPolicy": "https://ggzy.hunan.example/about#open-data",
        "extensions": [BID_EXTENSION],
    }


async def record_package(session: AsyncSession, ocid: str, settings: Settings, now: datetime) -> dict[str, Any]:
    prefix = settings.ocid_prefix + "-"
    project = (
        await session.scalar(select(Project).where(Project.trade_code == ocid[len(prefix) :]))
        if ocid.startswith(prefix)
        else None
    )
    releases = await project_releases(session, project, settings) if project is not None else []
    if not releases:
        raise NotFound(
            "没有这个开放合同编号（ocid）的已发布数据",
            "No published data for this ocid",
            code="ocid_not_found",
            details={"ocid_prefix": settings.ocid_prefix},
        )
    package = _package_head(f"{settings.base_url.rstrip('/')}/api/ocds/records/{ocid}", now)
    package["records"] = [{"ocid": ocid, "releases": releases, "compiledRelease": compile_releases(releases)}]
    return package


@dataclass(frozen=True)
class _Window:
    """What a release package page asks for: a date range, a region, a trade kind, and where to go on."""

    published_from: datetime | None
    published_to: datetime | None
    region: str | None
    trade_kind: str | None
    cursor: str | None
    limit: int

    def apply(self, query: Any, *, when: Any, key: Any, region_clause: Any, trade_kind_column: Any) -> Any:
        """The query narrowed to this window, in ``key`` order, one row past the page (to know if more follow)."""
        if self.published_from is not None:
            query = query.where(when >= self.published_from)
        if self.published_to is not None:
            query = query.where(when < self.published_to)
        if self.region is not None:
            query = query.where(region_clause)
        if self.trade_kind is not None:
            query = query.where(trade_kind_column == self.trade_kind)
        if self.cursor is not None:
            (after,) = decode_cursor(self.cursor, 1)
            query = query.where(key > int(after))
        return query.order_by(key).limit(self.limit + 1)

    def next_cursor(self, keys: list[int]) -> str | None:
        return encode_cursor([keys[self.limit - 1]]) if len(keys) > self.limit else None


async def release_package(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    published_from: datetime | None,
    published_to: datetime | None,
    region: str | None,
    trade_kind: str | None,
    cursor: str | None,
    limit: int,
    uri: str,
    stage: str = "notices",
) -> tuple[dict[str, Any], str | None]:
    """Releases published in a date range, oldest first; returns the package and the next page's cursor.
    ``stage="implementation"`` gives the payments' implementation releases instead of the notices'."""
    window = _Window(published_from, published_to, region, trade_kind, cursor, limit)
    facts: dict[int, ProjectFacts] = {}

    async def facts_of(project: Project) -> ProjectFacts:
        if project.id not in facts:
            facts[project.id] = await project_facts(session, project, settings)
        return facts[project.id]

    releases = []
    if stage == "implementation":
        from trading.funds.models import Payment
        from trading.regions_sql import within_region

        query = window.apply(
            select(Payment, Project).join(Project, Project.id == Payment.project_id).where(Payment.kind == "payment"),
            when=Payment.recorded_at,
            key=Payment.id,
            region_clause=within_region(Project.region_code, region) if region else None,
            trade_kind_column=Project.trade_kind,
        )
        payments = (await session.execute(query)).all()
        keys = [payment.id for payment, _ in payments]
        for payment, project in payments[:limit]:
            contract = await session.get(Notice, payment.contract_notice_id) if payment.contract_notice_id else None
            key = _contract_key(contract)
            releases.append(implementation_release(await facts_of(project), key, _transaction(payment)))
    else:
        query = window.apply(
            select(Notice, NoticeVersion, Project)
            .join(NoticeVersion, NoticeVersion.notice_id == Notice.id)
            .join(Project, Project.id == Notice.project_id),
            when=NoticeVersion.published_at,
            key=NoticeVersion.change_seq,
            region_clause=_in_region(region) if region else None,
            trade_kind_column=Notice.trade_kind,
        )
        versions = (await session.execute(query)).all()
        keys = [version.change_seq for _, version, _ in versions]
        files = await published_files(session, (notice.id for notice, _, _ in versions[:limit]), settings.base_url)
        for notice, version, project in versions[:limit]:
            published = published_version(notice, version, settings.base_url, files)
            opening_bids = await _opening_bids(session, published)
            releases.append(release(await facts_of(project), published, opening_bids=opening_bids))
    package = _package_head(uri, now)
    package["releases"] = releases
    return package, window.next_cursor(keys)
