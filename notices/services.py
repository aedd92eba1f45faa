"""Publishing: drafts, the rules checked at publication, immutable versions, amendments, terminations.

A notice is drafted and edited by staff of its project's centre; publishing freezes it into version 1 —
the exact canonical bytes and their SHA-256. An amendment (变更/澄清公告) is a notice of its own; publishing
it adds a version to the notice it amends. Nothing published is ever updated in place.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notices import advance, media_types, schemas
from notices.errors import (
    MissingFields,
    NoticeNotFound,
    PublishedNoticeImmutable,
    TargetNotOpen,
    WrongNoticeKind,
)
from notices.kinds import NOTICE_KINDS, NoticeKind, missing_fields
from notices.models import Attachment, Notice, NoticeVersion
from notices.search import index_terms
from trading.accounts.services import require_same_centre
from trading.audit.services import record
from trading.blobs import BlobStore
from trading.canonical import Encoded, canonical_bytes, document_hash, sha256_hex
from trading.context import Act, Actor
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Project, Section
from trading.projects.services import move_sections, project_for_staff, timetable_for_storage
from trading.regions import city_of
from trading.rules.periods import check_clarification, check_timetable, raise_first, require_events
from trading.rules.procedures import Procedure, get_procedure, path_to
from trading.rules.services import load_calendar
from trading.sequences import next_value

CHANGES_COUNTER = "notice_changes"


def log_event_key(notice_id: int, version: int) -> str:
    """The transparency-log event of a published notice version."""
    return f"notice:{notice_id}:v{version}"


#: Where a step recorded by a notice leaves the sections it covers (later issues produce these notices from
#: the platform's own records; until then staff publish them and the sections move on in order).
PLATFORM_STAGES = {
    "opening_record": ("evaluating",),
    "candidate_publicity": ("publicity",),
    "result": ("awarded", "sold"),
    "contract": ("contracted", "sold"),
}
#: Notices the platform writes itself for a trade whose bids it holds (see _refuse_hand_made).
PLATFORM_ONLY = frozenset(
    {"opening_record", "candidate_publicity", "result", "objection_reply", "dispute_ruling", "contract"}
)
#: Acts that the platform takes on its own when their time has come.
SYSTEM_ROLES = ("staff", "admin", "system")
#: Section states in which a published trade may still be amended or terminated.
OPEN_STATES = frozenset({"tendering", "announced", "listing", "auction", "disclosing", "publicity", "suspended"})


def _kind(key: str) -> NoticeKind:
    kind = NOTICE_KINDS.get(key)
    if kind is None:
        raise InvalidInput(
            f"未知的公告类型：{key}",
            f"Unknown notice kind: {key}",
            code="unknown_notice_kind",
            details={"known": sorted(NOTICE_KINDS)},
        )
    return kind


def _parse_timetable(raw: dict[str, str]) -> dict[str, datetime]:
    return {k: datetime.fromisoformat(v) for k, v in raw.items()}


def _check_timetable_values(timetable: dict[str, datetime]) -> None:
    for key, value in timetable.items():
        if value.tzinfo is None:
            raise InvalidInput(
                f"时间「{key}」缺少时区，请使用如 2026-03-02T09:00:00+08:00 的格式",
                f"Time '{key}' has no time zone; write it like 2026-03-02T09:00:00+08:00",
                code="naive_datetime",
            )


async def centre_of_notice(session: AsyncSession, notice_id: int) -> int | None:
    """The trading centre whose project a notice belongs to (None when there is no such notice)."""
    return await session.scalar(
        select(Project.centre_id).join(Notice, Notice.project_id == Project.id).where(Notice.id == notice_id)
    )


async def _load(session: AsyncSession, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound()
    return notice


async def notice_for_staff(session: AsyncSession, actor: Actor, notice_id: int) -> Notice:
    notice = await _load(session, notice_id)
    project = await session.get(Project, notice.project_id)
    assert project is not None
    require_same_centre(actor, project.centre_id)
    return notice


async def _sections(session: AsyncSession, project: Project, section_ids: list[int]) -> list[Section]:
    rows = list(await session.scalars(select(Section).where(Section.project_id == project.id).order_by(Section.id)))
    if not section_ids:
        return rows
    by_id = {s.id: s for s in rows}
    unknown = [i for i in section_ids if i not in by_id]
    if unknown:
        raise InvalidInput(
            "标段不属于该项目",
            "A section does not belong to this project",
            code="unknown_section",
            details={"section_ids": unknown},
        )
    return [by_id[i] for i in sorted(set(section_ids))]


def draft_document(notice: Notice, fields: dict[str, Any] | Encoded | None = None) -> dict[str, Any]:
    """The draft as its audit entry hashes it; *fields* when the notice does not keep them (draft_and_publish)."""
    return {
        "id": notice.id,
        "kind": notice.kind,
        "status": notice.status,
        "title": notice.title,
        "body": notice.body,
        "fields": notice.fields if fields is None else fields,
        "timetable": notice.timetable,
        "section_ids": notice.section_ids,
        "target_notice_id": notice.target_notice_id,
    }


async def create_draft(session: AsyncSession, act: Act, data: schemas.NoticeDraftCreate) -> Notice:
    notice, _ = await _create_draft(session, act, data)
    return notice


async def draft_and_publish(
    session: AsyncSession, act: Act, data: schemas.NoticeDraftCreate, *, tz: ZoneInfo, by_platform: bool = False
) -> Notice:
    """Draft a notice and publish it at once — a notice the platform writes whole from its own records (the opening
    record): the same acts, checks and audit entries as :func:`create_draft` then :func:`publish`.

    An opening record of thousands of bids is megabytes, so its fields are encoded once — the draft's hash and the
    published document place the same bytes — and stored once, in the published document: ``notices.fields``
    holds null, and reads take the fields from the current version (notices.reads.notice_fields)."""
    if not _kind(data.kind).produced_by_platform:
        raise ValueError(f"{data.kind} is not a notice the platform writes from its own records")
    fields = Encoded.of(data.fields)
    notice, draft_hash = await _create_draft(session, act, data, fields=fields)
    return await _publish(
        session, act, notice, data.fields, tz=tz, by_platform=by_platform, draft_hash=draft_hash, encoded=fields
    )


async def _create_draft(
    session: AsyncSession, act: Act, data: schemas.NoticeDraftCreate, *, fields: Encoded | None = None
) -> tuple[Notice, str]:
    """The draft and its hash; with *fields* (the draft's fields, encoded) the notice does not keep them."""
    assert act.actor is not None
    kind = _kind(data.kind)
    project = await project_for_staff(session, act.actor, data.project_id)
    if kind.trade_kinds and project.trade_kind not in kind.trade_kinds:
        raise WrongNoticeKind(
            f"「{kind.name_zh}」不适用于该类交易",
            f"A {kind.name_en} does not fit this kind of trade",
        )
    _check_timetable_values(data.timetable)
    await _sections(session, project, data.section_ids)
    if kind.targets_notice and data.target_notice_id is None:
        raise InvalidInput(
            f"「{kind.name_zh}」须指明所针对的公告",
            f"A {kind.name_en} must name the notice it acts on",
            code="target_required",
        )
    if data.target_notice_id is not None:
        target = await session.get(Notice, data.target_notice_id)
        if target is None:
            raise InvalidInput("所针对的公告不存在", "The target notice does not exist", code="unknown_target")
        if target.project_id != project.id:
            raise InvalidInput(
                "所针对的公告不属于该项目",
                "The target notice belongs to another project",
                code="target_other_project",
            )
    notice = Notice(
        kind=kind.key,
        status="draft",
        project_id=project.id,
        section_ids=sorted(set(data.section_ids)),
        region_code=project.region_code,
        city_code=city_of(project.region_code),
        trade_kind=project.trade_kind,
        target_notice_id=data.target_notice_id,
        title=data.title,
        body=data.body,
        fields=data.fields if fields is None else None,
        timetable=timetable_for_storage(data.timetable),
        current_version=0,
        created_at=act.at,
        created_by=act.actor.person_id,
        updated_at=act.at,
    )
    session.add(notice)
    await session.flush()
    draft_hash = document_hash(draft_document(notice, fields))
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="notice.draft",
        subject_type="notice",
        subject_id=notice.id,
        after_hash=draft_hash,
    )
    return notice, draft_hash


