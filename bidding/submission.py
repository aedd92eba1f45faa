"""Submitting sealed bids: check the signed manifest, stream the ciphertexts in (resumably), then accept
the bid in one statement that cannot race the deadline, and give a signed receipt once it is durable.

Order of work in ``complete``: the ciphertexts are hashed and moved into the blob store (written,
fsynced, renamed) before the bid row exists; the bid row, its log entry and the section lock commit
together; only then is the receipt signed and returned. A crash at any point leaves either no bid (and
at worst an unreferenced blob) or a committed bid whose receipt can be fetched again — never a
receipted bid that is not there.

A bid sent whole (``submit_file``) is checked without a transaction, its ciphertexts are stored, and on
PostgreSQL it is then accepted by one statement that commits on its own (``_accept_whole``): the section held
open, the key held live, the bidder's earlier bid replaced and the rows written, or nothing at all. The
deadline is decided there, as under ``lock_open_section``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, bindparam, exists, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bidding import bid_rows, events, receipts, schemas
from bidding.committees import (
    BID_SECTION_QUERY,
    BidSection,
    SectionCommittee,
    SectionRow,
    bid_section_of,
    section_committee,
)
from bidding.envelope import (
    BidContext,
    CiphertextData,
    CiphertextEnd,
    HeadReceived,
    Malformed,
    Manifest,
    SealedBidParser,
    check_ciphertext,
    check_submission,
    manifest_hash,
    parse_manifest,
)
from bidding.errors import (
    BadEnvelope,
    DeadlinePassed,
    NotYourBid,
    SectionNotOpenForBids,
    UploadConflict,
    UploadNotFound,
)
from bidding.keys import bidder_key_by_public, decode_b64, ed25519_public
from bidding.models import Bid, BidderKey, Upload
from bidding.receipts import ReceiptSigner
from trading import metrics
from trading.accounts.models import Organisation
from trading.audit import services as audit
from trading.audit.services import record
from trading.blobs import BlobStore, HashMismatch, Incomplete, OffsetMismatch, Prepared, StoredBlob, UploadSpool
from trading.context import Act, Actor
from trading.db import Lean, without_transaction
from trading.errors import Forbidden, InvalidInput, NotFound
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Section

ENVELOPES = ("price", "documents")
NOT_TAKING_BIDS = ("此标段当前不接受投标", "This section is not taking bids")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _bidder(act: Act) -> Actor:
    actor = act.actor
    if actor is None or actor.organisation_id is None or not actor.has_role("bidder"):
        raise Forbidden("只有投标人可以递交投标文件", "Only a bidder can submit bids", code="wrong_role")
    return actor


def _local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _ensure_open(sc: SectionCommittee | BidSection, now: datetime) -> None:
    if sc.committee is None:
        raise SectionNotOpenForBids(
            "此标段未设开标小组，不接受电子投标", "This section has no opening committee and takes no electronic bids"
        )
    _ensure_taking_bids(sc.section, now)


def _ensure_taking_bids(section: Section | SectionRow, now: datetime) -> None:
    # "closed" is what the deadline does: a request that read the clock a moment before the deadline and got
    # here after the close hears that the deadline has passed.
    if section.deadline_at is not None and (now >= section.deadline_at or section.state == "closed"):
        raise DeadlinePassed(_local(section.deadline_at))
    if section.state != "tendering":
        raise SectionNotOpenForBids(
            f"此标段当前不接受投标（状态：{section.state}）",
            f"This section is not taking bids (state: {section.state})",
        )


async def _ensure_upload_section_open(session: AsyncSession, upload: Upload, now: datetime) -> None:
    """The time check for an upload already begun (its section's committee was checked then): one read."""
    section = await session.get(Section, upload.section_id)
    assert section is not None
    _ensure_taking_bids(section, now)


class Party(NamedTuple):
    """What a bid's path needs of the bidding organisation (read as two columns, not as an ORM object)."""

    id: int
    credit_code: str


def context_for(sc: SectionCommittee | BidSection, organisation: Organisation | Party) -> BidContext:
    assert sc.committee is not None
    return BidContext(
        section_id=sc.section.id,
        trade_code=sc.project.trade_code,
        section_code=sc.section.code,
        bidder_credit_code=organisation.credit_code,
        suite=sc.committee["suite"],
        k=sc.committee["k"],
        n=sc.committee["n"],
        opener_keys=sc.public_keys,
    )


async def discard_uploads(uploads: UploadSpool, upload_ids: list[str]) -> None:
    """Remove what uploads left in the store's spool (a completed bid's ciphertexts live on as blobs)."""
    for upload_id in upload_ids:
        await uploads.discard(upload_id)


def _envelope(envelope: str) -> str:
    if envelope not in ENVELOPES:
        raise InvalidInput(
            "信封名称只能是 price 或 documents", "The envelope must be price or documents", code="bad_envelope_name"
        )
    return envelope


async def upload_read(upload: Upload, uploads: UploadSpool) -> schemas.UploadRead:
    received = {e: await uploads.received(upload.id, e) for e in ENVELOPES}
    return schemas.UploadRead(
        upload_id=upload.id,
        section_id=upload.section_id,
        manifest_sha256=upload.manifest_sha256,
        state=upload.state,
        envelopes={
            e: schemas.UploadEnvelope(
                size=upload.sizes[e],
                received=received[e],
                url=f"/api/uploads/{upload.id}/{e}",
            )
            for e in ENVELOPES
        },
        complete_url=f"/api/uploads/{upload.id}/complete",
    )


def decode_head(data: schemas.SubmissionIn | schemas.ReserveIn) -> tuple[bytes, bytes, dict[str, list[bytes]]]:
    """A sealed submission's head from base64: the manifest, its signature, the sealed shares per envelope."""
    manifest = decode_b64(data.manifest, "清单", "manifest")
    signature = decode_b64(data.signature, "签名", "signature", size=64)
    try:
        sealed = {e: [base64.b64decode(s, validate=True) for s in data.sealed_shares.get(e, [])] for e in ENVELOPES}
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(
            "密封份额不是有效的 base64", "A sealed share is not valid base64", code="bad_base64"
        ) from exc
    return manifest, signature, sealed


async def begin(session: AsyncSession, act: Act, section_id: int, data: schemas.SubmissionIn) -> Upload:
    """Check a signed manifest and open an upload for its ciphertexts. A replayed manifest returns the same
    upload (or the bid it became).

    The bidder's own completed upload is found before the deadline is checked: a submission resumed after a
    crash (the bid committed, its receipt lost) names the bid even after the deadline, and the bidder goes on
    to fetch the receipt. An upload not completed in time hears that the deadline has passed."""
    actor = _bidder(act)
    manifest, signature, sealed = decode_head(data)
    digest = manifest_hash(manifest)
    existing = await session.scalar(select(Upload).where(Upload.manifest_sha256 == digest))
    if (
        existing is not None
        and existing.state == "complete"
        and existing.organisation_id == actor.organisation_id
        and existing.section_id == section_id
    ):
        return existing  # a replay of what is already a bid: nothing to check, nothing to do
    sc = await section_committee(session, section_id)
    _ensure_open(sc, act.at)
    organisation = await session.get(Organisation, actor.organisation_id)
    assert organisation is not None
    if existing is not None:
        if existing.organisation_id != actor.organisation_id:
            raise NotYourBid()
        if existing.state == "superseded":  # the bidder went back to this bid: it becomes the open one again
            await _supersede_open_uploads(session, act, section_id, existing.organisation_id)
            existing.state, existing.updated_at = "open", act.at
            await session.flush()
        return existing  # a replay: the same submission, not a second one
    _require_sealed(manifest)
    signing_key = _signing_key_of(manifest)
    key_row = await bidder_key_by_public(session, organisation.id, signing_key)
    if key_row is None:
        raise _unregistered_key()
    parsed = check_submission(manifest, signature, sealed, context_for(sc, organisation), ed25519_public(signing_key))
    # One open upload per bidder and section: beginning another (a resealed bid, a lost upload id) supersedes
    # the one left open. A unique index holds it when two begin at once; the later is told to try again.
    superseded = await _supersede_open_uploads(session, act, section_id, organisation.id)
    upload = _new_upload(
        act,
        section_id,
        organisation.id,
        manifest,
        signature,
        sealed,
        sizes={e: parsed.envelope(e).ciphertext_size for e in ENVELOPES},
        state="open",
    )
    session.add(upload)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise UploadConflict(
            "贵单位在此标段的另一份上传同时开始，请稍后重试",
            "Another upload of yours for this section began at the same moment: try again",
        ) from exc
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="bid.upload_begin",
        subject_type="section",
        subject_id=section_id,
        details={"upload_id": upload.id, "superseded": superseded},
    )
    return upload


