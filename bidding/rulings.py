"""The supervisors' ruling on a bid the opening left disputed (docs/envelope.md §10.3).

A founded dispute proves that a sealed share the bidder signed does not open to a valid share; when it leaves fewer
than k valid shares the bid cannot be opened, and the opening record says it counts as neither revoked nor
withdrawn (``treated_as: "pending_ruling"``) until the supervisors rule. Publishing the record raises an alert for
the supervisors of the trade's centre for each such bid; a supervisor of that centre then rules once — the bid
counts as revoked (视为撤销投标, the bidder's fault) or as withdrawn (视为撤回投标), 20号令 §31 — with the reason.
The ruling is published as a notice (``dispute_ruling``), so it is in the transparency log beside the record it
completes, and the alert is marked as seen by the ruling supervisor.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import schemas
from bidding.committees import section_committee
from bidding.hall import notify_hall
from bidding.models import Bid, BidRuling, Opening, OpeningDispute, OpeningResult
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.context import Act
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.funds.models import SupervisionAlert
from trading.funds.services import raise_found_alert
from trading.projects.models import Project, Section

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALERT_KIND = "bid_disputed"
TREATED_AS_ZH = {"revoked": "视为撤销投标", "withdrawn": "视为撤回投标"}
#: The fewest characters a ruling's reason has, once trimmed.
REASON_MIN = 4


async def flag_unruled(
    session: AsyncSession, at: datetime, *, section_id: int | None = None, address: str = "scheduler"
) -> int:
    """Alert the supervisors to each disputed bid of a published opening — of *section_id*, as its record is
    published, or of any section, the scheduler's look — that has neither its alert nor a ruling (a record
    published before rulings existed, or whose alert was lost); how many. At most 500 at a time: the scheduler's
    next tick takes the rest."""
    query = (
        select(OpeningResult.bid_id, Organisation.name, Section, Project, Opening.record_notice_id)
        .join(Opening, Opening.section_id == OpeningResult.section_id)
        .join(Section, Section.id == OpeningResult.section_id)
        .join(Project, Project.id == Section.project_id)
        .join(Bid, Bid.id == OpeningResult.bid_id)
        .join(Organisation, Organisation.id == Bid.organisation_id)
        .where(
            OpeningResult.outcome == "disputed",
            Opening.state == "opened",
            ~exists().where(BidRuling.bid_id == OpeningResult.bid_id),
            ~exists().where(
                SupervisionAlert.kind == ALERT_KIND,
                SupervisionAlert.subject_type == "bid",
                SupervisionAlert.subject_id == OpeningResult.bid_id,
            ),
        )
        .order_by(OpeningResult.bid_id)
        .limit(500)
    )
    if section_id is not None:
        query = query.where(OpeningResult.section_id == section_id)
    flagged = 0
    for bid_id, bidder, section, project, record_notice_id in (await session.execute(query)).all():
        raised = await raise_found_alert(
            session,
            action="bid.disputed",
            address=address,
            noted={"section_id": section.id},
            kind=ALERT_KIND,
            project_id=project.id,
            subject_type="bid",
            subject_id=bid_id,
            message_zh=f"{project.name}{section.name}：{bidder}的投标因开标人提出分片异议未能解密，"
            "待监督人员裁定视为撤销还是撤回投标（20号令 §31）",
            message_en=f"Section {section.code} of {project.trade_code}: a bid could not be opened after an opener's "
            "founded dispute of its sealed share; the supervisors must rule whether it counts as revoked or withdrawn "
            "(Order 20 Art. 31)",
            details={"section_id": section.id, "bid_id": bid_id, "record_notice_id": record_notice_id},
            at=at,
        )
        flagged += raised is not None
    return flagged


def bad_ruling() -> InvalidInput:
    return InvalidInput(
        "请选择裁定结果（视为撤销或撤回投标）并填写理由（至少4个字）",
        "Choose how the bid counts (revoked or withdrawn) and give the reason (at least 4 characters)",
        code="bad_ruling",
    )


async def rule(session: AsyncSession, act: Act, section_id: int, bid_id: int, data: schemas.BidRulingIn) -> BidRuling:
    """Rule, once, on a bid of the section that the published opening record left disputed; publishes the
    ruling. The caller commits."""
    actor = act.actor
    assert actor is not None  # trading.policy: the supervisors of the section's centre
    reason = data.reason.strip()
    if len(reason) < REASON_MIN:
        raise bad_ruling()
    opening = await session.get(Opening, section_id)
    if opening is None or opening.state != "opened":
        raise RuleViolation(
            "开标记录发布后才能裁定", "A ruling comes after the opening record is published", code="not_opened"
        )
    result = await session.get(OpeningResult, (section_id, bid_id))
    if result is None:
        raise NotFound(
            "本标段没有这份投标的开标结果", "No opening result for this bid in this section", code="bid_not_found"
        )
    if result.outcome != "disputed":
        raise RuleViolation(
            "只有开标时因分片异议未能解密的投标需要裁定",
            "Only a bid the opening left disputed awaits a ruling",
            code="not_disputed",
            rule="20号令 §31",
        )
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    claimed = await session.execute(
        insert(BidRuling)
        .values(
            bid_id=bid_id,
            section_id=section_id,
            treated_as=data.treated_as,
            reason=reason,
            ruled_by=actor.person_id,
            ruled_at=act.at,
        )
        .on_conflict_do_nothing(index_elements=["bid_id"])
    )
    if claimed.rowcount != 1:
        raise Conflict("这份投标已经裁定", "This bid has been ruled on", code="already_ruled")
    ruling = await session.get(BidRuling, bid_id)
    assert ruling is not None
    sc = await section_committee(session, section_id)
    bid = await session.get(Bid, bid_id)
    assert bid is not None
    bidder = await session.get(Organisation, bid.organisation_id)
    assert bidder is not None
    positions = sorted(
        await session.scalars(
            select(OpeningDispute.position).where(
                OpeningDispute.section_id == section_id,
                OpeningDispute.bid_id == bid_id,
                OpeningDispute.envelope == "price",
            )
        )
    )
    disputed_by = "、".join(f"第{p}号开标人" for p in positions) or "开标人"
    notice = await notice_services.draft_and_publish(
        session,
        act,
        NoticeDraftCreate(
            project_id=sc.project.id,
            kind="dispute_ruling",
            title=f"{sc.project.name}{sc.section.name}开标分片异议裁定"[:300],
            body="\n".join(
                [
                    f"{sc.project.name}{sc.section.name}开标时，{disputed_by}对{bidder.name}投标文件中密封给其的"
                    "密钥分片提出异议，异议经核验成立，该投标未能解密（见开标记录）。",
                    f"经监督人员裁定，该投标{TREATED_AS_ZH[data.treated_as]}（《电子招标投标办法》第三十一条）。",
                    f"理由：{ruling.reason}",
                ]
            ),
            fields={
                "bidder": bidder.name,
                "bidder_credit_code": bidder.credit_code,
                "manifest_sha256": bid.manifest_sha256,
                "opening_record_notice_id": opening.record_notice_id,
                "disputed_by": positions,
                "treated_as": data.treated_as,
                "reason": ruling.reason,
                "ruled_at": act.at.isoformat(),
            },
            section_ids=[section_id],
        ),
        tz=SHANGHAI,
        by_platform=True,
    )
    ruling.notice_id = notice.id
    # The alert that asked for the ruling has been answered by it.
    await session.execute(
        update(SupervisionAlert)
        .where(
            SupervisionAlert.kind == ALERT_KIND,
            SupervisionAlert.subject_type == "bid",
            SupervisionAlert.subject_id == bid_id,
            SupervisionAlert.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=act.at, acknowledged_by=actor.person_id)
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="bid.rule",
        subject_type="bid",
        subject_id=bid_id,
        details={"section_id": section_id, "treated_as": data.treated_as, "notice_id": notice.id},
    )
    await notify_hall(session, section_id)
    return ruling