async def update_draft(session: AsyncSession, act: Act, notice_id: int, data: schemas.NoticeDraftUpdate) -> Notice:
    assert act.actor is not None
    notice = await notice_for_staff(session, act.actor, notice_id)
    if notice.status != "draft":
        raise PublishedNoticeImmutable()
    before = draft_document(notice)
    if data.title is not None:
        notice.title = data.title
    if data.body is not None:
        notice.body = data.body
    if data.fields is not None:
        notice.fields = data.fields
    if data.timetable is not None:
        _check_timetable_values(data.timetable)
        notice.timetable = timetable_for_storage(data.timetable)
    if data.section_ids is not None:
        project = await session.get(Project, notice.project_id)
        assert project is not None
        await _sections(session, project, data.section_ids)
        notice.section_ids = sorted(set(data.section_ids))
    notice.updated_at = act.at
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="notice.edit",
        subject_type="notice",
        subject_id=notice.id,
        before=before,
        after=draft_document(notice),
    )
    return notice


async def add_attachment(
    session: AsyncSession,
    act: Act,
    notice_id: int,
    *,
    filename: str,
    media_type: str,
    body: AsyncIterable[bytes],
    blobs: BlobStore,
    max_bytes: int,
) -> Attachment:
    """Stream a file into the blob store (hashing as it passes) and attach it to a draft. Its *media_type* (the
    request's Content-Type) must be one an attachment may have, and its first bytes must agree with it
    (notices/media_types.py); a refused file leaves nothing behind."""
    assert act.actor is not None
    notice = await notice_for_staff(session, act.actor, notice_id)
    if notice.status != "draft":
        raise PublishedNoticeImmutable()
    name = filename.strip().replace("/", "_").replace("\\", "_")[:255]
    if not name:
        raise InvalidInput("请提供文件名", "Give the file a name (?filename=…)", code="filename_required")
    media_types.check_filename(name)
    media_type, kind = media_types.declared(media_type)
    stored = await blobs.put_stream(_checked_head(body, media_type, kind), max_bytes=max_bytes)
    attachment = Attachment(
        notice_id=notice.id,
        filename=name,
        media_type=media_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_at=act.at,
        uploaded_by=act.actor.person_id,
    )
    session.add(attachment)
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="notice.attach",
        subject_type="notice",
        subject_id=notice.id,
        details={
            "attachment_id": attachment.id,
            "filename": name,
            "sha256": stored.sha256,
            "size": stored.size,
        },
    )
    return attachment