def _new_upload(
    act: Act,
    section_id: int,
    organisation_id: int,
    manifest: bytes,
    signature: bytes,
    sealed_shares: dict[str, list[bytes]],
    *,
    sizes: dict[str, int],
    state: str,
) -> Upload:
    """A submission's upload row: open, for ciphertexts to come in pieces (begin), or complete, its ciphertexts
    in hand (a bid sent whole)."""
    assert act.actor is not None
    return Upload(
        id=secrets.token_hex(16),
        section_id=section_id,
        organisation_id=organisation_id,
        person_id=act.actor.person_id,
        manifest=manifest,
        signature=signature,
        manifest_sha256=manifest_hash(manifest),
        sealed_shares={e: [base64.b64encode(x).decode() for x in sealed_shares[e]] for e in ENVELOPES},
        sizes=sizes,
        state=state,
        created_at=act.at,
        updated_at=act.at,
    )


# The statements of a bid's path, built once (building a statement each time cost more CPU than running it).
_ORGANISATIONS, _KEYS, _BIDS, _SECTIONS, _UPLOADS = (
    m.__table__ for m in (Organisation, BidderKey, Bid, Section, Upload)
)
_ACTIVE_BID = select(_BIDS.c.manifest_sha256).where(
    (_BIDS.c.section_id == bindparam("section_id"))
    & (_BIDS.c.organisation_id == bindparam("organisation_id"))
    & (_BIDS.c.state == "active")
)
_ACTIVE_BID_NOW = Lean(_ACTIVE_BID)
#: The checks' one read of the bidder and the section (one row per upload that matters, or one without an upload):
#: the bidder's organisation, the manifest's signing key if it is registered to it and live, its active bid in the
#: section, the uploads that matter — this file's own (a replay, or its upload in pieces begun earlier, whoever's
#: it is) and the bidder's upload left open in the section (superseded by this bid) — and the section as
#: bidding.committees.BID_SECTION_QUERY reads it (its columns named section_…; none if it is not published).
_SECTION_READ = BID_SECTION_QUERY.subquery("bid_section")
_BIDDER_AND_UPLOADS = Lean(
    hot=True,
    statement=select(
        _ORGANISATIONS.c.id,
        _ORGANISATIONS.c.credit_code,
        _KEYS.c.id.label("key_id"),
        _ACTIVE_BID.scalar_subquery().label("active_bid"),
        _UPLOADS.c.id.label("upload_id"),
        _UPLOADS.c.manifest_sha256.label("upload_manifest_sha256"),
        _UPLOADS.c.organisation_id.label("upload_organisation_id"),
        _UPLOADS.c.section_id.label("upload_section_id"),
        _UPLOADS.c.state.label("upload_state"),
        *(c.label(f"section_{c.key}") for c in _SECTION_READ.c),
    )
    .select_from(_ORGANISATIONS)
    .outerjoin(
        _KEYS,
        (_KEYS.c.organisation_id == _ORGANISATIONS.c.id)
        & (_KEYS.c.public_key == bindparam("public_key"))
        & _KEYS.c.revoked_at.is_(None),
    )
    .outerjoin(
        _UPLOADS,
        (_UPLOADS.c.manifest_sha256 == bindparam("digest"))
        | (
            (_UPLOADS.c.section_id == bindparam("section_id"))
            & (_UPLOADS.c.organisation_id == _ORGANISATIONS.c.id)
            & (_UPLOADS.c.state == "open")
        ),
    )
    .outerjoin(_SECTION_READ, true())
    .where(_ORGANISATIONS.c.id == bindparam("organisation_id")),
)
_REPLACE_ACTIVE_BID = (
    update(_BIDS)
    .where(
        _BIDS.c.section_id == bindparam("b_section_id"),
        _BIDS.c.organisation_id == bindparam("b_organisation_id"),
        _BIDS.c.state == "active",
    )
    .values(state="replaced", ended_at=bindparam("b_at"))
    .returning(_BIDS.c.manifest_sha256)
)
_LIVE_KEY = select(_KEYS.c.id).where(_KEYS.c.id == bindparam("b_key_id"), _KEYS.c.revoked_at.is_(None))


