"""The evaluation panel reads the bids' documents (评标委员会查阅投标文件): the bids under evaluation, each bid's
documents envelope decrypted as it streams (the whole tar, one file of it, or its index), and the log of reads.

The documents data keys were rebuilt at the opening (bidding.opening) and are never published: only the drawn
panel of the section reads with them, after the opening record, and every read goes into the audit trail, which
the centre's staff and the supervisors can list. Decryption happens piece by piece as the response is sent, so a
bid of gigabytes is never held in memory, and never written out in the clear.
"""

from __future__ import annotations

import tarfile
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import anyio
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.committees import section_committee
from bidding.envelope import BidContext, Manifest, iter_plaintext, parse_manifest
from bidding.envelope.aead import plaintext_size
from bidding.models import Bid, DocumentKey, Opening, OpeningResult
from bidding.submission import context_for
from evaluation.models import Expert
from evaluation.panel import require_panel_member
from trading.accounts.models import Organisation
from trading.accounts.services import require_same_centre, require_staff
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.blobs import BlobStore, inline
from trading.context import Act
from trading.errors import Conflict, NotFound, RuleViolation

#: The blob is read, and the plaintext released, in pieces of this size.
READ_BLOCK = 1 << 16
#: The audit action of every read (the whole documents, one file, or the index).
READ_ACTION = "evaluation.read_documents"


class BidUnderEvaluation(msgspec.Struct):
    """A bid as the panel sees it: the bidder, the opening form published in the record, and its documents."""

    bid_id: int
    bidder: str
    bidder_credit_code: str
    #: The opening form (开标一览表) from the opening record.
    form: dict[str, Any] | None
    #: opened (the key was rebuilt and matches the bidder's commitment: readable) | failed
    documents_outcome: str
    documents_reason: str
    documents_fault: str
    documents_ciphertext_size: int


class DocumentsFile(msgspec.Struct):
    name: str
    size: int


class DocumentsIndex(msgspec.Struct):
    bid_id: int
    files: list[DocumentsFile]


class DocumentsRead(msgspec.Struct):
    """One read of a bid's documents, from the audit trail."""

    at: datetime
    person_id: int | None
    reader: str
    expert_id: int | None
    bid_id: int
    bidder: str
    #: whole | file | index
    read: str
    file: str | None


@dataclass(frozen=True)
class OpenedDocuments:
    """What decrypting one bid's documents needs: held only for the request that reads them."""

    bid_id: int
    manifest: Manifest
    context: BidContext
    data_key: bytes
    #: The documents ciphertext's SHA-256, and the blob store's blocking opener for it.
    sha256: str
    opener: Callable[[str], BinaryIO]

    @property
    def plaintext_size(self) -> int | None:
        record = self.manifest.envelope("documents")
        return plaintext_size(record.ciphertext_size, record.chunk_size)

    def __repr__(self) -> str:  # never show the key, whatever logs an object
        return f"OpenedDocuments(bid_id={self.bid_id}, sha256={self.sha256!r})"


async def _require_opened(session: AsyncSession, section_id: int) -> None:
    opening = await session.get(Opening, section_id)
    if opening is None or opening.state != "opened":
        raise RuleViolation(
            "开标记录公布后，评标委员会方可查阅投标文件",
            "The panel reads the bids' documents once the opening record is published",
            code="evaluation_not_started",
        )


async def bids_under_evaluation(session: AsyncSession, act: Act, section_id: int) -> list[BidUnderEvaluation]:
    """For the section's panel: every bid whose price envelope opened, with its documents' state."""
    await require_panel_member(session, act.actor, section_id)
    await _require_opened(session, section_id)
    rows = await session.execute(
        select(OpeningResult, Bid, Organisation, DocumentKey)
        .join(Bid, Bid.id == OpeningResult.bid_id)
        .join(Organisation, Organisation.id == Bid.organisation_id)
        .outerjoin(DocumentKey, DocumentKey.bid_id == Bid.id)
        .where(OpeningResult.section_id == section_id, OpeningResult.outcome == "opened")
        .order_by(Bid.id)
    )
    return [
        BidUnderEvaluation(
            bid_id=bid.id,
            bidder=org.name,
            bidder_credit_code=org.credit_code,
            form=result.form,
            documents_outcome=key.outcome if key else "failed",
            documents_reason=key.reason if key else "not_rebuilt",
            documents_fault=key.fault if key else "",
            documents_ciphertext_size=int(bid.blobs["documents"]["size"]),
        )
        for result, bid, org, key in rows
    ]


async def open_documents(
    session: AsyncSession, act: Act, section_id: int, bid_id: int, blobs: BlobStore
) -> tuple[Expert, OpenedDocuments]:
    """A panel member's access to one bid's documents: the expert reading and what decrypting needs, the
    ciphertext opened for blocking reads from wherever *blobs* keeps it (trading.blobs.inline.opener)."""
    expert = await require_panel_member(session, act.actor, section_id)
    await _require_opened(session, section_id)
    bid = await session.get(Bid, bid_id)
    if bid is None or bid.section_id != section_id:
        raise NotFound("本标段没有该投标", "This section has no such bid", code="bid_not_found")
    key = await session.get(DocumentKey, bid_id)
    if key is None or key.outcome != "opened" or key.data_key is None:
        reason, fault = (key.reason, key.fault) if key is not None else ("not_opened_at_opening", "")
        raise Conflict(
            f"该投标的投标文件在开标时未能解密（原因：{reason}，责任方：{fault or '—'}），无法查阅",
            f"This bid's documents could not be opened at the opening ({reason}; fault: {fault or '-'})",
            code="documents_not_opened",
            details={"reason": reason, "fault": fault},
        )
    sc = await section_committee(session, section_id)
    org = await session.get(Organisation, bid.organisation_id)
    assert org is not None
    documents = OpenedDocuments(
        bid_id=bid.id,
        manifest=parse_manifest(bid.manifest),
        context=context_for(sc, org),
        data_key=key.data_key,
        sha256=bid.blobs["documents"]["sha256"],
        opener=await inline.opener(await inline.through(blobs, session), bid.blobs["documents"]["sha256"]),
    )
    return expert, documents