async def _checked_head(body: AsyncIterable[bytes], media_type: str, kind: media_types.Kind) -> AsyncIterator[bytes]:
    """*body*, passed on once its first HEAD_BYTES (or all of it, if shorter) agree with *kind*: a file that
    does not is refused before the store has anything of it."""
    head = b""
    async for chunk in body:
        if len(head) >= media_types.HEAD_BYTES:
            yield chunk
            continue
        head += chunk
        if len(head) >= media_types.HEAD_BYTES:
            media_types.check_head(media_type, kind, head[: media_types.HEAD_BYTES])
            yield head
    if not head:
        raise InvalidInput("文件为空", "The file is empty", code="empty_file")
    if len(head) < media_types.HEAD_BYTES:
        media_types.check_head(media_type, kind, head)
        yield head


async def publish(
    session: AsyncSession,
    act: Act,
    notice_id: int,
    *,
    tz: ZoneInfo,
    by_platform: bool = False,
) -> Notice:
    """Publish a draft after every rule that applies to it has passed. Notices the platform writes from its own
    records (``by_platform``) cannot be typed in by hand for a trade the platform evaluates."""
    assert act.actor is not None
    notice = await notice_for_staff(session, act.actor, notice_id)
    return await _publish(session, act, notice, notice.fields or {}, tz=tz, by_platform=by_platform)