def _hold_key_and_replace() -> Lean:
    """PostgreSQL: the signing key share-locked if it is still live (a revocation then waits for this bid, and a
    bid after a revocation sees it), and the bidder's active bid replaced, in one statement."""
    held = _LIVE_KEY.with_for_update(read=True).cte("held_key")
    ended = _REPLACE_ACTIVE_BID.where(exists(select(held.c.id))).cte("ended")
    return Lean(
        select(
            exists(select(held.c.id)).label("key_live"),
            select(ended.c.manifest_sha256).limit(1).scalar_subquery().label("manifest_sha256"),
        )
    )


_KEY_AND_REPLACE = {"postgresql": _hold_key_and_replace(), "sqlite": (Lean(_LIVE_KEY), Lean(_REPLACE_ACTIVE_BID))}
_OPEN_SECTION = (
    (_SECTIONS.c.id == bindparam("b_section_id"))
    & (_SECTIONS.c.state == "tendering")
    & (_SECTIONS.c.deadline_at > bindparam("b_now"))
)
_SHARE_LOCK_OPEN_SECTION = Lean(
    select(_SECTIONS.c.id, func.pg_advisory_xact_lock(bindparam("b_section_id"), bindparam("b_party")))
    .where(_OPEN_SECTION)
    .with_for_update(read=True, of=_SECTIONS)
)
#: The largest key pg_advisory_xact_lock(int4, int4) takes.
_INT4_MAX = 2**31 - 1
_LOCK_OPEN_SECTION = update(_SECTIONS).where(_OPEN_SECTION).values(state=_SECTIONS.c.state)


def _accept_whole_statement(inline: bool) -> Lean:
    """PostgreSQL, a bid sent whole (no upload of it or of the bidder's left open in the section): the whole
    acceptance as one statement, which commits on its own. The section share-locked if it is still open (and
    the advisory lock on section and bidder taken), the signing key share-locked if it is still live, the
    bidder's active bid replaced if it is still the one read before (``b_replaces``; none when
    ``b_replacing`` is false), and the rows written (with the ciphertexts, if *inline*) — all of it, or
    nothing: the row says which condition failed (``open``, ``key_live``; both true and no ``id``: the active
    bid was not the one read)."""
    held_section = _SHARE_LOCK_OPEN_SECTION.statement.cte("held_section").prefix_with("MATERIALIZED")  # type: ignore[attr-defined]
    held_key = _LIVE_KEY.with_for_update(read=True).cte("held_key")
    is_open, key_live = exists(select(held_section.c.id)), exists(select(held_key.c.id))
    ended = _REPLACE_ACTIVE_BID.where(_BIDS.c.manifest_sha256 == bindparam("b_replaces"), is_open, key_live)
    replaced = exists(select(ended.cte("ended").c.manifest_sha256))
    gate = is_open & key_live & (replaced == bindparam("b_replacing", type_=Boolean))
    columns = (is_open.label("open"), key_live.label("key_live"))
    return bid_rows.gated(gate, *columns, inline=ENVELOPES if inline else (), hot=True)


#: Built once each: with the ciphertexts kept in the database (trading.blobs.inline), and without (stored already).
_ACCEPT_WHOLE = {True: _accept_whole_statement(True), False: _accept_whole_statement(False)}