async def record_read(
    session: AsyncSession, act: Act, expert: Expert, section_id: int, bid_id: int, read: str, file: str | None = None
) -> None:
    """Every read goes into the audit trail (flushed; the request commits before the first byte is sent)."""
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action=READ_ACTION,
        subject_type="bid",
        subject_id=bid_id,
        details={"section_id": section_id, "expert_id": expert.id, "read": read, "file": file},
    )


async def reads(session: AsyncSession, act: Act, section_id: int) -> list[DocumentsRead]:
    """The centre's staff and the supervisors: who read which bid's documents, and when (oldest first)."""
    sc = await section_committee(session, section_id)
    if act.actor is None or not act.actor.has_role("supervisor"):
        staff = require_staff(act, "查看投标文件查阅记录", "see who read the documents")
        require_same_centre(staff, sc.project.centre_id)
    bids = await session.execute(
        select(Bid.id, Organisation.name)
        .join(Organisation, Organisation.id == Bid.organisation_id)
        .where(Bid.section_id == section_id)
    )
    bidders = {str(bid_id): name for bid_id, name in bids}
    entries = await session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == READ_ACTION,
            AuditEntry.subject_type == "bid",
            AuditEntry.subject_id.in_(list(bidders) or ["-"]),
        )
        .order_by(AuditEntry.id)
    )
    return [
        DocumentsRead(
            at=e.at,
            person_id=e.actor_id,
            reader=e.actor_name,
            expert_id=e.details.get("expert_id"),
            bid_id=int(e.subject_id),
            bidder=bidders[e.subject_id],
            read=e.details.get("read", "whole"),
            file=e.details.get("file"),
        )
        for e in entries
    ]


# --- decrypting as it streams (plain, blocking functions: run them in a worker thread) -------------------------


def plaintext(documents: OpenedDocuments) -> Generator[bytes, None, None]:
    """The documents tar, decrypted piece by piece from the stored ciphertext (raises at the first problem)."""
    with documents.opener(documents.sha256) as fh:
        yield from iter_plaintext(
            documents.manifest,
            documents.context,
            "documents",
            documents.data_key,
            iter(lambda: fh.read(READ_BLOCK), b""),
        )


class _PieceReader:
    """A read()-able view of the decrypted pieces, for tarfile's stream mode (it never seeks)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0 or size > len(self._buffer):
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def _archive(pieces: Iterator[bytes]) -> tarfile.TarFile:
    return tarfile.open(fileobj=_PieceReader(pieces), mode="r|", encoding="utf-8", errors="strict")  # type: ignore[call-overload]


def _unreadable(exc: Exception) -> Conflict:
    return Conflict(
        "投标文件包无法解析（不是有效的 tar 文件包）",
        "The documents are not a readable tar archive",
        code="documents_unreadable",
        details={"error": type(exc).__name__},
    )


def index(documents: OpenedDocuments) -> list[DocumentsFile]:
    """The regular files of the documents tar, names and sizes, read through to the end (so that a truncated or
    altered ciphertext is found before any list is given)."""
    pieces = plaintext(documents)
    try:
        try:
            with _archive(pieces) as archive:
                files = [DocumentsFile(name=m.name, size=m.size) for m in archive if m.isreg()]
        except (tarfile.TarError, UnicodeError) as exc:
            raise _unreadable(exc) from None
        for _ in pieces:  # the rest (the archive's padding): its last chunk and hash are checked
            pass
    finally:
        pieces.close()
    return files


def member(documents: OpenedDocuments, name: str) -> tuple[int, Generator[bytes, None, None]]:
    """Find the file *name* in the documents tar: its size and its content, decrypted as it is read.

    The tar is parsed as the plaintext passes, up to that file only; 404 if it is not there."""
    pieces = plaintext(documents)
    try:
        archive = _archive(pieces)
        for entry in archive:
            if entry.isreg() and entry.name == name:
                reader = archive.extractfile(entry)
                assert reader is not None
                return entry.size, _content(reader, pieces)
    except (tarfile.TarError, UnicodeError) as exc:
        pieces.close()
        raise _unreadable(exc) from None
    except BaseException:
        pieces.close()
        raise
    pieces.close()
    raise NotFound(
        f"投标文件中没有该文件：{name}", f"The bid's documents hold no file named {name!r}", code="file_not_found"
    )


def _content(reader: Any, pieces: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    try:
        while block := reader.read(READ_BLOCK):
            yield block
    finally:
        pieces.close()


async def in_thread(pieces: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    """Pull each piece in a worker thread (file reads and decryption would block the event loop); closes the
    generator (and so the file) however the response ends."""
    try:
        while (piece := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
            yield piece
    finally:
        pieces.close()