async def _publish(
    session: AsyncSession,
    act: Act,
    notice: Notice,
    fields: dict[str, Any],
    *,
    tz: ZoneInfo,
    by_platform: bool,
    draft_hash: str | None = None,
    encoded: Encoded | None = None,
) -> Notice:
    """:func:`publish`; *fields* are the draft's, *draft_hash* its hash when the caller has just made it, *encoded*
    the fields' canonical bytes when the notice does not keep them (:func:`draft_and_publish`)."""
    # Claim the draft in one conditional statement, so two concurrent publishes cannot both proceed.
    claimed = await session.execute(
        update(Notice).where(Notice.id == notice.id, Notice.status == "draft").values(updated_at=act.at)
    )
    if notice.status != "draft" or claimed.rowcount != 1:
        raise Conflict("该公告已发布", "This notice is already published", code="already_published")
    kind = _kind(notice.kind)
    missing = missing_fields(kind, fields)
    if missing:
        raise MissingFields([f.name_zh for f in missing], [f.name_en for f in missing], [f.key for f in missing])
    project = await session.get(Project, notice.project_id)
    assert project is not None
    if kind.key in PLATFORM_ONLY and not by_platform:
        await _refuse_hand_made(session, notice)
    procedure = get_procedure(project.procedure)
    before = None if draft_hash is not None else draft_document(notice)

    if kind.opens_trade:
        await advance.require_prequalification_done(session, project)
        await _open_trade(session, act, notice, project, procedure, tz)
    elif kind.key == "tender_plan":
        await advance.require_not_yet_tendering(session, notice, project)
    elif kind.key == "prequalification":
        await advance.require_not_yet_tendering(session, notice, project)
        await advance.check_prequalification(session, act, notice, tz)
    elif kind.key == "prequalification_result":
        await advance.check_prequalification_result(session, act, notice)
    elif kind.key == "amendment":
        await _apply_amendment(session, act, notice, project, procedure, tz)
    elif kind.key == "termination":
        await _terminate(session, act, notice, project)
    elif kind.key in PLATFORM_STAGES:
        if kind.key == "result":
            _check_contract_due(fields, act.at.astimezone(tz).date())
        await _advance(
            session, act, project, await _sections(session, project, notice.section_ids), PLATFORM_STAGES[kind.key]
        )

    await _new_version(session, act, notice, project, before=before, before_hash=draft_hash, fields=encoded)
    if project.state == "draft":
        project.state = "public"
    return notice


def contract_due_on(fields: dict[str, Any]) -> date | None:
    """The day a result notice's ``contract_due_on`` names (a transfer's contract date, as its confirmation of the
    sale fixes it), written ``YYYY-MM-DD``; None if it names none."""
    value = fields.get("contract_due_on")
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _check_contract_due(fields: dict[str, Any], published_on: date) -> None:
    """A result notice's ``contract_due_on`` is a day not before the notice itself: supervisors are alerted when
    it passes without a contract (trading.funds.contracts)."""
    value = fields.get("contract_due_on")
    if value is None or value == "":
        return
    due = contract_due_on(fields)
    if due is None:
        raise InvalidInput(
            f"合同签订期限「{value}」不是日期，请写作如 2026-12-20",
            f"The contract date '{value}' is not a date: write it like 2026-12-20",
            code="bad_contract_due_on",
        )
    if due < published_on:
        raise RuleViolation(
            f"合同签订期限 {due} 早于本公告发布之日 {published_on}",
            f"The contract date {due} is before this notice's own day, {published_on}",
            code="contract_due_before_result",
            rule="成交确认书",
        )


