"""The rules for trading projects: creating them with funding and sections, reading them, moving sections."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from trading.accounts.models import Organisation, TradingCentre
from trading.accounts.services import require_same_centre
from trading.audit.services import record
from trading.context import Act, Actor
from trading.errors import Forbidden, InvalidInput, NotFound
from trading.projects import schemas
from trading.projects.models import FundingSource, Project, Section
from trading.projects.trade_code import make_trade_code
from trading.regions import full_name, get_region, is_within
from trading.rules.procedures import apply_transition, get_procedure
from trading.sequences import next_value

Visibility = Literal["public", "staff"]


def project_document(project: Project) -> dict[str, Any]:
    """The project as a plain document (for audit hashes)."""
    return {
        "id": project.id,
        "trade_code": project.trade_code,
        "name": project.name,
        "trade_kind": project.trade_kind,
        "procedure": project.procedure,
        "region_code": project.region_code,
        "centre_id": project.centre_id,
        "tenderer_id": project.tenderer_id,
        "agent_id": project.agent_id,
        "description": project.description,
        "budget_fen": project.budget_fen,
        "control_price_fen": project.control_price_fen,
        "state": project.state,
    }


async def _organisation(
    session: AsyncSession, org_id: int, kinds: Iterable[str], role_zh: str, role_en: str
) -> Organisation:
    org = await session.get(Organisation, org_id)
    wanted = set(kinds)
    if org is None or not wanted.intersection(org.kinds):
        raise InvalidInput(
            f"{role_zh}不存在或未登记为{role_zh}",
            f"The {role_en} does not exist or is not registered as a {role_en}",
            code="bad_organisation",
            details={"organisation_id": org_id},
        )
    return org


async def create_project(session: AsyncSession, act: Act, data: schemas.ProjectCreate) -> Project:
    actor = act.actor
    assert actor is not None
    procedure = get_procedure(data.procedure)
    if procedure.trade_kind != data.trade_kind:
        raise InvalidInput(
            f"交易方式「{procedure.name_zh}」不属于该交易类型",
            f"The procedure {procedure.key} does not belong to trade kind {data.trade_kind}",
            code="procedure_mismatch",
        )
    get_region(data.region_code)
    if actor.has_role("admin") and data.centre_id is not None:
        centre_id = data.centre_id
    elif actor.centre_id is not None:
        if data.centre_id is not None and data.centre_id != actor.centre_id:
            require_same_centre(actor, data.centre_id)
        centre_id = actor.centre_id
    else:
        raise InvalidInput("请指定交易中心", "Name the trading centre (centre_id)", code="centre_required")
    centre = await session.get(TradingCentre, centre_id)
    if centre is None:
        raise InvalidInput("交易中心不存在", "The trading centre does not exist", code="unknown_centre")
    if not is_within(data.region_code, centre.region_code):
        # A centre trades for its own area (a city's for the city and its counties; the province's for all).
        raise InvalidInput(
            f"项目所在地 {full_name(data.region_code)} 不在{centre.name}的辖区内",
            f"The project's place, {data.region_code}, lies outside the area of the trading centre it is filed with",
            code="region_outside_centre",
            details={"region_code": data.region_code, "centre_region_code": centre.region_code},
        )
    owner_kinds = ("transferor", "tenderer") if data.trade_kind in ("land", "property") else ("tenderer",)
    await _organisation(session, data.tenderer_id, owner_kinds, "招标人/出让人", "tenderer or transferor")
    if data.agent_id is not None:
        await _organisation(session, data.agent_id, ("agent",), "代理机构", "agent")
    codes = [s.code for s in data.sections]
    if len(set(codes)) != len(codes):
        raise InvalidInput("标段编号不能重复", "Section codes must be unique", code="duplicate_section")

    year = act.at.astimezone(ZoneInfo("Asia/Shanghai")).year
    serial = await next_value(session, f"trade:{data.region_code}:{year}:{data.trade_kind}")
    project = Project(
        trade_code=make_trade_code(data.region_code, year, data.trade_kind, serial),
        name=data.name,
        trade_kind=data.trade_kind,
        procedure=procedure.key,
        region_code=data.region_code,
        centre_id=centre_id,
        tenderer_id=data.tenderer_id,
        agent_id=data.agent_id,
        description=data.description,
        budget_fen=data.budget_fen,
        control_price_fen=data.control_price_fen,
        state="draft",
        created_at=act.at,
        created_by=actor.person_id,
    )
    session.add(project)
    await session.flush()
    for source in data.funding_sources:
        session.add(
            FundingSource(
                project_id=project.id,
                kind=source.kind,
                description=source.description,
                amount_fen=source.amount_fen,
            )
        )
    for sec in data.sections:
        session.add(
            Section(
                project_id=project.id,
                code=sec.code,
                name=sec.name,
                state=procedure.initial,
                estimated_price_fen=sec.estimated_price_fen,
                timetable={},
            )
        )
    await session.flush()
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="project.create",
        subject_type="project",
        subject_id=project.id,
        after=project_document(project),
        details={"trade_code": project.trade_code},
    )
    return project


async def load_project(session: AsyncSession, project_id: int, *, viewer: Actor | None = None) -> Project:
    """A project with its funding and sections. Drafts are visible to staff of its centre, admins and
    supervisors only."""
    project = await session.scalar(
        select(Project)
        .where(Project.id == project_id)
        .options(selectinload(Project.funding_sources), selectinload(Project.sections))
    )
    if project is None or (project.state == "draft" and not may_see_drafts(viewer, project)):
        raise NotFound("项目不存在", "No such project", code="project_not_found")
    return project


def may_see_drafts(viewer: Actor | None, project: Project) -> bool:
    """A draft project is seen by the admin, and by the staff and supervisors of its own centre."""
    if viewer is None:
        return False
    if viewer.has_role("admin"):
        return True
    return viewer.has_role("staff", "supervisor") and viewer.centre_id == project.centre_id


async def centre_of_project(session: AsyncSession, project_id: int) -> int | None:
    """The trading centre running a project (None when there is no such project)."""
    return await session.scalar(select(Project.centre_id).where(Project.id == project_id))


async def centre_of_section(session: AsyncSession, section_id: int) -> int | None:
    """The trading centre running a section's project (None when there is no such section)."""
    return await session.scalar(
        select(Project.centre_id).join(Section, Section.project_id == Project.id).where(Section.id == section_id)
    )


