"""The opening ceremony (开标): staff start it after the deadline, openers upload their decrypted shares
(signed) within the share window, and when the window closes — or as soon as all n openers are in — the price
envelopes are opened with every share uploaded, and the opening record is published.

The window is what makes the outcome a function of the shares the openers chose to upload, not of which arrived
first (docs/envelope.md §10.2): nothing is combined, so nobody learns anything, before it closes; and it does not
close before k openers are in, so absent openers delay the opening but cannot fail it.

Fewer than three bids: no opening; a failed-tender notice (流标) is published instead (法 §28). A bid that
fails to open is recorded with the reason and whose fault it is (20号令 §31), and the others open
regardless. The price data keys are published with the record, so anyone can take the ciphertexts logged
before the deadline and check every figure. The openers release the documents shares in the same upload; the
documents keys are rebuilt and checked against their commitments then, but kept for the evaluation panel only
(evaluation.documents) — never published, never logged.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from cryptography.exceptions import InvalidSignature
from litestar.datastructures import State
from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import events, opening_job, reserve, schemas
from bidding.committees import SectionCommittee, require_staff_of, section_committee
from bidding.envelope import (
    EnvelopeError,
    check_dispute,
    combine_and_open,
    decode_private_key,
    parse_manifest,
)
from bidding.errors import BadEnvelope
from bidding.hall import notify_hall
from bidding.keys import decode_b64, ed25519_public
from bidding.models import (
    Bid,
    BidRuling,
    Opening,
    OpeningDispute,
    OpeningResult,
    OpeningUpload,
    ReservePrice,
    ReserveShare,
)
from bidding.opening_batch import uploaded_shares
from bidding.scheduler import close_due_sections
from bidding.submission import context_for
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading import metrics
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person
from trading.audit.services import record
from trading.blobs import BlobStore
from trading.canonical import canonical_bytes
from trading.context import Act, Actor
from trading.db import Lean
from trading.errors import Conflict, Forbidden, NotFound, RuleViolation
from trading.log import entries as log_entries
from trading.log.integrator import integrate_once
from trading.log.models import DeadlineCheckpoint, LogCheckpoint

MIN_BIDS = 3
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: How long the openers have to upload their shares once staff start the opening (docs/envelope.md §10.2), by
#: default (setting ``share_window``); openings started before the window was recorded had this one.
SHARE_WINDOW = timedelta(minutes=30)


def shares_close_at(opening: Opening) -> datetime:
    """When the opening's share window ends (openings started before the window existed: 30 minutes after)."""
    return opening.shares_close_at or opening.started_at + SHARE_WINDOW


def window_closed(opening: Opening, uploaded: int, k: int, now: datetime) -> bool:
    """The window is over once its time has passed with at least k openers in (it waits for the k-th)."""
    return uploaded >= k and now >= shares_close_at(opening)


def shares_document(section_id: int, position: int, shares: list[dict[str, Any]]) -> bytes:
    """The exact bytes an opener signs when uploading decrypted shares."""
    return canonical_bytes(
        {
            "kind": "opening_shares",
            "format": "trading-bid/v1",
            "section_id": section_id,
            "position": position,
            "shares": shares,
        }
    )


async def start(state: State, act: Act, section_id: int) -> Opening:
    """Start the ceremony: close the section if its deadline has passed, cut the log at the deadline, and
    either wait for shares or — with fewer than three bids — declare the tender failed."""
    assert act.actor is not None
    async with state.sessionmaker() as session:
        sc = await section_committee(session, section_id)
        require_staff_of(act.actor, sc)
        if sc.section.deadline_at is None or act.at < sc.section.deadline_at:
            raise RuleViolation(
                "投标截止时间未到，不能开标", "The bid deadline has not passed", code="deadline_not_passed"
            )
        if await session.get(Opening, section_id) is not None:
            raise Conflict("开标已经开始", "The opening has already started", code="opening_started")
        await close_due_sections(session, act.at)
        await session.commit()
    await integrate_once(state, grace=timedelta(0))  # the deadline cut, now the section is closed
    async with state.sessionmaker() as session:
        sc = await section_committee(session, section_id)
        cut = await session.get(DeadlineCheckpoint, section_id)
        if cut is None:
            raise RuleViolation(
                "截止时刻的日志检查点尚未签发，请稍后再试",
                "The deadline checkpoint is not signed yet; try again in a moment",
                code="cut_pending",
            )
        opening = Opening(
            section_id=section_id,
            state="waiting",
            started_at=act.at,
            started_by=act.actor.person_id,
            deadline_checkpoint_size=cut.size,
            shares_close_at=act.at + timedelta(seconds=state.settings.share_window),
        )
        session.add(opening)
        try:
            await session.flush()
        except Exception as exc:  # a concurrent start
            raise Conflict("开标已经开始", "The opening has already started", code="opening_started") from exc
        bids = await _bids(session, section_id)
        active = [b for b in bids if b.state == "active"]
        await record(
            session,
            actor=act.actor,
            address=act.address,
            at=act.at,
            action="opening.start",
            subject_type="section",
            subject_id=section_id,
            details={"active_bids": len(active), "deadline_checkpoint": cut.size},
        )
        if len(active) < MIN_BIDS:
            opening.state = "failed"
            opening.completed_at = act.at
            await session.flush()
            await _publish_failed(session, act, sc, len(active))
        else:
            await _move(session, sc, "open", act)
        await notify_hall(session, section_id)
        await session.commit()
        if opening.state == "failed":
            metrics.OPENINGS_COMPLETED.labels("failed").inc()
        return opening


