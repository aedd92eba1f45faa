"""The expert pool (评标专家库), kept by staff: who can be drawn, with which specialities, from which employer."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation import schemas
from evaluation.models import Expert
from trading.accounts.credit_code import validate_credit_code
from trading.accounts.models import Person
from trading.accounts.services import require_staff
from trading.audit.services import record
from trading.context import Act, Actor
from trading.errors import Conflict, InvalidInput, NotFound
from trading.regions import REGIONS


def _staff(act: Act) -> Actor:
    return require_staff(act, "维护专家库", "keep the expert pool")


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
    actor = _staff(act)
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
    return expert


async def update(session: AsyncSession, act: Act, expert_id: int, data: schemas.ExpertIn) -> Expert:
    actor = _staff(act)
    expert = await session.get(Expert, expert_id)
    if expert is None:
        raise NotFound("没有这名专家", "No such expert", code="expert_not_found")
    code = await _check(session, data, expert_id)
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
    return expert


async def listing(session: AsyncSession, act: Act, speciality: str | None = None) -> list[Expert]:
    _staff(act)
    rows = list(await session.scalars(select(Expert).order_by(Expert.id)))
    return [e for e in rows if speciality is None or speciality in e.specialities]