async def _refuse_hand_made(session: AsyncSession, notice: Notice) -> None:
    """A trade whose bids the platform holds is opened and evaluated on it: its opening record, candidates, result
    and replies come from the platform's own records, never from a hand-typed notice — an opening record typed in
    would stand in for bids never decrypted. A trade run offline (no bid on the platform, no opening) may still
    publish them. A contract notice never: it is published by recording the contract."""
    from bidding.models import Bid, Opening  # (bidding publishes through this module)

    if notice.kind == "contract":
        # For every trade, online or not: recording the contract checks it against the award and tells
        # supervisors of a late signing or a departure from the award (trading.funds.contracts).
        ids = list(notice.section_ids or [])
        path = f"/api/sections/{ids[0] if len(ids) == 1 else '{section_id}'}/contract"
        raise RuleViolation(
            f"合同公示由合同登记生成：请通过「登记合同」（POST {path}）填写已签订的合同，"
            "平台核对中标（成交）结果后发布",
            f"A contract notice comes from recording the contract (POST {path}), which checks it against the award "
            "and publishes it",
            code="produced_by_platform",
            details={"record_with": "recordContract"},
        )
    sections = select(Section.id).where(Section.project_id == notice.project_id)
    opened = select(Opening.section_id).where(Opening.section_id.in_(sections)).limit(1)
    bid = select(Bid.section_id).where(Bid.section_id.in_(sections)).limit(1)
    online = await session.scalar(opened) or await session.scalar(bid)
    if online is not None or notice.kind in ("objection_reply", "dispute_ruling"):
        raise RuleViolation(
            "此公告由平台根据评标、公示记录生成，不能手工发布",
            "The platform produces this notice from its own records; it cannot be published by hand",
            code="produced_by_platform",
        )


async def _open_trade(
    session: AsyncSession, act: Act, notice: Notice, project: Project, procedure: Procedure, tz: ZoneInfo
) -> None:
    timetable = _parse_timetable(notice.timetable)
    timetable["notice_published"] = act.at
    require_events(procedure, timetable)
    raise_first(check_timetable(procedure, timetable, await load_calendar(session), tz))
    deadline = timetable.get(procedure.deadline_event)
    if deadline is not None and deadline <= act.at:
        raise RuleViolation("截止时间已过，不能发布", "The deadline has already passed", code="deadline_in_past")
    sections = await _sections(session, project, notice.section_ids)
    await move_sections(session, act, project, sections, "publish", roles=act.actor.roles if act.actor else ())
    stored = timetable_for_storage(timetable)
    for section in sections:
        section.timetable = stored
        section.deadline_at = deadline
        section.opening_notice_id = notice.id
    notice.timetable = stored
    notice.section_ids = [s.id for s in sections]
    notice.deadline_at = deadline


async def _open_target(session: AsyncSession, notice: Notice, *, amending: bool) -> tuple[Notice, list[Section]]:
    """The notice acted on and its sections. An amendment needs the trade still before its deadline; a
    termination needs it not yet ended."""
    assert notice.target_notice_id is not None
    target = await _load(session, notice.target_notice_id)
    if target.status != "published" or not _kind(target.kind).opens_trade:
        raise TargetNotOpen(
            "只能针对已发布的招标（出让）公告", "Only a published tender or transfer notice can be acted on"
        )
    project = await session.get(Project, target.project_id)
    assert project is not None
    sections = await _sections(session, project, target.section_ids)
    final = set(get_procedure(project.procedure).final_states)
    closed = [s for s in sections if (s.state not in OPEN_STATES if amending else s.state in final)]
    if closed:
        raise TargetNotOpen(
            "该交易已结束或已终止，不能再变更或终止",
            "This trade has ended or been terminated and can no longer be amended or terminated",
            details={"sections": {s.code: s.state for s in closed}},
        )
    return target, sections