async def _move(session: AsyncSession, sc: SectionCommittee, act_name: str, act: Act) -> None:
    from trading.projects.services import move_sections

    await move_sections(session, act, sc.project, [sc.section], act_name, roles=("staff", "admin", "system"))


async def _bids(session: AsyncSession, section_id: int) -> list[Bid]:
    return list(await session.scalars(select(Bid).where(Bid.section_id == section_id).order_by(Bid.id)))


async def _publish_failed(session: AsyncSession, act: Act, sc: SectionCommittee, count: int) -> None:
    """流标: fewer than three bids (法 §28, 条例 §44) — published as a termination notice of the tender."""
    title = f"{sc.project.name}{sc.section.name}流标公告"
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=sc.project.id,
            kind="termination",
            title=title[:300],
            body=f"本标段投标截止时，递交投标文件的投标人少于3个（{count}个），依法不予开标，本次招标失败。"
            "招标人将依法重新招标。",
            fields={
                "outcome": "failed",
                "reason": f"投标人少于3个（{count}个）（《招标投标法》第二十八条）",
                "next_steps": "依法重新招标",
            },
            section_ids=[sc.section.id],
            target_notice_id=sc.version.notice_id,
        ),
    )
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI)


async def my_sealed_shares(session: AsyncSession, actor: Actor, section_id: int) -> dict[str, Any]:
    """What one opener downloads: the shares sealed to their position, for every bid to open — the price share
    (``sealed_share``) and, for the evaluation panel, the documents share (``documents_sealed_share``)."""
    sc = await section_committee(session, section_id)
    position = _position_of(actor, sc)
    opening = await session.get(Opening, section_id)
    if opening is None or opening.state != "waiting":
        raise RuleViolation(
            "开标尚未开始或已经结束", "The opening is not waiting for shares", code="opening_not_waiting"
        )
    bids = [b for b in await _bids(session, section_id) if b.state == "active"]
    orgs = await _organisations(session, [b.organisation_id for b in bids])
    sealed_reserve = await reserve.active(session, section_id)
    return {
        "section_id": section_id,
        "position": position,
        "suite": sc.committee["suite"] if sc.committee else "",
        # A reserve or control price sealed by staff (role "reserve"), opened with the bids: 0 or 1 of them.
        "reserve": [
            {
                "reserve_id": r.id,
                "kind": r.kind,
                "manifest": base64.b64encode(r.manifest).decode(),
                "manifest_sha256": r.manifest_sha256,
                "sealer_credit_code": r.event_details["sealer_credit_code"],
                "envelope": "price",
                "sealed_share": r.sealed_shares["price"][position - 1],
            }
            for r in ([sealed_reserve] if sealed_reserve is not None else [])
        ],
        "bids": [
            {
                "bid_id": b.id,
                "manifest": base64.b64encode(b.manifest).decode(),
                "manifest_sha256": b.manifest_sha256,
                "bidder_credit_code": orgs[b.organisation_id].credit_code,
                "envelope": "price",
                "sealed_share": b.sealed_shares["price"][position - 1],
                "documents_sealed_share": b.sealed_shares["documents"][position - 1],
            }
            for b in bids
        ],
    }


def _position_of(actor: Actor, sc: SectionCommittee) -> int:
    if sc.committee is None:
        raise NotFound("此标段没有开标小组", "This section has no opening committee", code="no_committee")
    for member in sc.committee["members"]:
        if member["person_id"] == actor.person_id:
            return int(member["position"])
    raise Forbidden("您不是此标段的开标人", "You are not on this section's opening committee", code="not_on_committee")


async def _organisations(session: AsyncSession, ids: list[int]) -> dict[int, Organisation]:
    rows = await session.scalars(select(Organisation).where(Organisation.id.in_(ids or [0])))
    return {o.id: o for o in rows}


