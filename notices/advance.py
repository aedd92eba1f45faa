"""Notices published before a trade opens — 招标计划, 资格预审公告 and 资格预审结果 — and the rules checked on them.

None of them opens the trade: the platform's procedures have no prequalification state, so a prequalification
runs beside the project (its own timetable, its own deadline on the notice) and the tender notice that follows —
in practice the invitation to bid (投标邀请书) sent to those who passed — opens bidding as it always does, once
the result is published and at least three applicants passed (《招标投标法实施条例》第十九条). A tender plan is
advance information only: the law sets no period for it, so the platform checks none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notices.models import Notice
from trading.context import Act
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.projects.models import Project, Section
from trading.projects.services import timetable_for_storage
from trading.rules.periods import check_periods, raise_first, require_event_keys
from trading.rules.procedures import PREQUALIFICATION_EVENTS, PREQUALIFICATION_PERIODS
from trading.rules.services import load_calendar

#: 资格审查方法 (《标准施工招标资格预审文件》第三章): code -> (中文, English).
REVIEW_METHODS = {"qualified": ("合格制", "pass/fail"), "limited": ("有限数量制", "limited number")}
#: Fewer applicants than this passing means tendering again (条例 §19).
MIN_PREQUALIFIED = 3
_REG19 = "《招标投标法实施条例》第十九条"
_REG19_EN = "Regulations on the Implementation of the Tendering and Bidding Law, Art. 19"


async def require_not_yet_tendering(session: AsyncSession, notice: Notice, project: Project) -> None:
    """A tender plan or a prequalification comes before the tender: refuse it once a section has been opened."""
    opened = await session.scalar(
        select(Section.code).where(Section.project_id == project.id, Section.state != "draft").limit(1)
    )
    if opened is not None:
        raise RuleViolation(
            f"该项目已发布招标公告，不能再发布「{'招标计划' if notice.kind == 'tender_plan' else '资格预审公告'}」",
            "The project's tender is already open; this notice must come before it",
            code="trade_already_open",
        )


async def check_prequalification(session: AsyncSession, act: Act, notice: Notice, tz: ZoneInfo) -> None:
    """The review method, the documents' sale (≥ 5 days, 条例 §16) and the application deadline (≥ 5 days after
    the sale ends, 条例 §17, and still ahead); the deadline becomes the notice's own."""
    method = notice.fields.get("review_method")
    if method not in REVIEW_METHODS:
        raise InvalidInput(
            "资格审查方法须为 qualified（合格制）或 limited（有限数量制）",
            "review_method must be qualified or limited",
            code="bad_review_method",
        )
    if method == "limited":
        size = notice.fields.get("shortlist_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < MIN_PREQUALIFIED:
            raise RuleViolation(
                f"采用有限数量制的，须载明通过资格预审的申请人数量，且不少于{MIN_PREQUALIFIED}个（{_REG19}）",
                f"The limited-number method must state how many pass, at least {MIN_PREQUALIFIED} ({_REG19_EN})",
                code="bad_shortlist_size",
                rule="条例 §19",
            )
    timetable = {k: datetime.fromisoformat(v) for k, v in notice.timetable.items()}
    timetable["notice_published"] = act.at
    require_event_keys(PREQUALIFICATION_EVENTS, timetable)
    raise_first(check_periods(PREQUALIFICATION_PERIODS, timetable, await load_calendar(session), tz))
    deadline = timetable["prequalification_deadline"]
    if deadline <= act.at:
        raise RuleViolation(
            "资格预审申请截止时间已过，不能发布", "The application deadline has already passed", code="deadline_in_past"
        )
    notice.timetable = timetable_for_storage(timetable)
    notice.deadline_at = deadline


def passed_names(fields: Mapping[str, Any]) -> list[str]:
    """The names of the applicants a prequalification result lets through (each a name or ``{"name": …}``)."""
    names = []
    passed = fields.get("passed")
    for entry in passed if isinstance(passed, list) else []:
        name = entry.get("name") if isinstance(entry, dict) else entry
        names.append(name.strip() if isinstance(name, str) else "")
    return names


async def check_prequalification_result(session: AsyncSession, act: Act, notice: Notice) -> None:
    """The result answers one published prequalification of the project, once its applications have closed; it
    names those who passed (a count no larger than the applicants'), and is published once."""
    assert notice.target_notice_id is not None
    target = await session.get(Notice, notice.target_notice_id)
    if target is None or target.kind != "prequalification" or target.status != "published":
        raise InvalidInput(
            "资格预审结果须针对本项目已发布的资格预审公告",
            "A prequalification result must answer a published prequalification notice of the project",
            code="not_a_prequalification",
        )
    if target.deadline_at is not None and act.at < target.deadline_at:
        raise RuleViolation(
            f"资格预审申请截止前不能公布资格预审结果（{_REG19}）",
            f"The result cannot be published before the application deadline ({_REG19_EN})",
            code="prequalification_not_closed",
            rule="条例 §19",
            details={"deadline": target.deadline_at.isoformat()},
        )
    names = passed_names(notice.fields)
    if not isinstance(notice.fields.get("passed"), list) or not all(names):
        raise InvalidInput(
            "通过资格预审的申请人须逐一列明名称",
            "passed must list each applicant who passed, by name",
            code="bad_passed_list",
        )
    count = notice.fields.get("applicants_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < len(names):
        raise InvalidInput(
            "资格预审申请人数量须为整数，且不少于通过资格预审的申请人数",
            "applicants_count must be a whole number no smaller than the number who passed",
            code="bad_applicants_count",
        )
    earlier = await session.scalar(
        select(Notice.id).where(
            Notice.kind == "prequalification_result",
            Notice.status == "published",
            Notice.target_notice_id == target.id,
            Notice.id != notice.id,
        )
    )
    if earlier is not None:
        raise Conflict(
            "该资格预审的结果已公布；如需更正，请发布变更公告",
            "This prequalification's result is already published",
            code="prequalification_result_exists",
            details={"notice_id": earlier},
        )
    notice.section_ids = list(target.section_ids)


async def require_prequalification_done(session: AsyncSession, project: Project) -> None:
    """A project that prequalifies opens its tender only after the result, with at least three who passed."""
    prequalification = await session.scalar(
        select(Notice.id)
        .where(Notice.project_id == project.id, Notice.kind == "prequalification", Notice.status == "published")
        .order_by(Notice.id.desc())
        .limit(1)
    )
    if prequalification is None:
        return
    result = await session.scalar(
        select(Notice).where(
            Notice.kind == "prequalification_result",
            Notice.status == "published",
            Notice.target_notice_id == prequalification,
        )
    )
    if result is None:
        raise RuleViolation(
            "本项目正在进行资格预审，须先公布资格预审结果，再向通过资格预审的申请人发出招标公告（投标邀请书）",
            "The project is prequalifying: publish the prequalification result before the tender notice",
            code="prequalification_pending",
            rule="条例 §19",
            details={"prequalification_notice_id": prequalification},
        )
    passed = len(passed_names(result.fields))
    if passed < MIN_PREQUALIFIED:
        raise RuleViolation(
            f"通过资格预审的申请人少于{MIN_PREQUALIFIED}个，应当重新招标（{_REG19}）",
            f"Fewer than {MIN_PREQUALIFIED} applicants passed prequalification: tender again ({_REG19_EN})",
            code="too_few_prequalified",
            rule="条例 §19",
            details={"passed": passed},
        )