#: The largest sealed bid file taken in one request; a bigger one goes in resumable pieces (begin, upload,
#: complete), which `bidding submit` chooses by itself.
ONE_REQUEST_LIMIT = 16 * 1024**2


@dataclass(frozen=True)
class SealedFile:
    """A whole sealed bid file (``*.bid``) as parsed from one request's body."""

    head: HeadReceived
    ciphertexts: dict[str, list[bytes]]
    hashes: dict[str, tuple[str, int]]  # envelope -> (sha256, size) as received


def parse_sealed_file(body: bytes) -> SealedFile:
    """Parse a sealed bid file; a body that is not one is refused (422) with what is wrong with it."""
    parser = SealedBidParser()
    head: HeadReceived | None = None
    ciphertexts: dict[str, list[bytes]] = {e: [] for e in ENVELOPES}
    hashes: dict[str, tuple[str, int]] = {}
    try:
        events_ = parser.feed(body)
        parser.close()
    except Malformed as exc:
        raise BadEnvelope(
            f"所递交的不是完整的加密投标文件（{exc.message_zh}），请用投标客户端 bidding seal 生成后递交",
            f"This is not a whole sealed bid file ({exc.message_en}): make it with bidding seal and submit that",
            code="malformed_bid_file",
            details={"reason": exc.code},
        ) from exc
    for event in events_:
        if isinstance(event, HeadReceived):
            head = event
        elif isinstance(event, CiphertextData):
            ciphertexts[event.envelope].append(event.data)
        elif isinstance(event, CiphertextEnd):
            hashes[event.envelope] = (event.sha256, event.size)
    assert head is not None and set(hashes) == set(ENVELOPES)  # close() raised otherwise
    return SealedFile(head, ciphertexts, hashes)


async def submit_file(
    session: AsyncSession,
    act: Act,
    section_id: int,
    body: bytes,
    *,
    blobs: BlobStore,
    signer: ReceiptSigner,
    inline_max: int = 0,
) -> Accepted:
    """A whole sealed bid file in one request: the checks of ``begin`` (read only), the ciphertexts straight into
    the blob store, then the bid accepted — by one statement on its own (``_accept_whole``), or under the
    section's lock as ``complete`` does, in the session's transaction. The caller commits, and only then hands
    the receipt out. Sending the same file again gives the same bid. Ciphertexts of at most *inline_max* bytes
    are kept in the database by the one statement (trading.blobs.inline) rather than in *blobs*."""
    actor = _bidder(act)
    sealed = parse_sealed_file(body)
    manifest, signature = sealed.head.manifest_bytes, sealed.head.signature
    digest = manifest_hash(manifest)
    head = _require_sealed(manifest)
    signing_key = _signing_key_of(head)
    # The checks read without a transaction (nothing is written until the acceptance, which decides): no BEGIN
    # and ROLLBACK round trips around them.
    conn = await without_transaction(session)
    rows = await _BIDDER_AND_UPLOADS.rows(
        conn,
        {
            "organisation_id": actor.organisation_id,
            "public_key": signing_key,
            "section_id": section_id,
            "digest": digest,
        },
    )
    assert rows  # the token's holder's organisation
    found = rows[0]
    uploads = [
        {
            "id": r["upload_id"],
            **{c: r[f"upload_{c}"] for c in ("manifest_sha256", "organisation_id", "section_id", "state")},
        }
        for r in rows
        if r["upload_id"] is not None
    ]
    existing = next((u for u in uploads if u["manifest_sha256"] == digest), None)
    if existing is not None:
        if existing["organisation_id"] != actor.organisation_id or existing["section_id"] != section_id:
            raise NotYourBid()
        if existing["state"] == "complete":  # a replay of what is already a bid
            bid = await session.scalar(select(Bid).where(Bid.upload_id == existing["id"]))
            assert bid is not None
            return Accepted(bid, False)
    sc = await bid_section_of(conn, {c.key: found[f"section_{c.key}"] for c in _SECTION_READ.c})
    _ensure_open(sc, act.at)
    organisation, signing_key_id = Party(found["id"], found["credit_code"]), found["key_id"]
    if signing_key_id is None:
        raise _unregistered_key()
    sealed_shares = {e: list(sealed.head.sealed_shares.get(e, ())) for e in ENVELOPES}
    parsed = check_submission(
        manifest, signature, sealed_shares, context_for(sc, organisation), ed25519_public(signing_key), parsed=head
    )
    for envelope in ENVELOPES:
        check_ciphertext(parsed, envelope, *sealed.hashes[envelope])
    centre_id = sc.project.centre_id
    existing_id = existing["id"] if existing is not None else None
    supersede = any(u["state"] == "open" and u is not existing for u in uploads)
    # The usual case, on PostgreSQL: no upload of the bidder's in the section, and its tag key made by an earlier
    # bid (the first bid makes it in its own transaction, which a refusal rolls back). Then the bid is accepted
    # by one statement, and small ciphertexts are kept in the database by that same statement.
    section_key = None
    if existing_id is None and not supersede and session.bind.dialect.name == "postgresql":
        section_key = await events.section_key_made(session, section_id)
    kept: dict[str, tuple[str, bytes]] | None = None
    if section_key is not None and all(sealed.hashes[e][1] <= inline_max for e in ENVELOPES):
        kept = {e: (sealed.hashes[e][0], b"".join(sealed.ciphertexts[e])) for e in ENVELOPES}
        stored = {e: StoredBlob(sha256=sealed.hashes[e][0], size=sealed.hashes[e][1]) for e in ENVELOPES}
    else:
        # The checks are done: their read-only transaction ends here, so that no connection is held while the
        # ciphertexts are written and fsynced (in a deadline storm the pool is what bids queue for).
        await session.rollback()
        # Stored before the section's lock, as complete() stores before it: a refusal at the lock leaves blobs no
        # row names, which garbage collection removes after its grace period.
        puts = [
            blobs.put_bytes(b"".join(sealed.ciphertexts[e]), expected_sha256=sealed.hashes[e][0]) for e in ENVELOPES
        ]
        stored = dict(zip(ENVELOPES, await asyncio.gather(*puts), strict=True))
        if section_key is not None:
            conn = await without_transaction(session)
    # A bid sent whole without an upload of its own begun earlier: its upload row, written with the bid.
    upload = (
        _new_upload(
            act,
            section_id,
            organisation.id,
            manifest,
            signature,
            sealed_shares,
            sizes={e: sealed.hashes[e][1] for e in ENVELOPES},
            state="complete",
        )
        if existing_id is None
        else None
    )
    new_upload = {c: getattr(upload, c) for c in bid_rows.UPLOAD_COLUMNS} if upload is not None else None
    if section_key is not None:
        assert upload is not None and new_upload is not None  # (the one-statement path has no earlier upload)
        bid = await _accept_whole(
            session,
            conn,
            act,
            actor,
            upload,
            new_upload,
            organisation,
            signing_key_id,
            stored,
            signer,
            replaced=found["active_bid"],
            centre_id=centre_id,
            section_key=section_key,
            kept=kept,
        )
        return Accepted(bid, True)
    await lock_open_section(session, section_id, act.at, NOT_TAKING_BIDS, party=organisation.id)
    superseded = await _supersede_open_uploads(session, act, section_id, organisation.id) if supersede else []
    if existing_id is not None:  # this bidder's own unfinished upload of the same file: it is finished here
        superseded = [u for u in superseded if u != existing_id]
        claimed = await session.execute(
            update(Upload)
            .where(Upload.id == existing_id, Upload.state != "complete")
            .values(state="complete", updated_at=act.at)
        )
        if claimed.rowcount != 1:  # completed meanwhile (the same file, sent again at once): that bid
            bid = await session.scalar(select(Bid).where(Bid.upload_id == existing_id))
            if bid is None:
                raise UploadConflict("该上传已结束", "This upload is no longer open")
            return Accepted(bid, False)
        upload = await session.get(Upload, existing_id, populate_existing=True)
        assert upload is not None
    if superseded:
        await record(
            session,
            actor=actor,
            address=act.address,
            at=act.at,
            action="bid.upload_begin",
            subject_type="section",
            subject_id=section_id,
            details={"upload_id": upload.id, "superseded": superseded},
            centre_id=centre_id,
        )
    bid = await _accept(
        session,
        act,
        actor,
        upload,
        organisation,
        signing_key_id,
        stored,
        signer,
        centre_id=centre_id,
        new_upload=new_upload,
    )
    return Accepted(bid, True)