_ACTIVE_BIDS = Lean(
    select(Bid.id, Bid.manifest_sha256).where(Bid.section_id == bindparam("section_id"), Bid.state == "active")
)


async def upload_shares(state: State, act: Act, section_id: int, data: schemas.SharesIn) -> dict[str, Any]:
    """Accept one opener's signed shares (per bid one price share and one documents share, each an item naming its
    envelope — or, for a share the bidder sealed wrongly, a dispute disclosing the opener's key); when all n
    openers are in, or the window has closed with k in, open the price envelopes, rebuild the documents keys and
    publish the record."""
    assert act.actor is not None
    async with state.sessionmaker() as session:
        sc = await section_committee(session, section_id)
        position = _position_of(act.actor, sc)
        # One upload at a time per section: this conditional statement holds the opening's row until commit, so
        # the count of uploads below sees every earlier one. (Without it two openers uploading together could
        # each count only their own and neither open the bids, leaving all n shares in and the ceremony waiting.)
        waiting = await session.execute(
            update(Opening)
            .where(Opening.section_id == section_id, Opening.state == "waiting")
            .values(state=Opening.state)
        )
        opening = await session.get(Opening, section_id)
        k, n = sc.committee["k"], sc.committee["n"]  # type: ignore[index]
        if opening is not None and (again := await _replayed(session, opening, position, data, k, n)) is not None:
            return again
        if waiting.rowcount != 1 or opening is None or opening.state != "waiting":
            raise RuleViolation(
                "开标尚未开始或已经结束，不能上传密钥分片",
                "The opening has not started (or is over): shares cannot be uploaded",
                code="opening_not_waiting",
            )
        if window_closed(opening, await _uploaded_count(session, section_id), k, act.at):
            # Late: the shares in by the window's end are the ones that count. Nobody has closed it yet (the
            # scheduler closes windows as they end): close it now — the opening is due — then refuse.
            await opening_job.mark_due(session, section_id, shares_close_at(opening))
            await notify_hall(session, section_id)
            await session.commit()
            opening_job.runner_of(state).kick()
            raise RuleViolation(
                "开标人上传密钥分片的时限已过，开标已按时限内上传的分片进行",
                "The share window has closed: the opening went ahead with the shares uploaded within it",
                code="shares_window_closed",
                details={"shares_close_at": shares_close_at(opening).isoformat()},
            )
        document = decode_b64(data.document, "分片文件", "document")
        signature = decode_b64(data.signature, "签名", "signature", size=64)
        member = sc.committee["members"][position - 1]  # type: ignore[index]
        try:
            ed25519_public(base64.b64decode(member["signing_key"])).verify(signature, document)
        except InvalidSignature as exc:
            raise BadEnvelope(
                "分片文件的签名无效", "The shares document is not signed by your registered key", code="bad_signature"
            ) from exc
        try:
            parsed = msgspec.json.decode(document)
            shares = parsed["shares"]
            assert parsed["section_id"] == section_id and parsed["position"] == position
            assert isinstance(shares, list)
        except (ValueError, KeyError, AssertionError, TypeError) as exc:  # (msgspec.DecodeError is a ValueError)
            raise BadEnvelope(
                "分片文件内容无效，或不是本标段、本席位的",
                "The shares document is malformed or for another section or position",
                code="bad_shares_document",
            ) from exc
        if document != shares_document(section_id, position, shares):
            raise BadEnvelope(
                "分片文件须为规范编码", "The shares document must be canonical JSON", code="bad_shares_document"
            )
        if await session.get(OpeningUpload, (section_id, position)) is not None:
            raise Conflict(
                "您已上传过密钥分片", "You have already uploaded your shares", code="shares_already_uploaded"
            )
        # (bid id → manifest hash: the rows themselves are read only for a dispute)
        bids: dict[int, str] = {
            row["id"]: row["manifest_sha256"]
            for row in await _ACTIVE_BIDS.rows(await session.connection(), {"section_id": section_id})
        }
        sealed_reserve = await reserve.active(session, section_id)
        session.add(
            OpeningUpload(
                section_id=section_id, position=position, document=document, signature=signature, uploaded_at=act.at
            )
        )
        named: set[tuple[int, str]] = set()
        reserve_named = False
        for item in shares:
            if isinstance(item, dict) and "reserve_id" in item:
                if (
                    reserve_named
                    or sealed_reserve is None
                    or item.get("reserve_id") != sealed_reserve.id
                    or item.get("envelope") != "price"
                    or item.get("manifest_sha256") != sealed_reserve.manifest_sha256
                ):
                    raise BadEnvelope(
                        "分片所指的标底不在本次开标中，或重复",
                        "A share names a reserve price that is not being opened, or names it twice",
                        code="unknown_bid",
                    )
                reserve_named = True
                share = decode_b64(item.get("share", ""), "密钥分片", "share")
                session.add(
                    ReserveShare(reserve_id=sealed_reserve.id, position=position, share=share, uploaded_at=act.at)
                )
                continue
            bid_id = item.get("bid_id") if isinstance(item, dict) else None
            if type(bid_id) is not int or bid_id not in bids or item.get("manifest_sha256") != bids[bid_id]:
                raise BadEnvelope(
                    "分片所指的投标不在本次开标中", "A share names a bid that is not being opened", code="unknown_bid"
                )
            envelope = item.get("envelope")
            if envelope not in ("price", "documents"):
                raise BadEnvelope(
                    "分片所指的信封不存在：投标只有报价（price）和投标文件（documents）两个信封",
                    "A share names an envelope a bid does not have: only price and documents",
                    code="unknown_envelope",
                )
            if (bid_id, envelope) in named:  # (else the stored shares' primary key refuses it, as an internal error)
                raise BadEnvelope(
                    "同一投标的同一信封的密钥分片只能上传一份",
                    "One share per bid and envelope: this document names a bid's envelope twice",
                    code="duplicate_share",
                )
            named.add((bid_id, envelope))
            if "dispute_key" in item:
                bid = await session.get(Bid, bid_id)
                assert bid is not None
                session.add(await _dispute(session, sc, bid, envelope, position, item, act.at))
                continue
            # Checked, and kept in the signed document alone: the opening job reads the shares from there
            # (bidding.opening_batch.uploaded_shares), in this very form.
            decode_b64(item.get("share", ""), "密钥分片", "share")
        await record(
            session,
            actor=act.actor,
            address=act.address,
            at=act.at,
            action="opening.shares",
            subject_type="section",
            subject_id=section_id,
            details={"position": position},
        )
        await session.flush()
        uploaded = await _uploaded_count(session, section_id)
        # All n in, or the window over with k: the opening is due, in this transaction; a background job opens
        # the bids (bidding.opening_job), and this request answers at once.
        due = (uploaded == n or window_closed(opening, uploaded, k, act.at)) and await opening_job.mark_due(
            session, section_id, act.at
        )
        await notify_hall(session, section_id)
        await session.commit()
        metrics.OPENING_SHARE_UPLOADS.inc()
        if due:
            opening_job.runner_of(state).kick()
        else:  # the processes that will open the bids start now, not when the last opener's shares come in
            opening_job.runner_of(state).start_pool()
        return _upload_answer(opening, position, uploaded, k, n, "opening" if due else "waiting")


