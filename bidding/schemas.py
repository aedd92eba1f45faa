"""Request and response shapes for keys, committees, submissions, receipts and the opening."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from trading.accounts.schemas import Strict

B64 = Annotated[str, msgspec.Meta(min_length=4, max_length=20_000)]
Suite = Annotated[str, msgspec.Meta(pattern=r"^hpke-[a-z0-9]+-sha256-aes256gcm$")]


class BidderKeyIn(Strict):
    #: The Ed25519 public key, base64 of its 32 raw bytes.
    public_key: B64
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""
    #: Optionally an X.509 certificate (PEM) carrying the same key, from a CA the platform trusts.
    certificate_pem: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None


class BidderKeyRead(msgspec.Struct):
    id: int
    organisation_id: int
    public_key: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class DirectoryKey(msgspec.Struct):
    """A bidder's signing key in the public key directory (docs/log.md §7)."""

    key_sha256: str
    public_key: str
    credit_code: str
    organisation: str
    registered_at: datetime
    revoked_at: datetime | None
    #: The details the logged owner commitment was made over, exactly, and its salt (base64; null for a key
    #: registered before keys were logged).
    owner: dict[str, str]
    owner_salt: str | None
    #: The opened sections this key signed a bid in (why it is public).
    opened_sections: list[int]


class DirectoryCentreKey(msgspec.Struct):
    """A trading centre's reserve-price signing key (public from registration)."""

    key_sha256: str
    public_key: str
    centre_code: str
    centre: str
    registered_at: datetime
    revoked_at: datetime | None


class OpenerKeyIn(Strict):
    suite: Suite
    #: The HPKE public key (base64), as the envelope format encodes it for the suite.
    public_key: B64
    #: The Ed25519 key the opener signs share uploads with (base64 of 32 bytes).
    signing_key: B64


class OpenerKeyRead(msgspec.Struct):
    id: int
    person_id: int
    suite: str
    public_key: str
    signing_key: str
    created_at: datetime


class CommitteeIn(Strict):
    suite: Suite = "hpke-x25519-sha256-aes256gcm"
    k: Annotated[int, msgspec.Meta(ge=2, le=9)] = 2
    #: The openers, in position order (position 1 is the first).
    opener_ids: Annotated[list[int], msgspec.Meta(min_length=2, max_length=9)] = []
    #: Fields the tender documents require in the opening form (开标一览表) besides total_price_fen,
    #: duration_days and quality, e.g. ["project_manager"]; published in the notice as committee.price_form.
    price_fields: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]], msgspec.Meta(max_length=32)
    ] = []


class CommitteeMemberRead(msgspec.Struct):
    position: int
    person_id: int
    name: str
    public_key: str
    signing_key: str


class SectionBidding(msgspec.Struct):
    """What a bidder's client needs to seal for a section, all taken from the published notice."""

    section_id: int
    section_code: str
    section_name: str
    trade_code: str
    state: str
    deadline_at: datetime | None
    notice_id: int
    notice_version: int
    notice_content_sha256: str
    suite: str
    k: int
    n: int
    members: list[CommitteeMemberRead]
    accepts_bids: bool
    #: The tenderer's credit code: a reserve or control price is sealed in its name (docs/envelope.md §11).
    tenderer_credit_code: str = ""
    #: Opening-form fields this tender requires beyond total_price_fen, duration_days and quality.
    price_fields: list[str] = []


class CentreKeyIn(Strict):
    #: The Ed25519 public key, base64 of its 32 raw bytes.
    public_key: B64
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class CentreKeyRead(msgspec.Struct):
    id: int
    centre_id: int
    public_key: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class ReserveIn(Strict):
    """A sealed reserve (标底) or control price (最高投标限价): the signed manifest, the sealed shares and both
    ciphertexts (small: the opening form and an empty archive)."""

    kind: Annotated[str, msgspec.Meta(max_length=20)]
    manifest: Annotated[str, msgspec.Meta(min_length=4, max_length=200_000)]
    signature: B64
    sealed_shares: dict[str, list[str]]
    ciphertexts: dict[str, str]


class ReserveRead(msgspec.Struct):
    """What staff and supervisors see of a sealed reserve price before the opening: never the figure."""

    id: int
    section_id: int
    kind: str
    kind_zh: str
    manifest_sha256: str
    state: str
    received_at: datetime
    outcome: str | None


class SubmissionIn(Strict):
    #: The exact manifest bytes that were signed (base64).
    manifest: Annotated[str, msgspec.Meta(min_length=4, max_length=200_000)]
    #: Ed25519 signature over the manifest bytes (base64).
    signature: B64
    #: The HPKE-sealed shares per envelope, as the sealed bid file holds them.
    sealed_shares: dict[str, list[str]]


class UploadEnvelope(msgspec.Struct):
    size: int
    received: int
    url: str


class UploadRead(msgspec.Struct):
    upload_id: str
    section_id: int
    manifest_sha256: str
    state: str
    envelopes: dict[str, UploadEnvelope]
    complete_url: str


class Receipt(msgspec.Struct):
    """A receipt: the exact signed bytes (base64) and the platform's Ed25519 signature over them."""

    receipt: str
    signature: str
    document: dict[str, Any]


class WithdrawalIn(Strict):
    #: The exact signed withdrawal document (base64 of canonical JSON).
    withdrawal: Annotated[str, msgspec.Meta(min_length=4, max_length=5000)]
    signature: B64


class MyBid(msgspec.Struct):
    bid_id: int
    section_id: int
    manifest_sha256: str
    state: str
    received_at: datetime
    ended_at: datetime | None
    receipt: Receipt | None


class SharesIn(Strict):
    """An opener's decrypted shares: the exact signed document (base64 of canonical JSON) and signature."""

    #: (About 320 base64 characters per bid: the route's 64 MiB body limit is the real bound.)
    document: Annotated[str, msgspec.Meta(min_length=4, max_length=64 * 1024**2)]
    signature: B64


class BidRulingIn(Strict):
    """The supervisors' ruling on a disputed bid: how it counts (20号令 §31) and why."""

    treated_as: Literal["revoked", "withdrawn"]
    reason: Annotated[str, msgspec.Meta(min_length=4, max_length=4000)]