async def replayed_bid(session: AsyncSession, act: Act, section_id: int, body: bytes) -> Bid:
    """The bid a sealed bid file already became (another request with the same file won the race)."""
    actor = _bidder(act)
    digest = manifest_hash(parse_sealed_file(body).head.manifest_bytes)
    upload = await session.scalar(select(Upload).where(Upload.manifest_sha256 == digest))
    if upload is None or upload.state != "complete":
        raise UploadConflict(
            "同一投标文件的另一次递交正在进行，请稍后重试",
            "The same bid file is being submitted at this moment: try again",
        )
    if upload.organisation_id != actor.organisation_id or upload.section_id != section_id:
        raise NotYourBid()
    bid = await session.scalar(select(Bid).where(Bid.upload_id == upload.id))
    assert bid is not None
    return bid


async def _supersede_open_uploads(session: AsyncSession, act: Act, section_id: int, organisation_id: int) -> list[str]:
    return list(
        await session.scalars(
            update(Upload)
            .where(Upload.section_id == section_id, Upload.organisation_id == organisation_id, Upload.state == "open")
            .values(state="superseded", updated_at=act.at)
            .returning(Upload.id)
        )
    )


def _ensure_still_open(upload: Upload) -> None:
    if upload.state == "superseded":
        raise UploadConflict(
            "该上传已被贵单位此后开始的另一份上传取代", "This upload was superseded by a later one of yours"
        )
    if upload.state != "open":
        raise UploadConflict("该上传已结束", "This upload is no longer open")


#: The party of the reserve price in lock_open_section (bidders are their organisation's id, never 0).
RESERVE_PARTY = 0