def _upload_answer(opening: Opening, position: int, uploaded: int, k: int, n: int, state: str) -> dict[str, Any]:
    section_id = opening.section_id
    return {
        "section_id": section_id,
        "position": position,
        "uploaded": uploaded,
        "k": k,
        "n": n,
        "shares_close_at": shares_close_at(opening).isoformat(),
        "state": state,
        "status_url": f"/api/sections/{section_id}/opening",
        "hall_url": f"/sections/{section_id}/opening",
    }


async def _replayed(
    session: AsyncSession, opening: Opening, position: int, data: schemas.SharesIn, k: int, n: int
) -> dict[str, Any] | None:
    """The answer to an opener's upload sent again as it was (its answer lost; the CLI retrying): where the opening
    stands now — also once the opening it completed has begun or ended. None if this is not such a repeat."""
    earlier = await session.get(OpeningUpload, (opening.section_id, position))
    if earlier is None:
        return None
    try:
        same = (
            base64.b64decode(data.document, validate=True) == earlier.document
            and base64.b64decode(data.signature, validate=True) == earlier.signature
        )
    except ValueError:
        return None
    if not same:
        return None
    return _upload_answer(opening, position, await _uploaded_count(session, opening.section_id), k, n, opening.state)


async def _dispute(
    session: AsyncSession, sc: SectionCommittee, bid: Bid, envelope: str, position: int, item: dict, at: datetime
) -> OpeningDispute:
    """An opener's dispute of the share sealed to it (docs/envelope.md §10.3), checked before it is accepted: the
    disclosed key must be this opener's and must show the sealed share is bad; an unfounded one is refused."""
    if "share" in item:
        raise BadEnvelope(
            "一项中不能既上传分片又提出异议",
            "An item carries either a share or a dispute, not both",
            code="bad_shares_document",
        )
    raw = decode_b64(item.get("dispute_key", ""), "开标人私钥", "dispute_key")
    suite = sc.committee["suite"]  # type: ignore[index]
    orgs = await _organisations(session, [bid.organisation_id])
    context = context_for(sc, orgs[bid.organisation_id])
    try:
        finding = check_dispute(
            parse_manifest(bid.manifest),
            context,
            envelope,
            position,
            decode_private_key(suite, raw),
            base64.b64decode(bid.sealed_shares[envelope][position - 1]),
        )
    except EnvelopeError as exc:
        exc.details.setdefault("bid_id", bid.id)
        raise
    return OpeningDispute(
        section_id=sc.section.id,
        bid_id=bid.id,
        envelope=envelope,
        position=position,
        private_key=raw,
        finding=finding,
        uploaded_at=at,
    )


