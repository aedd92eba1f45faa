"""The award (定标) and the result notice (中标/成交结果公告), with a letter to every bidder.

After the publicity has run its (possibly lengthened) course with nothing holding the trade, staff confirm
the winner — the first candidate, or another candidate with a reason (条例 §55: the first gave up, failed
to perform or was found ineligible). The platform then publishes the result notice with the fields 10号令
§13 and 87号令 §69 ask for, reveals the expert draw (seed and panel: 87号令 §47 keeps the names secret only
until now), and issues the award letter (中标通知书) to the winner and a result letter to every other bidder
with its own score and rank, or why it was rejected (87号令 §69). Each letter's hash is logged."""

from __future__ import annotations

import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.models import Bid
from evaluation import draws, schemas
from evaluation.models import ResultLetter
from evaluation.panel import panel_experts
from evaluation.publicity import require_not_held
from evaluation.reports import report_of
from evaluation.sections import centre_staff
from evaluation.sheets import opening_forms
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act
from trading.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Project, Section
from trading.projects.services import section_and_project

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _money(fen: int) -> str:
    return f"{fen / 100:,.2f} 元"


async def publish_result(session: AsyncSession, act: Act, section_id: int, data: schemas.AwardIn) -> dict[str, Any]:
    section, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "发布中标结果", "publish the result")
    publicity = await require_not_held(session, section_id)
    if section.state != "publicity":
        raise RuleViolation(
            f"标段当前状态为「{section.state}」，不能定标",
            f"The section is {section.state}: it cannot be awarded",
            code="illegal_transition",
        )
    if act.at < publicity.ends_at:
        raise RuleViolation(
            f"公示期至 {publicity.ends_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M} 结束，公示期满后方可定标",
            f"The publicity runs until {publicity.ends_at.isoformat()}: the award follows it",
            code="publicity_running",
            rule="条例 §54",
        )
    report_row = await report_of(session, section_id)
    report = report_row.report
    ranking = {r["bid_id"]: r for r in report["ranking"]}
    candidates = report["candidates"]
    winner_id = data.winner_bid_id if data.winner_bid_id is not None else candidates[0]
    if winner_id not in candidates:
        raise InvalidInput(
            "中标人须从公示的中标候选人中确定",
            "The winner must be one of the published candidates",
            code="not_a_candidate",
            rule="条例 §55",
        )
    if winner_id != candidates[0] and len(data.reason.strip()) < 4:
        raise InvalidInput(
            "不确定排名第一的中标候选人为中标人的，须写明理由（条例 §55）",
            "Choosing a candidate other than the first needs the reason (Reg. Art. 55)",
            code="reason_required",
            rule="条例 §55",
        )
    winner = ranking[winner_id]
    form = (await opening_forms(session, [winner_id]))[winner_id]
    org = await session.scalar(select(Organisation).where(Organisation.credit_code == winner["credit_code"]))
    draw = await draws.reveal(session, section_id, act)
    panel = [{"name": e.name, "organisation": e.organisation_name} for e in await panel_experts(session, section_id)]
    leader = next(
        (
            c.get("project_leader")
            for c in await _publicity_candidates(session, publicity.notice_id)
            if c.get("credit_code") == winner["credit_code"]
        ),
        None,
    )
    fields: dict[str, Any] = {
        "winner": winner["bidder"],
        "winner_credit_code": winner["credit_code"],
        "winner_address": org.address if org is not None else "",
        "price_fen": winner["price_fen"],
        "duration_days": form.get("duration_days"),
        "quality": form.get("quality"),
        "project_leader": leader,
        "evaluation_panel": panel,
        "rank": winner["rank"],
        "report_sha256": report_row.report_sha256,
        "draw_seed_sha256": draw.commitment,
    }
    if winner_id != candidates[0]:
        fields["reason"] = data.reason.strip()
    if project.agent_id is not None:
        agent = await session.get(Organisation, project.agent_id)
        fields["agency"] = agent.name if agent else ""
    tenderer = await session.get(Organisation, project.tenderer_id)
    fields["purchaser"] = tenderer.name if tenderer else ""
    fields["trade_code"] = project.trade_code
    body = (
        f"{project.name}{section.name}经评标委员会评审、中标候选人公示期满，确定中标人为：{winner['bidder']}，"
        f"中标价 {_money(winner['price_fen'])}，工期 {form.get('duration_days')} 日历天，质量 {form.get('quality')}，"
        f"项目负责人 {leader}。\n评标委员会成员：{'、'.join(p['name'] for p in panel)}。"
    )
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=project.id,
            kind="result",
            title=f"{project.name}{section.name}中标结果公告"[:300],
            body=body,
            fields=fields,
            section_ids=[section_id],
        ),
    )
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI, by_platform=True)
    letters = await _issue_letters(session, act, section, project, report, winner_id, draft.id)
    await log.append(
        session,
        event_key=f"result_letters:{section_id}",
        kind="result_letters",
        document=log_entries.result_letters(
            trade_code=project.trade_code,
            section_id=section_id,
            result_notice_id=draft.id,
            letters=[letter.content_sha256 for letter in letters],
            at=act.at,
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="evaluation.award",
        subject_type="section",
        subject_id=section_id,
        details={"winner_bid_id": winner_id, "notice_id": draft.id, "letters": len(letters)},
    )
    return {"notice_id": draft.id, "winner_bid_id": winner_id, "letters": len(letters)}


async def _publicity_candidates(session: AsyncSession, notice_id: int) -> list[dict[str, Any]]:
    from notices.models import Notice

    notice = await session.get(Notice, notice_id)
    return [c for c in (notice.fields.get("candidates") or []) if isinstance(c, dict)] if notice else []


async def _issue_letters(
    session: AsyncSession,
    act: Act,
    section: Section,
    project: Project,
    report: dict[str, Any],
    winner_id: int,
    notice_id: int,
) -> list[ResultLetter]:
    section_id = section.id
    by_bid = {b["bid_id"]: b for b in report["bids"]}
    ranked = {r["bid_id"]: r for r in report["ranking"]}
    winner = ranked[winner_id]
    bids = list(await session.scalars(select(Bid).where(Bid.section_id == section_id, Bid.state == "active")))
    letters = []
    for bid in sorted(bids, key=lambda b: b.id):
        if bid.organisation_id in {letter.organisation_id for letter in letters}:
            continue
        mine = by_bid.get(bid.id)
        content: dict[str, Any] = {
            "section_id": section_id,
            "project": project.name,
            "section": section.name,
            "trade_code": project.trade_code,
            "result_notice_id": notice_id,
            "winner": winner["bidder"],
            "winner_price_fen": winner["price_fen"],
            "issued_at": act.at.isoformat(),
            "bid_id": bid.id,
            "ranked_bids": len(report["ranking"]),
        }
        if mine is None:
            content["outcome"] = "not_opened"
            content["reason"] = "投标文件开标时未能解密，依法视为撤销或撤回（20号令 §31）"
        elif not mine["qualified"]:
            ground = mine["rejection"]["ground"]
            content["outcome"] = "rejected"
            content["reason"] = schemas.REJECTION_GROUNDS[ground][0]
        else:
            r = ranked[bid.id]
            content["outcome"] = "awarded" if bid.id == winner_id else "not_awarded"
            content["rank"] = r["rank"]
            content["score"] = r["total"]
            content["evaluated_price_fen"] = r["evaluated_price_fen"]
            content["criteria"] = mine["criteria"]
        kind = "award" if bid.id == winner_id else "result"
        letter = ResultLetter(
            section_id=section_id,
            organisation_id=bid.organisation_id,
            kind=kind,
            content=content,
            content_sha256=hashlib.sha256(canonical_bytes(content)).hexdigest(),
            issued_at=act.at,
        )
        session.add(letter)
        letters.append(letter)
    await session.flush()
    return letters


def letter_read(letter: ResultLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "section_id": letter.section_id,
        "kind": letter.kind,
        "title": "中标通知书" if letter.kind == "award" else "中标结果通知书",
        "content": letter.content,
        "content_sha256": letter.content_sha256,
        "issued_at": letter.issued_at.isoformat(),
    }


async def my_letters(session: AsyncSession, act: Act) -> list[dict[str, Any]]:
    """A bidder's letters, in its account: only its own organisation's."""
    actor = act.actor
    if actor is None or not actor.has_role("bidder") or actor.organisation_id is None:
        raise Forbidden("仅投标人可以查看本单位的结果通知书", "Only bidders have result letters", code="bidders_only")
    rows = await session.scalars(
        select(ResultLetter)
        .where(ResultLetter.organisation_id == actor.organisation_id)
        .order_by(ResultLetter.issued_at.desc(), ResultLetter.id.desc())
    )
    return [letter_read(letter) for letter in rows]


async def my_letter(session: AsyncSession, act: Act, section_id: int) -> dict[str, Any]:
    actor = act.actor
    if actor is None or not actor.has_role("bidder") or actor.organisation_id is None:
        raise Forbidden("仅投标人可以查看本单位的结果通知书", "Only bidders have result letters", code="bidders_only")
    letter = await session.scalar(
        select(ResultLetter).where(
            ResultLetter.section_id == section_id, ResultLetter.organisation_id == actor.organisation_id
        )
    )
    if letter is None:
        raise NotFound(
            "结果公告发布前没有通知书，得分和排序不公开；或您的单位未参加本标段",
            "No letter: scores and ranks stay secret until the result (or your organisation did not bid here)",
            code="no_letter",
        )
    return letter_read(letter)