async def lock_open_section(
    session: AsyncSession, section_id: int, now: datetime, refusal: tuple[str, str], *, party: int
) -> None:
    """The decision on a bid, a withdrawal or a reserve price: one conditional statement on the section row,
    which also holds the row until commit, so that the close (which updates the same row) can never slip between
    this check and the act. Refused with ``deadline_passed`` after the deadline, else with *refusal*.

    On PostgreSQL the row is share-locked (``FOR SHARE``): the bids of different bidders go through side by
    side — the deadline storm does not queue on one row — while the close waits for every one of them to
    commit, and a bid arriving after the close re-reads the row and is refused. The same statement takes a
    transaction's advisory lock on (section, *party*), so one bidder's own acts (a replacement racing a
    withdrawal) still happen one after the other. SQLite, one writer at a time, updates the row."""
    if not 0 < section_id <= _INT4_MAX:  # no section has such an id (and the advisory lock's keys are int4)
        raise _no_such_section()
    values = {"b_section_id": section_id, "b_party": party, "b_now": now}
    if session.bind.dialect.name == "postgresql":
        taken = await _SHARE_LOCK_OPEN_SECTION.first(await session.connection(), values) is not None
    else:
        taken = (await session.execute(_LOCK_OPEN_SECTION, values)).rowcount == 1
    if not taken:
        await _refuse_not_open(session, section_id, now, refusal)


async def _refuse_not_open(session: AsyncSession, section_id: int, now: datetime, refusal: tuple[str, str]) -> None:
    """Refuse an act the section's lock did not take: with the deadline if it has passed (or the section has
    closed), else with *refusal*. The section is read again, as it is now."""
    section = await session.get(Section, section_id, populate_existing=True)
    if section is None:  # (a withdrawal takes the lock before it reads anything else)
        raise _no_such_section()
    _ensure_taking_bids(section, now)
    raise SectionNotOpenForBids(*refusal)


def _no_such_section() -> NotFound:
    return NotFound("标段不存在", "No such section", code="section_not_found")


def _unregistered_key() -> Forbidden:
    return Forbidden(
        "清单的签名公钥未登记在贵单位名下（请先 bidding register）",
        "The manifest is signed with a key not registered to your organisation (run bidding register)",
        code="unregistered_key",
    )


def _require_sealed(manifest: bytes) -> Manifest:
    """20号令 §26: a bid is encrypted on the bidder's machine; anything but the signed manifest of a sealed bid
    (a PDF, a plain archive, a form in the clear) is refused with a message that says so. Returns it parsed."""
    try:
        return parse_manifest(manifest)
    except Malformed as exc:  # also UnsupportedFormat and UnsupportedSuite
        raise BadEnvelope(
            f"投标文件须在投标人本地加密后递交（《电子招标投标办法》第二十六条）。所递交的不是加密投标文件的签名清单"
            f"（{exc.message_zh}），请用投标客户端加密后递交",
            "A bid must be encrypted on the bidder's own machine before it is submitted (Electronic Bidding "
            f"Measures, Art. 26). This is not the signed manifest of a sealed bid ({exc.message_en}); seal it "
            "with the bidder client and submit that",
            code="unencrypted_bid",
            rule="20号令 §26",
            details={"reason": exc.code},
        ) from exc