async def _uploaded_count(session: AsyncSession, section_id: int) -> int:
    rows = await session.scalars(select(OpeningUpload.position).where(OpeningUpload.section_id == section_id))
    return len(list(rows))


async def close_share_windows(state: State, now: datetime) -> list[int]:
    """Mark due every opening whose share window has ended with at least k openers in (the scheduler's tick), so
    an opening goes ahead when an opener stays away; the job (bidding.opening_job) opens the bids. Returns the
    sections made due."""
    marked = []
    async with state.sessionmaker() as session:
        due = list(await session.scalars(select(Opening).where(Opening.state == "waiting")))
        candidates = [o.section_id for o in due if now >= shares_close_at(o)]
    for section_id in candidates:
        async with state.sessionmaker() as session:
            sc = await section_committee(session, section_id)
            opening = await session.get(Opening, section_id)
            k = sc.committee["k"] if sc.committee else 0
            if opening is None or not window_closed(opening, await _uploaded_count(session, section_id), k, now):
                continue
            # Due at the window's end, however late the tick: the shares that count are the ones in by then.
            if not await opening_job.mark_due(session, section_id, shares_close_at(opening)):
                continue  # another worker, or an upload, closed it
            await notify_hall(session, section_id)
            await session.commit()
            marked.append(section_id)
    if marked:
        opening_job.runner_of(state).kick()
    return marked


async def _price_ciphertext(blobs: BlobStore, sealed: Bid | ReservePrice) -> bytes:
    """A price envelope's ciphertext (a few hundred bytes: read whole, from whichever store holds it)."""
    blob = sealed.blobs["price"]
    return await blobs.read_bytes(blob["sha256"], int(blob["size"]))


def _open_price(
    ciphertext: bytes,
    sealed: Bid | ReservePrice,
    context: Any,
    shares: dict[int, bytes],
    disputed: set[int] | None = None,
    *,
    price_fields: tuple[str, ...] = (),
) -> Any:
    """Rebuild the price key from the openers' shares and decrypt the stored price ciphertext (the final try:
    what cannot open now fails, with whose fault it is, or is disputed)."""
    return combine_and_open(
        parse_manifest(sealed.manifest),
        context,
        "price",
        shares,
        iter((ciphertext,)),
        final=True,
        disputed=disputed or (),
        price_fields=price_fields,
    )


async def open_reserve(session: AsyncSession, blobs: BlobStore, sc: SectionCommittee) -> None:
    """Open the sealed reserve or control price, if there is one, like a bid (its fault rules are the same)."""
    row = await reserve.active(session, sc.section.id)
    if row is None:
        return
    shares = {
        s.position: s.share
        for s in await session.scalars(select(ReserveShare).where(ReserveShare.reserve_id == row.id))
    }
    result = _open_price(await _price_ciphertext(blobs, row), row, await reserve.reserve_context(session, sc), shares)
    row.outcome = result.outcome
    row.form = result.form if result.ok else None
    row.data_key = result.data_key if result.ok else None
    row.reason, row.fault = result.reason, result.fault


_RECORD_BIDS = Lean(
    select(
        Bid.id,
        Organisation.name,
        Organisation.credit_code,
        Bid.manifest_sha256,
        Bid.received_at,
        Bid.state,
        Bid.blobs,
        Bid.event_details,
        Bid.event_salt,
        Bid.signature,
        Bid.withdrawal_event,
        Bid.withdrawal,
        Bid.withdrawal_signature,
        OpeningResult.outcome,
        OpeningResult.form,
        OpeningResult.data_key,
        OpeningResult.reason,
        OpeningResult.fault,
    )
    .join(Organisation, Organisation.id == Bid.organisation_id)
    .outerjoin(OpeningResult, and_(OpeningResult.section_id == Bid.section_id, OpeningResult.bid_id == Bid.id))
    .where(Bid.section_id == bindparam("section_id"))
    .order_by(Bid.id)
)