async def _apply_amendment(
    session: AsyncSession, act: Act, notice: Notice, project: Project, procedure: Procedure, tz: ZoneInfo
) -> None:
    target, sections = await _open_target(session, notice, amending=True)
    changes = notice.fields.get("changes") or {}
    if not isinstance(changes, dict) or not set(changes) <= {"timetable", "fields", "title", "body"}:
        raise InvalidInput(
            "变更内容只能包含 timetable、fields、title、body",
            "changes may hold only timetable, fields, title and body",
            code="bad_changes",
        )
    new_times_raw = changes.get("timetable") or {}
    try:
        new_times = {k: datetime.fromisoformat(v) for k, v in new_times_raw.items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "变更后的时间格式无效", "A changed time is not an ISO-8601 datetime", code="bad_changes"
        ) from exc
    _check_timetable_values(new_times)
    timetable = _parse_timetable(target.timetable) | new_times
    calendar = await load_calendar(session)
    raise_first(check_timetable(procedure, timetable, calendar, tz))
    deadline = timetable.get(procedure.deadline_event)
    if deadline is not None:
        if new_times and deadline <= act.at:
            raise RuleViolation("变更后的截止时间已过", "The changed deadline is already past", code="deadline_in_past")
        check_clarification(
            procedure, act.at, deadline, calendar, tz, affects_bids=bool(notice.fields.get("affects_bids"))
        )
    target.timetable = timetable_for_storage(timetable)
    target.deadline_at = deadline
    for section in sections:
        section.timetable = target.timetable
        section.deadline_at = deadline
    if isinstance(changes.get("fields"), dict):
        if "committee" in changes["fields"]:
            raise RuleViolation(
                "开标小组及其公钥在公告发布时即已确定，不能通过变更公告修改",
                "The opening committee and its keys are fixed when the notice is published; an amendment cannot "
                "change them",
                code="committee_fixed",
            )
        target.fields = {**target.fields, **changes["fields"]}
    if isinstance(changes.get("title"), str) and changes["title"].strip():
        target.title = changes["title"].strip()[:300]
    if isinstance(changes.get("body"), str) and changes["body"].strip():
        target.body = changes["body"]
    await _new_version(
        session,
        act,
        target,
        project,
        before=await _current_document(session, target),
        amendment_notice_id=notice.id,
        change_summary=str(notice.fields.get("reason", "")),
    )


async def _terminate(session: AsyncSession, act: Act, notice: Notice, project: Project) -> None:
    _, sections = await _open_target(session, notice, amending=False)
    # A notice may end only some of the tender's sections (a void evaluation in one of several).
    sections = [s for s in sections if s.id in notice.section_ids] or sections
    outcome = notice.fields.get("outcome")
    if outcome not in ("terminated", "failed"):
        raise InvalidInput(
            "结果须为 terminated（终止）或 failed（流标）", "outcome must be terminated or failed", code="bad_outcome"
        )
    if outcome == "failed":
        # 流标 is declared at or after the opening: the sections close first (which needs the deadline past).
        await _advance(session, act, project, [s for s in sections if s.state == "tendering"], ("closed",))
    await move_sections(
        session,
        act,
        project,
        sections,
        "terminate" if outcome == "terminated" else "fail",
        roles=act.actor.roles if act.actor else (),
    )


async def _advance(
    session: AsyncSession, act: Act, project: Project, sections: list[Section], targets: tuple[str, ...]
) -> None:
    """Move each section forward, act by act through the state machine, until it reaches one of *targets*."""
    procedure = get_procedure(project.procedure)
    for section in sections:
        acts = path_to(procedure, section.state, targets, SYSTEM_ROLES)
        if acts is None:
            raise RuleViolation(
                f"标段「{section.name}」当前处于「{procedure.state_name(section.state)[0]}」，不能进入这一步",
                f"Section {section.code} is {section.state} and cannot move to {'/'.join(targets)}",
                code="illegal_transition",
            )
        if "close" in acts and (section.deadline_at is None or section.deadline_at > act.at):
            raise RuleViolation(
                "投标截止时间未到，不能开标或公布结果",
                "The bid deadline has not passed yet",
                code="deadline_not_passed",
            )
        for step in acts:
            await move_sections(session, act, project, [section], step, roles=SYSTEM_ROLES)