def _signing_key_of(manifest: bytes | Manifest) -> bytes:
    import json

    try:
        value = manifest.signing_key if isinstance(manifest, Manifest) else json.loads(manifest)["signing_key"]
        return base64.b64decode(value, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadEnvelope(
            "清单格式无效：缺少签名公钥", "The manifest is malformed: no signing key", code="malformed_manifest"
        ) from exc


async def own_upload(session: AsyncSession, actor: Actor, upload_id: str) -> Upload:
    upload = await session.get(Upload, upload_id)
    if upload is None:
        raise UploadNotFound()
    if upload.organisation_id != actor.organisation_id:
        raise NotYourBid()
    return upload


async def append(
    session: AsyncSession,
    act: Act,
    upload_id: str,
    envelope: str,
    offset: int,
    body: AsyncIterable[bytes],
    uploads: UploadSpool,
) -> int:
    """Append bytes at *offset* (which must be what the server already has: resume from there)."""
    actor = _bidder(act)
    _envelope(envelope)
    upload = await own_upload(session, actor, upload_id)
    # The deadline first: after it, a bidder hears that it has passed (20号令 §27), not that the upload closed.
    await _ensure_upload_section_open(session, upload, act.at)
    _ensure_still_open(upload)
    # Nothing of this request's transaction is needed while the bytes stream in (a large bid takes minutes):
    # end it, so that it holds no connection meanwhile.
    await session.commit()
    try:
        return await uploads.append(upload_id, envelope, offset, body, upload.sizes[envelope])
    except OffsetMismatch as exc:
        raise UploadConflict(
            f"断点位置不符：服务器已收到 {exc.received} 字节",
            f"Resume from byte {exc.received}, not {offset}",
            details={"received": exc.received},
        ) from exc


class Accepted(NamedTuple):
    """A submission's bid, and whether this call made it (not a retry or a replay finding it)."""

    bid: Bid
    new: bool


async def complete(
    session: AsyncSession, act: Act, upload_id: str, *, blobs: BlobStore, signer: ReceiptSigner
) -> Accepted:
    """Turn a fully uploaded submission into a bid, if the deadline has not passed; its receipt is signed into
    the row. The caller commits, and only then hands the receipt out."""
    actor = _bidder(act)
    upload = await own_upload(session, actor, upload_id)
    if upload.state == "complete":
        bid = await session.scalar(select(Bid).where(Bid.upload_id == upload.id))
        assert bid is not None
        return Accepted(bid, False)  # completing twice (a retry) gives the same bid
    # Refuse a late completion before touching the ciphertexts (the conditional statement below stays the
    # decision): a late bid must not leave its ciphertext in the blob store.
    await _ensure_upload_section_open(session, upload, act.at)
    _ensure_still_open(upload)
    parsed, sizes = _parsed(upload), dict(upload.sizes)
    # Check outside the section's lock (a large bid takes seconds), store inside it where storing is cheap (the
    # local store links the uploaded file into place, so a refusal at the lock leaves nothing in the store; on
    # S3 the check writes the blob as it reads, and what a refusal leaves is collected as garbage). The upload's
    # own bytes stay until it is discarded: should this transaction fail after storing, a retry completes. The
    # reads so far end first, so that no connection is held (idle in a transaction) while the ciphertexts are
    # hashed; the upload is read again after, and the conditional statements below decide as before.
    await session.rollback()
    checked = await _check_ciphertexts(upload_id, sizes, parsed, blobs.uploads)
    upload = await own_upload(session, actor, upload_id)
    await lock_open_section(session, upload.section_id, act.at, NOT_TAKING_BIDS, party=upload.organisation_id)
    # The upload becomes complete in one conditional statement: of two completions racing (a retry sent
    # while the first is still running), the second waits for the first's commit and then finds its bid.
    claimed = await session.execute(
        update(Upload).where(Upload.id == upload.id, Upload.state == "open").values(state="complete", updated_at=act.at)
    )
    if claimed.rowcount != 1:
        bid = await session.scalar(select(Bid).where(Bid.upload_id == upload.id))
        if bid is None:
            raise UploadConflict("该上传已结束", "This upload is no longer open")
        return Accepted(bid, False)
    stored = {e: await blobs.uploads.commit(checked[e]) for e in ENVELOPES}
    organisation = await session.get(Organisation, upload.organisation_id)
    assert organisation is not None
    key_row = await bidder_key_by_public(session, organisation.id, _signing_key_of(upload.manifest))
    if key_row is None:
        raise Forbidden("签名公钥已被撤销", "The signing key has been revoked", code="unregistered_key")
    return Accepted(await _accept(session, act, actor, upload, organisation, key_row.id, stored, signer), True)


async def _accept(
    session: AsyncSession,
    act: Act,
    actor: Actor,
    upload: Upload,
    organisation: Organisation | Party,
    signing_key_id: int,
    stored: dict[str, StoredBlob],
    signer: ReceiptSigner,
    *,
    centre_id: int | None = None,
    new_upload: dict[str, Any] | None = None,
) -> Bid:
    """The bid itself, once the section's lock is held and the ciphertexts are stored: the row (replacing the
    bidder's earlier bid), its log entry, its audit record and its receipt, all in the caller's transaction;
    *new_upload*, the row of a bid sent whole, is written with them."""
    # The key is checked again under the section's lock: one revoked since the checks signs nothing more.
    conn = await session.connection()
    values = {
        "b_section_id": upload.section_id,
        "b_organisation_id": upload.organisation_id,
        "b_at": act.at,
        "b_key_id": signing_key_id,
    }
    if conn.dialect.name == "postgresql":
        row = await _KEY_AND_REPLACE["postgresql"].first(conn, values)
        assert row is not None
        key_live, replaced = row["key_live"], row["manifest_sha256"]
    else:  # SQLite: the section's lock is the database's one writer; nothing can revoke the key meanwhile
        live_key, replace = _KEY_AND_REPLACE["sqlite"]
        key_live = await live_key.first(conn, values) is not None
        ended = await replace.first(conn, values) if key_live else None
        replaced = ended["manifest_sha256"] if ended is not None else None
    if not key_live:
        raise _unregistered_key()
    section_key = await events.section_key(session, upload.section_id)
    bid = _new_bid(act, upload, organisation, signing_key_id, stored, replaced, section_key, signer)
    if centre_id is None:
        centre_id = await audit.centre_of(session, "section", upload.section_id)
    # Core inserts (one statement on PostgreSQL): the object stays out of the session, whose unit of work cost
    # more than the inserts.
    bid.id = await bid_rows.write(session, **_rows_of(bid, act, actor, section_key, centre_id), upload=new_upload)
    return bid


def _rows_of(bid: Bid, act: Act, actor: Actor, section_key: bytes, centre_id: int | None) -> dict[str, Any]:
    """The values of a new bid's rows, as bid_rows writes them: the bid, its log entry and its audit record."""
    return {
        "bid": {c: getattr(bid, c) for c in bid_rows.BID_COLUMNS},
        "entry": log.queued(
            f"bid:{bid.manifest_sha256}",
            "bid_event",
            events.log_document(bid.event_details, bid.event_salt, section_key),
            act.at,
        ),
        "record": audit.entry_values(
            actor=actor,
            address=act.address,
            at=act.at,
            action="bid.submit",
            subject_type="section",
            subject_id=bid.section_id,
            centre_id=centre_id,
        ),
    }


#: How often a bid sent whole is tried again when the bidder's own bid changed between its read and its write
#: (the same bidder's two bids at the same moment: the later replaces the earlier).
_REPLACED_MEANWHILE_TRIES = 3


async def _accept_whole(
    session: AsyncSession,
    conn: AsyncConnection,
    act: Act,
    actor: Actor,
    upload: Upload,
    new_upload: dict[str, Any],
    organisation: Party,
    signing_key_id: int,
    stored: dict[str, StoredBlob],
    signer: ReceiptSigner,
    *,
    replaced: str | None,
    centre_id: int | None,
    section_key: bytes,
    kept: dict[str, tuple[str, bytes]] | None = None,
) -> Bid:
    """PostgreSQL, a bid sent whole by a bidder with no upload open in the section: the bid accepted and its
    rows written by one statement on its own (``_ACCEPT_WHOLE``), which holds the section and the key as
    ``lock_open_section`` and ``_accept`` do and commits by itself — a bid's acceptance in one round trip.
    *replaced* is the bidder's active bid as read in the checks; if another of the bidder's bids took its place
    meanwhile, the bid is made again, replacing that one. *conn* is the session's, without a transaction; *kept*,
    the ciphertexts (sha256, bytes) by envelope when the statement keeps them in the database; *new_upload*,
    *upload*'s row, written with the bid."""
    for _ in range(_REPLACED_MEANWHILE_TRIES):
        bid = _new_bid(act, upload, organisation, signing_key_id, stored, replaced, section_key, signer)
        gate = {
            "b_section_id": upload.section_id,
            "b_party": upload.organisation_id,
            "b_now": act.at,
            "b_key_id": signing_key_id,
            "b_organisation_id": upload.organisation_id,
            "b_at": act.at,
            "b_replaces": replaced or "",
            "b_replacing": replaced is not None,
        }
        rows = _rows_of(bid, act, actor, section_key, centre_id)
        try:
            statement = _ACCEPT_WHOLE[kept is not None]
            row = await bid_rows.write_gated(statement, conn, gate, **rows, upload=new_upload, inline=kept)
        except IntegrityError:
            # Another bid of the bidder's became active meanwhile (the active-bid index refused a second), or the
            # same file went in at the same moment (the caller finds that bid): which one, a read tells.
            now_active = await _ACTIVE_BID_NOW.first(conn, _active_bid_key(upload))
            if now_active is None or now_active["manifest_sha256"] in (replaced, upload.manifest_sha256):
                raise
            replaced = now_active["manifest_sha256"]
            continue
        if row["id"] is not None:
            bid.id = row["id"]
            if kept is not None:
                metrics.count_upload_bytes("inline", sum(len(data) for _, data in kept.values()))
            return bid
        if not row["open"]:
            await _refuse_not_open(session, upload.section_id, act.at, NOT_TAKING_BIDS)
        if not row["key_live"]:
            raise _unregistered_key()
        now_active = await _ACTIVE_BID_NOW.first(conn, _active_bid_key(upload))
        replaced = now_active["manifest_sha256"] if now_active is not None else None
    raise UploadConflict(
        "贵单位在此标段的其他投标同时递交，请稍后重试",
        "Other bids of yours for this section were being submitted at the same moment: try again",
    )


def _active_bid_key(upload: Upload) -> dict[str, Any]:
    return {"section_id": upload.section_id, "organisation_id": upload.organisation_id}


def _new_bid(
    act: Act,
    upload: Upload,
    organisation: Organisation | Party,
    signing_key_id: int,
    stored: dict[str, StoredBlob],
    replaced: str | None,
    section_key: bytes,
    signer: ReceiptSigner,
) -> Bid:
    """The bid's row (not yet in any session), replacing the bidder's bid *replaced* if any, its receipt
    signed into it."""
    bid = Bid(
        section_id=upload.section_id,
        organisation_id=upload.organisation_id,
        upload_id=upload.id,
        manifest=upload.manifest,
        signature=upload.signature,
        manifest_sha256=upload.manifest_sha256,
        signing_key_id=signing_key_id,
        sealed_shares=upload.sealed_shares,
        blobs={e: {"sha256": stored[e].sha256, "size": stored[e].size} for e in ENVELOPES},
        state="active",
        received_at=act.at,
        event_details={
            "event": "submission",
            "section_id": upload.section_id,
            "bidder_credit_code": organisation.credit_code,
            "manifest_sha256": upload.manifest_sha256,
            "at": log_entries.instant(act.at),
            **({"replaces": replaced} if replaced is not None else {}),
        },
        event_salt=events.new_salt(),
    )
    receipts.sign_into(bid, signer, section_key)
    return bid


async def _check_ciphertexts(
    upload_id: str, sizes: dict[str, int], parsed: Any, uploads: UploadSpool
) -> dict[str, Prepared]:
    """Check both uploaded ciphertexts against the signed manifest (hash and size of each)."""
    checked: dict[str, Prepared] = {}
    for envelope in ENVELOPES:
        try:
            checked[envelope] = await uploads.prepare(
                upload_id, envelope, parsed.envelope(envelope).ciphertext_sha256, sizes[envelope]
            )
        except Incomplete as exc:
            raise UploadConflict(
                f"「{envelope}」尚未上传完整：{exc.received}/{sizes[envelope]} 字节",
                f"The {envelope} ciphertext is incomplete: {exc.received} of {sizes[envelope]} bytes",
                details={"envelope": envelope, "received": exc.received},
            ) from exc
        except HashMismatch as exc:
            raise BadEnvelope(
                f"「{envelope}」密文的哈希与签名清单不符，文件可能已损坏，已丢弃，请从头重新上传",
                f"The {envelope} ciphertext does not match the signed manifest; it was discarded: upload it again",
                code="ciphertext_mismatch",
                details={"envelope": envelope, "received": 0},
            ) from exc
    return checked


def _parsed(upload: Upload) -> Any:
    from bidding.envelope import parse_manifest

    return parse_manifest(upload.manifest)
