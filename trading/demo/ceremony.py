"""The acts of a sealed-bid trade as its people take them on the platform: openers and bidders register keys,
staff name the opening committee, bidders seal on their own machines and submit, staff start the opening and
the openers release their shares. The demo's history (trading.demo.history) and its live trades
(trading.demo.sealed, trading.demo.evaluated) go through these, each act at its own moment on the demo clock.

The openers' private keys are written under ``var/demo-openers/`` (passphrase below) in the `bidding` CLI's
format — on a real platform they are generated on each opener's own machine and never seen by the server. One
key set serves every committee of the demo: deriving a protected key file costs an Argon2 run, and the demo
starts in well under a minute only because it derives three, not three per section.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import State
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import committees, keys, opening, opening_job, schemas, submission
from bidding.committees import section_committee
from bidding.envelope import (
    OpenerPrivateKey,
    encode_public_key,
    generate_opener_key,
    open_share,
    parse_manifest,
    protect_private_key,
    seal_bid,
)
from bidding.receipts import ReceiptSigner
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person
from trading.blobs import make_blob_store
from trading.clock import FixedClock
from trading.context import Act
from trading.keys import load_or_create_signing_key
from trading.log.note import NoteSigner
from trading.settings import Settings

SUITE = "hpke-x25519-sha256-aes256gcm"
OPENER_PASSPHRASE = "demo-opener-2026"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: How long before handing in a bid its bidder sealed it (on its own machine, by its own clock).
SEALED_BEFORE_SUBMISSION = timedelta(minutes=12)


@dataclass(frozen=True)
class Opener:
    person: Person
    hpke: OpenerPrivateKey
    signing: Ed25519PrivateKey


@dataclass(frozen=True)
class Bidder:
    person: Person
    key: Ed25519PrivateKey


@dataclass
class Bidding:
    """The demo's sealed-bid cast: the platform's state (its clock set act by act), the openers with their keys,
    and a signing bidder for each organisation that bids."""

    sessionmaker: Any
    state: State
    openers: list[Opener]
    bidders: dict[int, Bidder] = field(default_factory=dict)  # by organisation id

    def act(self, person: Person, at: datetime) -> Act:
        return Act(actor=actor_of(person), address="demo-seed", at=at)

    def bidder(self, organisation_id: int) -> Bidder:
        return self.bidders[organisation_id]


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def platform_state(sessionmaker, settings: Settings, now: datetime) -> State:  # type: ignore[no-untyped-def]
    """What the app's services expect of ``app.state``, with a fixed clock the seed moves act by act."""
    state = State(
        {
            "sessionmaker": sessionmaker,
            # The seed's openings hold a few bids each: their arithmetic needs no process of its own.
            "settings": msgspec.structs.replace(settings, opening_processes=0),
            "clock": FixedClock(now),
            "blobs": make_blob_store(settings, sessionmaker.kw["bind"]),
        }
    )
    state.platform_key = load_or_create_signing_key(settings.signing_key_path)
    state.log_signer = NoteSigner(settings.log_origin, state.platform_key)
    return state


async def prepare(
    sessionmaker,  # type: ignore[no-untyped-def]
    settings: Settings,
    now: datetime,
    at: datetime,
    key_dir: Path,
    opener_names: Iterable[str] = ("opener1", "opener2", "opener3"),
) -> Bidding:
    """Register the openers' keys (written to *key_dir*) and a signing key for every bidder account, at *at*."""
    state = platform_state(sessionmaker, settings, now)
    async with sessionmaker() as session:
        openers = sorted(
            await session.scalars(select(Person).where(Person.username.in_(list(opener_names)))),
            key=lambda p: p.username,
        )
        if len(openers) < 3:
            raise LookupError("the demo world has no three openers")
        registered = []
        for person in openers:
            hpke = generate_opener_key(SUITE)
            signing = Ed25519PrivateKey.generate()
            path = key_dir / f"{person.username}.key"
            _write_private(path, protect_private_key(SUITE, hpke, OPENER_PASSPHRASE))
            _write_private(
                path.with_name(path.name + ".signing.pem"),
                signing.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(OPENER_PASSPHRASE.encode()),
                ),
            )
            await keys.register_opener_key(
                session,
                Act(actor=actor_of(person), address="demo-seed", at=at),
                schemas.OpenerKeyIn(
                    suite=SUITE,
                    public_key=base64.b64encode(encode_public_key(SUITE, hpke.public_key())).decode(),
                    signing_key=base64.b64encode(_raw(signing)).decode(),
                ),
            )
            registered.append(Opener(person=person, hpke=hpke, signing=signing))
        bidding = Bidding(sessionmaker=sessionmaker, state=state, openers=registered)
        people = await session.scalars(
            select(Person).where(Person.organisation_id.is_not(None)).order_by(Person.username)
        )
        for person in people:
            if "bidder" not in person.roles or person.organisation_id in bidding.bidders:
                continue
            key = Ed25519PrivateKey.generate()
            await keys.register_bidder_key(
                session,
                Act(actor=actor_of(person), address="demo-seed", at=at),
                schemas.BidderKeyIn(public_key=base64.b64encode(_raw(key)).decode(), label="演示"),
            )
            bidding.bidders[person.organisation_id] = Bidder(person=person, key=key)
        await session.commit()
    return bidding


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


