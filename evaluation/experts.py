"""The expert pool (评标专家库): who can be drawn, with which specialities, from which employer.

The pool is the province's (省综合评标评审专家库), kept by named expert-pool keepers (专家库管理员) and the
admin — not by any centre's staff, who only draw from it. A committed draw fixes its pool and the draw fixes
the persons who sit: while an expert is in the pool of a draw whose trade has not ended, nothing that would
change who sits (the linked account, being active) can be changed. Every change is audited and logged.
"""

from __future__ import annotations

import hashlib

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation import schemas
from evaluation.models import Expert, ExpertDraw
from trading.accounts.credit_code import validate_credit_code
from trading.accounts.models import Person
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act, Actor
from trading.errors import Conflict, Forbidden, InvalidInput, NotFound
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Section
from trading.regions import REGIONS


def _keeper(act: Act) -> Actor:
    actor = act.actor
    if actor is None or not actor.has_role("expert_keeper", "admin"):
        raise Forbidden(
            "评标专家库由专家库管理员维护", "The expert pool is kept by the expert-pool keepers", code="keepers_only"
        )
    return actor


def read(expert: Expert) -> schemas.ExpertRead:
    return schemas.ExpertRead(
        id=expert.id,
        name=expert.name,
        specialities=list(expert.specialities),
        region_code=expert.region_code,
        organisation_name=expert.organisation_name,
        organisation_credit_code=expert.organisation_credit_code,
        person_id=expert.person_id,
        active=expert.active,
    )


async def _check(session: AsyncSession, data: schemas.ExpertIn, expert_id: int | None) -> str:
    if data.region_code not in REGIONS:
        raise InvalidInput("行政区划代码不在湖南省内", "Not a Hunan region code", code="bad_region")
    code = validate_credit_code(data.organisation_credit_code) if data.organisation_credit_code else ""
    if data.person_id is not None:
        person = await session.get(Person, data.person_id)
        if person is None or "evaluator" not in person.roles:
            raise InvalidInput(
                "关联的账号须为评标专家角色", "The linked account must hold the evaluator role", code="not_evaluator"
            )
        taken = await session.scalar(select(Expert.id).where(Expert.person_id == data.person_id))
        if taken is not None and taken != expert_id:
            raise Conflict("该账号已关联另一名专家", "That account belongs to another expert", code="person_taken")
    return code


async def create(session: AsyncSession, act: Act, data: schemas.ExpertIn) -> Expert:
    actor = _keeper(act)
    code = await _check(session, data, None)
    expert = Expert(
        name=data.name,
        specialities=sorted(set(data.specialities)),
        region_code=data.region_code,
        organisation_name=data.organisation_name,
        organisation_credit_code=code,
        person_id=data.person_id,
        active=data.active,
        created_at=act.at,
        updated_at=act.at,
    )
    session.add(expert)
    await session.flush()
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="expert.create",
        subject_type="expert",
        subject_id=expert.id,
        after=msgspec.to_builtins(read(expert)),
    )
    await _log_change(session, act, expert, "create")
    return expert


async def update(session: AsyncSession, act: Act, expert_id: int, data: schemas.ExpertIn) -> Expert:
    actor = _keeper(act)
    expert = await session.get(Expert, expert_id)
    if expert is None:
        raise NotFound("没有这名专家", "No such expert", code="expert_not_found")
    code = await _check(session, data, expert_id)
    if data.person_id != expert.person_id or (expert.active and not data.active):
        await _refuse_while_drawn(session, expert)
    before = read(expert)
    expert.name, expert.specialities, expert.region_code = data.name, sorted(set(data.specialities)), data.region_code
    expert.organisation_name, expert.organisation_credit_code = data.organisation_name, code
    expert.person_id, expert.active, expert.updated_at = data.person_id, data.active, act.at
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="expert.update",
        subject_type="expert",
        subject_id=expert.id,
        before=msgspec.to_builtins(before),
        after=msgspec.to_builtins(read(expert)),
    )
    await _log_change(session, act, expert, "update")
    return expert


#: Section states in which a trade has ended (its panel no longer sits).
ENDED = ("awarded", "contracted", "terminated", "failed")


async def _refuse_while_drawn(session: AsyncSession, expert: Expert) -> None:
    """409 when the expert is in the pool of a draw whose trade has not ended, naming the section."""
    rows = await session.execute(
        select(ExpertDraw.section_id, ExpertDraw.pool, Section.code, Section.name)
        .join(Section, Section.id == ExpertDraw.section_id)
        .where(ExpertDraw.revealed_at.is_(None), Section.state.not_in(ENDED))
        .order_by(ExpertDraw.section_id)
    )
    for section_id, pool, code, name in rows:
        if any(entry["expert_id"] == expert.id for entry in pool):
            raise Conflict(
                f"该专家在第 {section_id} 号标段（{name}）的专家抽取范围内，交易结束前不能更改关联账号或停用",
                f"This expert is in the pool of section {section_id} ({code}): until that trade ends, the "
                "linked account cannot change and the expert cannot be disabled",
                code="expert_in_draw",
                details={"section_id": section_id},
            )


async def _log_change(session: AsyncSession, act: Act, expert: Expert, action: str) -> None:
    """Each change to the pool is a log entry: the expert's id and a hash of the record (names stay private)."""
    record_hash = hashlib.sha256(canonical_bytes(msgspec.to_builtins(read(expert)))).hexdigest()
    await log.append(
        session,
        event_key=f"expert:{expert.id}:{action}:{record_hash}:{act.at.isoformat()}",
        kind="expert_change",
        document=log_entries.expert_change(
            expert_id=expert.id, action=action, record_sha256=record_hash, active=expert.active, at=act.at
        ),
        at=act.at,
    )


async def listing(session: AsyncSession, act: Act, speciality: str | None = None) -> list[Expert]:
    _keeper(act)
    rows = list(await session.scalars(select(Expert).order_by(Expert.id)))
    return [e for e in rows if speciality is None or speciality in e.specialities]