async def record_fields(session: AsyncSession, sc: SectionCommittee, opening: Opening, at: datetime) -> dict[str, Any]:
    """The opening record's fields (docs/log.md §8). A section may have thousands of bids: each table is read in
    one query of the columns the record shows, and the price shares and sealed shares only of the bids that
    need them (not opened; disputed)."""
    section_id = sc.section.id
    # One lean query for the bids and their results (thousands of rows: SQLAlchemy's row machinery cost more than
    # the query).
    bids = await _RECORD_BIDS.rows(await session.connection(), {"section_id": section_id})
    checkpoint = await session.get(LogCheckpoint, opening.deadline_checkpoint_size)
    cut = await session.get(DeadlineCheckpoint, section_id)
    # The price shares of the bids that did not open, as the openers uploaded them (their signed documents).
    unopened = {bid["id"] for bid in bids if bid["outcome"] is not None and bid["outcome"] != "opened"}
    uploaded = uploaded_shares(await opening_job.upload_documents(session, section_id)) if unopened else {}
    price_shares: dict[int, dict[str, str]] = {
        bid_id: {
            str(position): base64.b64encode(share).decode()
            for position, share in sorted(uploaded[bid_id]["price"].items())
        }
        for bid_id in unopened
        if bid_id in uploaded and uploaded[bid_id]["price"]
    }
    disputes: dict[int, list[dict[str, Any]]] = {}
    for d in await session.scalars(
        select(OpeningDispute)
        .where(OpeningDispute.section_id == section_id)
        .order_by(OpeningDispute.envelope.desc(), OpeningDispute.position)
    ):
        disputes.setdefault(d.bid_id, []).append(d)
    sealed_shares: dict[int, dict[str, Any]] = dict(
        (await session.execute(select(Bid.id, Bid.sealed_shares).where(Bid.id.in_(list(disputes))))).all()
        if disputes
        else []
    )
    b64 = base64.b64encode
    rows = []
    for bid in bids:
        bid_id, state, outcome = bid["id"], bid["state"], bid["outcome"]
        blobs = bid["blobs"]
        entry: dict[str, Any] = {
            "bidder": bid["name"],
            "bidder_credit_code": bid["credit_code"],
            "manifest_sha256": bid["manifest_sha256"],
            "received_at": log_entries.instant(bid["received_at"]),
            "state": state,
            "outcome": outcome if outcome is not None else state,
            "ciphertexts": {"price": blobs["price"], "documents": blobs["documents"]},
            "event": {"details": bid["event_details"], "salt": b64(bid["event_salt"]).decode()},
            # The bidder's Ed25519 signature over the manifest's exact bytes (docs/envelope.md §7); the key is
            # in the manifest, its owner in the key directory (docs/log.md §7).
            "signature": b64(bid["signature"]).decode(),
        }
        if bid["withdrawal_event"]:
            entry["withdrawal_event"] = bid["withdrawal_event"]
        if bid["withdrawal"] is not None and bid["withdrawal_signature"] is not None:
            # What the bidder signed to withdraw (bidding.withdrawal), so that anyone can see the withdrawal was
            # the bidder's own act and not the platform's.
            entry["withdrawal"] = {
                "document": b64(bid["withdrawal"]).decode(),
                "signature": b64(bid["withdrawal_signature"]).decode(),
            }
        if outcome is not None:
            entry["form"] = bid["form"]
            entry["price_key"] = b64(bid["data_key"]).decode() if bid["data_key"] else None
            entry["reason"] = bid["reason"]
            entry["fault"] = bid["fault"]
            # 20号令 §31: the bidder's fault → treated as revoked (视为撤销); anyone else's → as withdrawn (视为撤回);
            # a dispute neither, until the supervisors rule (docs/envelope.md §10.3).
            if outcome == "failed":
                entry["treated_as"] = "revoked" if bid["fault"] == "bidder" else "withdrawn"
            elif outcome == "disputed":
                entry["treated_as"] = "pending_ruling"
            if outcome != "opened":
                # Every price share uploaded in the window: with the signed commitments, anyone can sort them into
                # valid and refused and repeat the combination (the price key is public after an opening anyway).
                entry["price_shares"] = price_shares.get(bid_id, {})
        if bid_id in disputes:
            # The disclosed key, the sealed share (its hash is in the signed manifest) and the finding: anyone can
            # open the sealed share with the key and the info of §6.3 and see it fail.
            entry["disputes"] = [
                {
                    "envelope": d.envelope,
                    "position": d.position,
                    "finding": d.finding,
                    "opener_private_key": b64(d.private_key).decode(),
                    "sealed_share": sealed_shares[bid_id][d.envelope][d.position - 1],
                }
                for d in disputes[bid_id]
            ]
        rows.append(entry)
    return {
        "opened_at": log_entries.instant(at),
        # Reveals which log entries belong to this section (bidding.events): anyone can check the record
        # lists every bid event logged for it before the deadline checkpoint, and nothing else.
        "section_tag_key": base64.b64encode(await events.section_key(session, sc.section.id)).decode(),
        "section_id": sc.section.id,
        "section_code": sc.section.code,
        "trade_code": sc.project.trade_code,
        # The published tender notice version whose committee the bids were sealed to (docs/log.md §8).
        "tender_notice": {
            "notice_id": sc.version.notice_id,
            "version": sc.version.version,
            "content_sha256": sc.version.content_hash,
        },
        "deadline": sc.section.deadline_at.isoformat() if sc.section.deadline_at else None,
        "deadline_checkpoint": {
            "size": opening.deadline_checkpoint_size,
            "note": checkpoint.note if checkpoint else None,
        },
        # The signed statement that this checkpoint closed the section's bidding, and when (trading.log.cuts).
        "deadline_cut": {"note": cut.cut_note if cut else None},
        "committee": {
            "k": sc.committee["k"],
            "n": sc.committee["n"],  # type: ignore[index]
            "shares_close_at": shares_close_at(opening).isoformat(),
            "uploaded": sorted(
                p
                for (p,) in (
                    await session.execute(
                        select(OpeningUpload.position).where(OpeningUpload.section_id == sc.section.id)
                    )
                ).all()
            ),
        },
        "bids": rows,
        # Reserve or control prices sealed by staff (every one, replaced ones too, so each logged event is
        # accounted for); the active one opened with the bids.
        "reserve_prices": [
            reserve.record_entry(r)
            for r in await session.scalars(
                select(ReservePrice).where(ReservePrice.section_id == sc.section.id).order_by(ReservePrice.id)
            )
        ],
    }