async def name_committee(session: AsyncSession, bidding: Bidding, act: Act, notice_id: int, k: int = 2) -> None:
    """Staff put the opening committee (the three openers, any two of whom open) into a draft opening notice."""
    await committees.set_committee(
        session,
        act,
        notice_id,
        schemas.CommitteeIn(suite=SUITE, k=k, opener_ids=[o.person.id for o in bidding.openers]),
    )


async def submit_bid(
    bidding: Bidding,
    bidder: Bidder,
    section_id: int,
    form: Mapping[str, Any],
    at: datetime,
    documents: str = "",
) -> int:
    """The bidder seals its bid (price form and a small documents folder) a few minutes before handing it in at
    *at*, and submits the sealed file in one request; the receipt is signed with the bid. Returns the bid's id."""
    sessionmaker, state = bidding.sessionmaker, bidding.state
    act = bidding.act(bidder.person, at)
    async with sessionmaker() as session:
        sc = await section_committee(session, section_id)
        org = await session.get(Organisation, bidder.person.organisation_id)
        assert org is not None
        context = submission.context_for(sc, org)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        (folder / "技术标.txt").write_text(documents or "施工组织设计及技术措施。\n", encoding="utf-8")
        (folder / "商务标.txt").write_text(f"{org.name} 商务文件。\n", encoding="utf-8")
        out = Path(tmp) / "bid.bid"
        seal_bid(context, bidder.key, dict(form), folder, out, sealed_at=at - SEALED_BEFORE_SUBMISSION)
        async with sessionmaker() as session:
            bid, _ = await submission.submit_file(
                session, act, section_id, out.read_bytes(), blobs=state.blobs, signer=ReceiptSigner.of(state)
            )
            bid_id = int(bid.id)
            await session.commit()
    return bid_id


async def open_section(
    bidding: Bidding, staff: Person, section_id: int, started: datetime, published: datetime
) -> None:
    """Staff start the ceremony at *started*; every opener unwraps its price and documents shares on its own
    machine and uploads them, signed — the last at *published*, when all n are in, so the platform opens the
    bids and publishes the opening record then (not at the share window's end)."""
    sessionmaker, state = bidding.sessionmaker, bidding.state
    state.clock.set(started)
    await opening.start(state, bidding.act(staff, started), section_id)
    everyone = bidding.openers
    for n, opener in enumerate(everyone):
        upload_at = published - (published - started) * (len(everyone) - 1 - n) / len(everyone)
        state.clock.set(upload_at)
        async with sessionmaker() as session:
            pack = await opening.my_sealed_shares(session, actor_of(opener.person), section_id)
            sc = await section_committee(session, section_id)
            credit_codes = [b["bidder_credit_code"] for b in pack["bids"]]
            orgs = {
                o.credit_code: o
                for o in await session.scalars(select(Organisation).where(Organisation.credit_code.in_(credit_codes)))
            }
            contexts = {b["bid_id"]: submission.context_for(sc, orgs[b["bidder_credit_code"]]) for b in pack["bids"]}
        shares = []
        for envelope, key in (("price", "sealed_share"), ("documents", "documents_sealed_share")):
            for bid in pack["bids"]:
                share = open_share(
                    pack["suite"],
                    opener.hpke,
                    contexts[bid["bid_id"]],
                    envelope,
                    pack["position"],
                    base64.b64decode(bid[key]),
                    manifest=parse_manifest(base64.b64decode(bid["manifest"])),
                )
                shares.append(
                    {
                        "bid_id": bid["bid_id"],
                        "manifest_sha256": bid["manifest_sha256"],
                        "envelope": envelope,
                        "share": base64.b64encode(share).decode(),
                    }
                )
        document = opening.shares_document(section_id, pack["position"], shares)
        await opening.upload_shares(
            state,
            bidding.act(opener.person, upload_at),
            section_id,
            schemas.SharesIn(
                document=base64.b64encode(document).decode(),
                signature=base64.b64encode(opener.signing.sign(document)).decode(),
            ),
        )
    # The last upload made the opening due; its job opens the bids and publishes the record (at *published*).
    await opening_job.runner_of(state).settle()


async def _chunks(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
