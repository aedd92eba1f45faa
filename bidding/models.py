"""Tables for sealed bids: keys, opening committees, uploads in progress, bids and their receipts, and the
opening (shares uploaded by openers, results per bid).

Nothing here holds a plaintext bid or a data key before the opening: a bid row keeps the signed manifest,
the HPKE-sealed shares and the hashes of the ciphertexts (which live in the blob store). Decrypted shares
arrive only after the deadline, and a data key is stored only once the opening has rebuilt it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class BidderKey(Base):
    """An Ed25519 public key an organisation signs its bids with (投标人签名密钥)."""

    __tablename__ = "bidder_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    certificate_pem: Mapped[str | None] = mapped_column(Text, default=None)
    registered_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The salt of the owner commitment logged with the key (bidding.directory); None for keys from before.
    owner_salt: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class OpenerKey(Base):
    """An opener's HPKE public key (for one suite) and Ed25519 key for signing uploaded shares (开标人密钥).

    The private halves never leave the opener's machine."""

    __tablename__ = "opener_keys"
    __table_args__ = (
        Index(
            "uq_opener_keys_active",
            "person_id",
            "suite",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    suite: Mapped[str] = mapped_column(String(60))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    signing_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Upload(Base):
    """A submission in progress: the signed manifest is checked first, then the ciphertexts stream in,
    resumably, until the bidder completes it. An upload unfinished at the deadline counts as withdrawn."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_section_org", "section_id", "organisation_id"),
        # One open upload per bidder and section: a new one supersedes the old (bidding.submission.begin).
        Index(
            "uq_uploads_open",
            "section_id",
            "organisation_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    manifest: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_shares: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    sizes: Mapped[dict[str, int]] = mapped_column(JSONDoc)
    #: open → complete | superseded (the bidder began another) | abandoned (unfinished at the deadline)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bid(Base):
    """A submitted bid (投标文件): the exact signed manifest, the sealed shares and the stored ciphertexts."""

    __tablename__ = "bids"
    __table_args__ = (
        Index(
            "uq_bids_active",
            "section_id",
            "organisation_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        # A section's bids in a state, in bid order: the opening job reads the active ones batch after batch.
        Index("ix_bids_section_state_id", "section_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"), unique=True)
    manifest: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    signing_key_id: Mapped[int] = mapped_column(ForeignKey("bidder_keys.id"))
    sealed_shares: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    #: Ciphertext blobs by envelope: {"price": {"sha256", "size"}, "documents": {...}}
    blobs: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    #: active → replaced | withdrawn
    state: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The signed withdrawal (exact bytes) when the bidder withdrew it.
    withdrawal: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    withdrawal_signature: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: The withdrawal's logged event: {"details": …, "salt": base64} (revealed at the opening).
    withdrawal_event: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=None)
    #: What the log's commitment commits to (see bidding.events): revealed in the receipt and the opening.
    event_details: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    event_salt: Mapped[bytes] = mapped_column(LargeBinary)
    #: The receipt given (exact signed bytes) and the platform's signature over them.
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    receipt_signature: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class Opening(Base):
    """The opening ceremony of a section (开标)."""

    __tablename__ = "openings"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    #: waiting (for shares) → opening (due: a background job opens the bids, bidding.opening_job) → opened;
    #: or failed (fewer than 3 bids: 流标)
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    deadline_checkpoint_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: The end of the share window (docs/envelope.md §10.2): the shares uploaded by then all count; the envelopes
    #: are opened then (or as soon as all n openers are in), and not before k openers are in.
    shares_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    record_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    #: When the window closed (or the n-th opener came in) and the opening became due: the shares that count
    #: are fixed from then, and the record says the bids were opened then.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The worker running the job, and until when its claim holds unless renewed: a crashed worker's claim
    #: lapses and another worker (or the same one restarted) takes the job over from its last committed batch.
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Progress for the opening hall: bids to open, and bids opened in the batches committed so far.
    bids_total: Mapped[int | None] = mapped_column(Integer, default=None)
    bids_opened: Mapped[int | None] = mapped_column(Integer, default=None)


class OpeningDispute(Base):
    """An opener's founded dispute of one sealed share (docs/envelope.md §10.3): instead of a share, the opener
    disclosed its private key for the section, and the sealed share does not open to a share matching the bidder's
    commitment (``finding``). Published with the record so that anyone can repeat the check."""

    __tablename__ = "opening_disputes"

    section_id: Mapped[int] = mapped_column(ForeignKey("openings.section_id"), primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), primary_key=True)
    envelope: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: envelope.share_undecryptable | envelope.share_mismatch
    finding: Mapped[str] = mapped_column(String(60))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpeningUpload(Base):
    """An opener's signed upload of shares: the exact bytes signed, kept as evidence and as the one copy of the
    shares, which the opening job reads from it (bidding.opening_batch.uploaded_shares)."""

    __tablename__ = "opening_uploads"

    section_id: Mapped[int] = mapped_column(ForeignKey("openings.section_id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpeningResult(Base):
    """The outcome of one bid at the opening, with the price data key published for re-checking."""

    __tablename__ = "opening_results"
    __table_args__ = (
        # The scheduler's look for disputed bids awaiting a ruling (bidding.rulings): the few, not every result.
        Index(
            "ix_opening_results_disputed",
            "bid_id",
            sqlite_where=text("outcome = 'disputed'"),
            postgresql_where=text("outcome = 'disputed'"),
        ),
    )

    section_id: Mapped[int] = mapped_column(ForeignKey("openings.section_id"), primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), primary_key=True)
    #: opened | failed | disputed (too few shares and a founded dispute: the supervisors rule)
    outcome: Mapped[str] = mapped_column(String(20))
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=None)
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reason: Mapped[str] = mapped_column(String(60), default="")
    #: bidder | opener:<positions> | platform | "" (opened, disputed)
    fault: Mapped[str] = mapped_column(String(200), default="")
    rank: Mapped[int] = mapped_column(Integer, default=0)


class BidRuling(Base):
    """The supervisors' ruling (裁定) on a bid the opening left disputed (docs/envelope.md §10.3): a founded dispute
    of a sealed share left fewer than k valid shares, so the bid counted as neither revoked nor withdrawn until
    now. One per bid, final, published as a notice (``dispute_ruling``) that names it and says why."""

    __tablename__ = "bid_rulings"

    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    #: revoked (视为撤销投标) | withdrawn (视为撤回投标), 20号令 §31
    treated_as: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    ruled_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    ruled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)


class DocumentKey(Base):
    """The documents envelope's data key of one opened bid, rebuilt at the opening from the openers' shares and
    checked against the bidder's key commitment (投标文件密钥), for the evaluation panel to read the documents.

    Unlike the price key it is never published: only the evaluation routes use it, to decrypt as they stream.
    """

    __tablename__ = "document_keys"

    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    #: opened | failed | disputed
    outcome: Mapped[str] = mapped_column(String(20))
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reason: Mapped[str] = mapped_column(String(60), default="")
    #: bidder | opener:<positions> | "" (opened, disputed)
    fault: Mapped[str] = mapped_column(String(200), default="")
    rebuilt_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SectionKey(Base):
    """The random key of a section's bid-event tags (bidding.events), revealed in its opening record."""

    __tablename__ = "bid_section_keys"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)


class CentreKey(Base):
    """A trading centre's Ed25519 signing key (registered by its staff), for sealing reserve prices."""

    __tablename__ = "centre_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("trading_centres.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    registered_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ReservePrice(Base):
    """A reserve price (标底/底价) or control price (最高投标限价) sealed by staff before the deadline, in the bid
    format with role ``reserve`` (docs/envelope.md §11), opened with the bids by the same committee.

    Like a bid row it holds only the signed manifest, the sealed shares and the ciphertext hashes until the
    opening; the outcome columns are filled in by the opening.
    """

    __tablename__ = "reserve_prices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    #: reserve (标底/底价) | ceiling (最高投标限价)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    signing_key_id: Mapped[int] = mapped_column(ForeignKey("centre_keys.id"))
    manifest: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_shares: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    blobs: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    #: active | replaced
    state: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The logged event (a salted commitment under the section tag, as for bids: bidding.events).
    event_details: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    event_salt: Mapped[bytes] = mapped_column(LargeBinary)
    #: Set by the opening: opened | failed, the form, the price data key (published), why and whose fault.
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=None)
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reason: Mapped[str] = mapped_column(String(60), default="")
    fault: Mapped[str] = mapped_column(String(200), default="")


class ReserveShare(Base):
    """One decrypted share of a reserve price's key, uploaded (signed, in the opener's shares document)."""

    __tablename__ = "reserve_shares"

    reserve_id: Mapped[int] = mapped_column(ForeignKey("reserve_prices.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    share: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