async def publish_record(session: AsyncSession, act: Act, sc: SectionCommittee, opening: Opening) -> Any:
    """The opening record (开标记录), published at ``act.at`` in the name of the staff who started the ceremony; it
    says the bids were opened when the opening became due (the shares that count were fixed then)."""
    person = await session.get(Person, opening.started_by)
    assert person is not None
    staff_act = Act(actor=actor_of(person), address=act.address, at=act.at)
    opened_at = opening.due_at or act.at
    fields = await record_fields(session, sc, opening, opened_at)
    opened = [b for b in fields["bids"] if b["outcome"] == "opened"]
    active = [b for b in fields["bids"] if b["state"] == "active"]
    lines = [
        f"{sc.project.name}{sc.section.name}于{opened_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}开标。",
        f"共收到有效投标文件 {len(active)} 份，成功解密 {len(opened)} 份。",
    ]
    for r in fields["reserve_prices"]:
        if r["outcome"] == "opened" and r.get("form"):
            figure = r["form"]["total_price_fen"] / 100
            lines.append(f"{r['kind_zh']}：{figure:,.2f} 元（交易中心开标前密封，与投标同时解密）")
        elif r["outcome"] == "failed":
            lines.append(f"{r['kind_zh']}：解密失败（{r['reason']}，责任方：{r['fault']}）")
    for b in fields["bids"]:
        if b["outcome"] == "opened" and b.get("form"):
            lines.append(
                f"{b['bidder']}：投标报价 {b['form']['total_price_fen'] / 100:,.2f} 元，"
                f"工期 {b['form'].get('duration_days', '—')} 日历天，质量 {b['form'].get('quality', '—')}"
            )
        elif b["outcome"] == "failed":
            lines.append(f"{b['bidder']}：解密失败（{b['reason']}，责任方：{b['fault']}）")
        elif b["outcome"] == "disputed":
            who = "、".join(f"第{d['position']}号开标人" for d in b.get("disputes", []))
            lines.append(f"{b['bidder']}：未能解密，{who}提出分片异议（{b['reason']}），待监督人员裁定")
    return await notice_services.draft_and_publish(
        session,
        staff_act,
        NoticeDraftCreate(
            project_id=sc.project.id,
            kind="opening_record",
            title=f"{sc.project.name}{sc.section.name}开标记录"[:300],
            body="\n".join(lines),
            fields=fields,
            section_ids=[sc.section.id],
        ),
        tz=SHANGHAI,
        by_platform=True,
    )