async def section_and_project(session: AsyncSession, section_id: int) -> tuple[Section, Project]:
    """A section with its project; 404 if there is no such section."""
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound("标段不存在", "No such section", code="section_not_found")
    project = await session.get(Project, section.project_id)
    assert project is not None
    return section, project


async def project_for_staff(session: AsyncSession, actor: Actor, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("项目不存在", "No such project", code="project_not_found")
    require_same_centre(actor, project.centre_id)
    return project


async def project_read(session: AsyncSession, project: Project) -> schemas.ProjectRead:
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organisation).where(Organisation.id.in_([project.tenderer_id, project.agent_id or 0]))
        )
    }
    agent = orgs.get(project.agent_id) if project.agent_id else None
    return schemas.ProjectRead(
        id=project.id,
        trade_code=project.trade_code,
        name=project.name,
        trade_kind=project.trade_kind,
        procedure=project.procedure,
        region_code=project.region_code,
        region_name=full_name(project.region_code),
        centre_id=project.centre_id,
        tenderer_id=project.tenderer_id,
        tenderer_name=orgs[project.tenderer_id].name,
        agent_id=project.agent_id,
        agent_name=agent.name if agent else None,
        description=project.description,
        budget_fen=project.budget_fen,
        control_price_fen=project.control_price_fen,
        state=project.state,
        created_at=project.created_at,
        funding_sources=[
            schemas.FundingSourceRead(
                kind=f.kind,
                kind_zh=schemas.FUNDING_KIND_NAMES[f.kind][0],
                description=f.description,
                amount_fen=f.amount_fen,
            )
            for f in project.funding_sources
        ],
        sections=[
            schemas.SectionRead(
                id=s.id,
                code=s.code,
                name=s.name,
                state=s.state,
                estimated_price_fen=s.estimated_price_fen,
                timetable=dict(s.timetable),
                deadline_at=s.deadline_at,
            )
            for s in project.sections
        ],
    )


async def move_sections(
    session: AsyncSession,
    act: Act,
    project: Project,
    sections: list[Section],
    action: str,
    *,
    roles: Iterable[str],
) -> None:
    """Apply one procedure act to several sections, each through the state machine (refusing if any may not)."""
    procedure = get_procedure(project.procedure)
    moves = [(s, apply_transition(procedure, s.state, action, roles)) for s in sections]
    for section, new_state in moves:
        before = section.state
        section.state = new_state
        await record(
            session,
            actor=act.actor,
            address=act.address,
            at=act.at,
            action=f"section.{action}",
            subject_type="section",
            subject_id=section.id,
            before={"id": section.id, "state": before},
            after={"id": section.id, "state": new_state},
        )


def actor_roles(actor: Actor | None) -> tuple[str, ...]:
    if actor is None:
        raise Forbidden("需要登录", "Sign in first")
    return actor.roles


def timetable_for_storage(timetable: dict[str, datetime]) -> dict[str, str]:
    return {k: v.astimezone(UTC).isoformat() for k, v in sorted(timetable.items())}