async def _current_document(session: AsyncSession, notice: Notice) -> dict[str, Any] | None:
    row = await session.scalar(
        select(NoticeVersion.document).where(
            NoticeVersion.notice_id == notice.id, NoticeVersion.version == notice.current_version
        )
    )
    return None if row is None else {"content_hash": sha256_hex(row)}


async def _new_version(
    session: AsyncSession,
    act: Act,
    notice: Notice,
    project: Project,
    *,
    before: Any,
    before_hash: str | None = None,
    amendment_notice_id: int | None = None,
    change_summary: str = "",
    fields: Encoded | None = None,
) -> NoticeVersion:
    """Publish the notice's next version: its document (the exact bytes, hashed and logged) holds the fields —
    *fields*, encoded, for a notice that does not keep them — and is where they are read from."""
    version = notice.current_version + 1
    # Versions are numbered in one conditional statement: a concurrent amendment loses cleanly.
    claimed = await session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.current_version == notice.current_version)
        .values(current_version=version)
    )
    if claimed.rowcount != 1:
        raise Conflict(
            "该公告正被同时修改，请刷新后重试",
            "The notice was changed at the same time; reload and retry",
            code="concurrent_change",
        )
    attachments = list(
        await session.scalars(select(Attachment).where(Attachment.notice_id == notice.id).order_by(Attachment.id))
    )
    for a in attachments:
        if a.published_in_version is None:
            a.published_in_version = version
    document = {
        "notice_id": notice.id,
        "version": version,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "fields": notice.fields if fields is None else fields,
        "timetable": notice.timetable,
        "project": {
            "trade_code": project.trade_code,
            "name": project.name,
            "region_code": project.region_code,
        },
        "section_ids": notice.section_ids,
        "target_notice_id": notice.target_notice_id,
        "amendment_notice_id": amendment_notice_id,
        "attachments": [{"filename": a.filename, "sha256": a.sha256, "size": a.size} for a in attachments],
        "published_at": act.at.isoformat(),
    }
    data = canonical_bytes(document)
    row = NoticeVersion(
        notice_id=notice.id,
        version=version,
        title=notice.title,
        body=notice.body,
        document=data,
        content_hash=sha256_hex(data),
        published_at=act.at,
        published_by=act.actor.person_id if act.actor else None,
        change_seq=await next_value(session, CHANGES_COUNTER),
        amendment_notice_id=amendment_notice_id,
        change_summary=change_summary,
    )
    session.add(row)
    # The log entry commits with the version: no published version without its entry, and no entry
    # for a version that was rolled back.
    await log.append(
        session,
        event_key=log_event_key(notice.id, version),
        kind="notice_version",
        document=log_entries.notice_version(
            trade_code=project.trade_code,
            notice_id=notice.id,
            notice_kind=notice.kind,
            version=version,
            content_sha256=row.content_hash,
            published_at=act.at,
        ),
        at=act.at,
    )
    notice.status = "published"
    notice.current_version = version
    notice.first_published_at = notice.first_published_at or act.at
    notice.last_published_at = act.at
    notice.updated_at = act.at
    notice.search_terms = index_terms(notice.title, notice.body)
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="notice.publish" if version == 1 else "notice.amend",
        subject_type="notice",
        subject_id=notice.id,
        before=before,
        before_hash=before_hash,
        # The version's content hash is this document's, in the same canonical form (an opening record of
        # thousands of bids is megabytes: encoded once).
        after_hash=row.content_hash,
        details={"version": version, "content_hash": row.content_hash, "change_seq": row.change_seq},
    )
    return row