async def status(session: AsyncSession, section_id: int) -> dict[str, Any]:
    sc = await section_committee(session, section_id)
    opening = await session.get(Opening, section_id)
    uploaded = [
        p
        for (p,) in (
            await session.execute(select(OpeningUpload.position).where(OpeningUpload.section_id == section_id))
        ).all()
    ]
    members = [
        {"position": m["position"], "name": m["name"], "uploaded": m["position"] in uploaded}
        for m in (sc.committee or {"members": []})["members"]
    ]
    body: dict[str, Any] = {
        "section_id": section_id,
        "section_state": sc.section.state,
        "deadline_at": sc.section.deadline_at.isoformat() if sc.section.deadline_at else None,
        "state": opening.state if opening else "not_started",
        "k": sc.committee["k"] if sc.committee else None,
        "shares_close_at": shares_close_at(opening).isoformat() if opening else None,
        "members": members,
        "record_notice_id": opening.record_notice_id if opening else None,
    }
    if opening is not None and opening.state in ("opening", "opened") and opening.bids_total is not None:
        # The job's committed batches (bidding.opening_job): how many bids are opened so far, of how many.
        total = opening.bids_total or 0
        body["progress"] = {
            "opened": total if opening.state == "opened" else (opening.bids_opened or 0),
            "total": total,
            "due_at": opening.due_at.isoformat() if opening.due_at else None,
        }
    if opening is not None and opening.state == "opened":
        # Published with the record, so the hall names the bidders too (one query: a section may have thousands).
        rows = await session.execute(
            select(
                OpeningResult.bid_id,
                Organisation.name,
                OpeningResult.outcome,
                OpeningResult.form,
                OpeningResult.fault,
                OpeningResult.reason,
            )
            .join(Bid, Bid.id == OpeningResult.bid_id)
            .join(Organisation, Organisation.id == Bid.organisation_id)
            .where(OpeningResult.section_id == section_id)
            .order_by(OpeningResult.bid_id)
        )
        results = rows.all()
        # The supervisors' rulings on the bids left disputed (bidding.rulings): how each counts, and its notice.
        ruled = {
            r.bid_id: {"treated_as": r.treated_as, "notice_id": r.notice_id}
            for r in (
                await session.scalars(select(BidRuling).where(BidRuling.section_id == section_id))
                if any(outcome == "disputed" for _, _, outcome, *_ in results)
                else ()
            )
        }
        body["results"] = [
            {"bid_id": bid_id, "bidder": name, "outcome": outcome, "form": form, "fault": fault, "reason": reason}
            | ({"ruling": ruled.get(bid_id)} if outcome == "disputed" else {})
            for bid_id, name, outcome, form, fault, reason in results
        ]
        opened_reserve = await reserve.active(session, section_id)
        if opened_reserve is not None:
            body["reserve"] = {
                "kind": opened_reserve.kind,
                "kind_zh": reserve.KINDS[opened_reserve.kind][0],
                "outcome": opened_reserve.outcome,
                "form": opened_reserve.form,
                "fault": opened_reserve.fault,
                "reason": opened_reserve.reason,
            }
    return body


async def opened_bid(session: AsyncSession, section_id: int, manifest_sha256: str) -> Bid | ReservePrice:
    """A bid (or the reserve price) of a section whose opening record is published; before that nothing about
    bids is public."""
    opening = await session.get(Opening, section_id)
    bid: Bid | ReservePrice | None = await session.scalar(
        select(Bid).where(Bid.section_id == section_id, Bid.manifest_sha256 == manifest_sha256)
    )
    if bid is None:
        bid = await session.scalar(
            select(ReservePrice).where(
                ReservePrice.section_id == section_id, ReservePrice.manifest_sha256 == manifest_sha256
            )
        )
    if opening is None or opening.state != "opened" or bid is None:
        raise NotFound(
            "开标记录公布前不公开投标信息，或该投标不存在",
            "Bids are not public before the opening record is published, or there is no such bid",
            code="bid_not_public",
        )
    return bid


async def opening_readings(session: AsyncSession, now: datetime) -> list[metrics.Reading]:
    """For /metrics: the openings by state, and the openers' uploads in the ones still waiting for shares."""
    rows = (await session.execute(select(Opening.state, func.count()).group_by(Opening.state))).all()
    by_state: dict[str, int] = {state: count for state, count in rows}
    waiting_uploads = await session.scalar(
        select(func.count())
        .select_from(OpeningUpload)
        .join(Opening, Opening.section_id == OpeningUpload.section_id)
        .where(Opening.state == "waiting")
    )
    help_ = "Openings, by state (waiting for shares, opening, opened, failed)"
    return [
        *(metrics.Reading("trading_openings", help_, by_state.get(s, 0), {"state": s}) for s in OPENING_STATES),
        metrics.Reading(
            "trading_opening_share_uploads_waiting",
            "Openers' share uploads received by the openings still waiting for shares",
            waiting_uploads or 0,
        ),
    ]


OPENING_STATES = ("waiting", "opening", "opened", "failed")
