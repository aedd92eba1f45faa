"""Sealed-bid test harness: openers with real keys, a published section with a committee, bidders with
registered signing keys, and sealing and submitting through the real API."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar

from bidding.envelope import BidContext, generate_opener_key, read_sealed_bid, seal_bid
from bidding.envelope.suites import encode_public_key
from tests.factories import PASSWORD, World, create_project, draft_tender
from trading.accounts import schemas as acc
from trading.accounts.credit_code import make_credit_code
from trading.accounts.services import create_organisation, create_person, issue_token
from trading.context import Act

SUITE = "hpke-x25519-sha256-aes256gcm"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class Opener:
    person_id: int
    token: str
    hpke: Any
    signing: Ed25519PrivateKey

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Bidder:
    organisation_id: int
    credit_code: str
    name: str
    token: str
    signing: Ed25519PrivateKey

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Section:
    id: int
    notice: dict[str, Any]
    info: dict[str, Any]
    openers: list[Opener]
    deadline: datetime

    def context(self, bidder: Bidder) -> BidContext:
        return self.context_for(bidder.credit_code)

    def context_for(self, credit_code: str) -> BidContext:
        """The context a bid by *credit_code* is sealed for (what an opener rebuilds from a share pack)."""
        return BidContext(
            section_id=self.id,
            trade_code=self.info["trade_code"],
            section_code=self.info["section_code"],
            bidder_credit_code=credit_code,
            suite=self.info["suite"],
            k=self.info["k"],
            n=self.info["n"],
            opener_keys=tuple(base64.b64decode(m["public_key"]) for m in self.info["members"]),
        )


@dataclass
class Market:
    app: Litestar
    client: httpx.AsyncClient
    world: World
    bidders: list[Bidder] = field(default_factory=list)


async def make_openers(
    app: Litestar, client: httpx.AsyncClient, at: datetime, count: int = 3, suite: str = SUITE
) -> list[Opener]:
    settings = app.state.settings
    openers = []
    async with app.state.sessionmaker() as s:
        act = Act(actor=None, address="127.0.0.1", at=at)
        for i in range(count):
            person = await create_person(
                s,
                act,
                acc.PersonCreate(
                    username=f"opener{i + 1}",
                    display_name=["李开", "周启", "吴封"][i % 3] + str(i + 1),
                    password=PASSWORD,
                    roles=["opener"],
                ),
                settings,
            )
            _, token = await issue_token(s, act, person, "tests", app.state.settings)
            openers.append(
                Opener(
                    person_id=person.id,
                    token=token,
                    hpke=generate_opener_key(suite),
                    signing=Ed25519PrivateKey.generate(),
                )
            )
        await s.commit()
    for o in openers:
        r = await client.post(
            "/api/openers/keys",
            headers=o.headers,
            json={
                "suite": suite,
                "public_key": b64(encode_public_key(suite, o.hpke.public_key())),
                "signing_key": b64(raw_public(o.signing)),
            },
        )
        assert r.status_code == 201, r.text
    return openers


async def make_bidder(
    app: Litestar, client: httpx.AsyncClient, at: datetime, n: int, name: str | None = None
) -> Bidder:
    settings = app.state.settings
    code = make_credit_code("9", "1", "430700", f"MA4Q{n:04d}")
    name = name or f"湖南第{n}建设工程有限公司"
    async with app.state.sessionmaker() as s:
        act = Act(actor=None, address="127.0.0.1", at=at)
        org = await create_organisation(
            s, act, acc.OrganisationCreate(name=name, credit_code=code, kinds=["bidder"], region_code="430700")
        )
        person = await create_person(
            s,
            act,
            acc.PersonCreate(
                username=f"bidder{n}",
                display_name=f"投标人{n}",
                password=PASSWORD,
                roles=["bidder"],
                organisation_id=org.id,
            ),
            settings,
        )
        _, token = await issue_token(s, act, person, "tests", app.state.settings)
        await s.commit()
    bidder = Bidder(
        organisation_id=org.id, credit_code=code, name=name, token=token, signing=Ed25519PrivateKey.generate()
    )
    r = await client.post(
        "/api/bidding/keys",
        headers=bidder.headers,
        json={"public_key": b64(raw_public(bidder.signing)), "label": "投标专用"},
    )
    assert r.status_code == 201, r.text
    return bidder


async def open_section(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    at: datetime,
    *,
    k: int = 2,
    openers: list[Opener] | None = None,
    days: int = 20,
    suite: str = SUITE,
    price_fields: list[str] | None = None,
) -> Section:
    openers = openers or await make_openers(app, client, at, suite=suite)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, at, days=days)
    r = await client.post(
        f"/api/staff/notices/{draft['id']}/committee",
        headers=world.headers("staff"),
        json={
            "suite": suite,
            "k": k,
            "opener_ids": [o.person_id for o in openers],
            **({"price_fields": price_fields} if price_fields else {}),
        },
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    notice = r.json()
    section_id = notice["section_ids"][0]
    info = (await client.get(f"/api/sections/{section_id}/bidding")).json()
    return Section(
        id=section_id, notice=notice, info=info, openers=openers, deadline=datetime.fromisoformat(info["deadline_at"])
    )


def seal(
    section: Section,
    bidder: Bidder,
    tmp: Path,
    *,
    price: int = 4_512_345_600,
    marker: str = "",
    documents: dict[str, bytes] | None = None,
    signing: Ed25519PrivateKey | None = None,
    extra: dict[str, str | int] | None = None,
) -> Path:
    folder = tmp / f"docs-{bidder.credit_code}-{price}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (
        documents or {"技术标.txt": f"施工组织设计 {marker}".encode(), "商务标.txt": f"商务文件 {marker}".encode()}
    ).items():
        path = folder.joinpath(*name.split("/"))  # "商务标/报价说明.pdf": a file in a sub-folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    out = tmp / f"bid-{bidder.credit_code}-{price}.bid"
    form = {"total_price_fen": price, "duration_days": 240, "quality": f"合格 {marker}".strip(), **(extra or {})}
    seal_bid(section.context(bidder), signing or bidder.signing, form, folder, out)
    return out


async def begin(client: httpx.AsyncClient, bidder: Bidder, section: Section, path: Path) -> httpx.Response:
    sealed = read_sealed_bid(path)
    return await client.post(
        f"/api/sections/{section.id}/bids",
        headers=bidder.headers,
        json={
            "manifest": b64(sealed.manifest_bytes),
            "signature": b64(sealed.signature),
            "sealed_shares": {e: [b64(s) for s in shares] for e, shares in sealed.sealed_shares.items()},
        },
    )


async def upload(client: httpx.AsyncClient, bidder: Bidder, path: Path, upload_info: dict[str, Any]) -> None:
    sealed = read_sealed_bid(path)
    for envelope in ("price", "documents"):
        data = b"".join(sealed.iter_ciphertext(envelope))
        r = await client.put(
            f"/api/uploads/{upload_info['upload_id']}/{envelope}",
            params={"offset": 0},
            content=data,
            headers=bidder.headers,
        )
        assert r.status_code == 200, r.text


async def submit(client: httpx.AsyncClient, bidder: Bidder, section: Section, path: Path) -> httpx.Response:
    r = await begin(client, bidder, section, path)
    assert r.status_code == 201, r.text
    await upload(client, bidder, path, r.json())
    return await client.post(f"/api/uploads/{r.json()['upload_id']}/complete", headers=bidder.headers)


async def submit_file(client: httpx.AsyncClient, bidder: Bidder, section: Section, path: Path) -> httpx.Response:
    """The sealed bid file in one request (as `bidding submit` sends a bid under 16 MiB)."""
    return await client.post(
        f"/api/sections/{section.id}/bids/file",
        headers={**bidder.headers, "Content-Type": "application/octet-stream"},
        content=path.read_bytes(),
    )


def _opened_share(
    pack: dict[str, Any],
    opener: Opener,
    section: Section,
    item: dict[str, Any],
    envelope: str = "price",
    *,
    credit_code: str = "bidder_credit_code",
    role: str = "bidder",
    ref: str = "bid_id",
) -> dict[str, Any]:
    """One item of a shares document: the share of *item*'s *envelope* sealed to *opener*, opened here."""
    from bidding.envelope import open_share, parse_manifest

    context = msgspec.structs.replace(section.context_for(item[credit_code]), role=role)
    share = open_share(
        pack["suite"],
        opener.hpke,
        context,
        envelope,
        pack["position"],
        base64.b64decode(item["documents_sealed_share" if envelope == "documents" else "sealed_share"]),
        manifest=parse_manifest(base64.b64decode(item["manifest"])),
    )
    return {ref: item[ref], "manifest_sha256": item["manifest_sha256"], "envelope": envelope, "share": b64(share)}


def _pack_shares(pack: dict[str, Any], opener: Opener, section: Section, *, documents: bool) -> list[dict[str, Any]]:
    """Every price share of the pack, then (with *documents*) every documents share."""
    shares = [_opened_share(pack, opener, section, bid) for bid in pack["bids"]]
    if documents:
        shares += [_opened_share(pack, opener, section, bid, "documents") for bid in pack["bids"]]
    return shares


async def open_as(
    client: httpx.AsyncClient, opener: Opener, section: Section, *, documents: bool = True
) -> httpx.Response:
    """What `bidding opener open` does: download my sealed shares, decrypt them here, upload them signed (the
    price shares and — unless *documents* is false — the documents shares, for the evaluation panel)."""
    from bidding.opening import shares_document

    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=opener.headers)
    assert r.status_code == 200, r.text
    pack = r.json()
    shares = _pack_shares(pack, opener, section, documents=documents)
    # A reserve price staff sealed is opened the same way (its price envelope only).
    shares += [
        _opened_share(pack, opener, section, r, credit_code="sealer_credit_code", role="reserve", ref="reserve_id")
        for r in pack.get("reserve", [])
    ]
    document = shares_document(section.id, pack["position"], shares)
    return await client.post(
        f"/api/sections/{section.id}/opening/shares",
        headers=opener.headers,
        json={"document": b64(document), "signature": b64(opener.signing.sign(document))},
    )


async def open_all(client: httpx.AsyncClient, section: Section) -> dict[str, Any]:
    """Every opener uploads, as `bidding opener open` does: the last completes the committee and is answered 202
    (the opening is due), and a background job opens the bids. Returns the opening's status once it has run."""
    for number, opener in enumerate(section.openers, start=1):
        r = await open_as(client, opener, section)
        assert r.status_code == (202 if number == len(section.openers) else 200), r.text
    return await opening_settled(client, section)


# --- helpers for the attack tests (test_attacks, test_deadline_race, test_confidentiality) ----------------------


def refused(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert a refusal with this status and error code; return the error body."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    error = r.json()["error"]
    assert error["code"] == code, r.text
    return error


def ciphertexts(path: Path) -> dict[str, bytes]:
    sealed = read_sealed_bid(path)
    return {e: b"".join(sealed.iter_ciphertext(e)) for e in ("price", "documents")}


def manifest_sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(read_sealed_bid(path).manifest_bytes).hexdigest()


async def begun(client: httpx.AsyncClient, bidder: Bidder, section: Section, path: Path) -> dict[str, Any]:
    """Begin a submission, asserting it was accepted; the upload's description."""
    r = await begin(client, bidder, section, path)
    assert r.status_code == 201, r.text
    return r.json()


async def put(
    client: httpx.AsyncClient, bidder: Bidder, upload_id: str, envelope: str, data: Any, offset: int = 0
) -> httpx.Response:
    """Append raw bytes (or an async iterator of chunks) to one envelope of an upload."""
    return await client.put(
        f"/api/uploads/{upload_id}/{envelope}", params={"offset": offset}, content=data, headers=bidder.headers
    )


async def complete(client: httpx.AsyncClient, bidder: Bidder, upload_id: str) -> httpx.Response:
    return await client.post(f"/api/uploads/{upload_id}/complete", headers=bidder.headers)


def withdrawal_body(section_id: int, manifest_sha256: str, key: Ed25519PrivateKey) -> dict[str, str]:
    from bidding.withdrawal import withdrawal_document

    document = withdrawal_document(section_id, manifest_sha256)
    return {"withdrawal": b64(document), "signature": b64(key.sign(document))}


async def withdraw(
    client: httpx.AsyncClient,
    bidder: Bidder,
    section_id: int,
    manifest_sha256: str,
    key: Ed25519PrivateKey | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/sections/{section_id}/bids/mine/withdraw",
        headers=bidder.headers,
        json=withdrawal_body(section_id, manifest_sha256, key or bidder.signing),
    )


async def start_opening(client: httpx.AsyncClient, world: World, section: Section) -> httpx.Response:
    return await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))


def signed_shares(
    section_id: int, position: int, shares: list[dict[str, Any]], key: Ed25519PrivateKey
) -> dict[str, str]:
    """An opener's upload body: the canonical shares document and a signature by *key*."""
    from bidding.opening import shares_document

    document = shares_document(section_id, position, shares)
    return {"document": b64(document), "signature": b64(key.sign(document))}


async def post_shares(
    client: httpx.AsyncClient, opener: Opener, section_id: int, body: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/api/sections/{section_id}/opening/shares", headers=opener.headers, json=body)


async def opening_settled(client: httpx.AsyncClient, section: Section, *, timeout: float = 120) -> dict[str, Any]:
    """The opening's status once its job has run (no longer ``opening``), watched as the opening hall does: the
    upload that made it due answered 202, and a background job — in this process, or any worker of a real
    server — opens the bids."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = (await client.get(f"/api/sections/{section.id}/opening")).json()
        if status["state"] != "opening":
            return status
        assert asyncio.get_running_loop().time() < deadline, f"the opening job did not finish: {status}"
        await asyncio.sleep(0.05)


async def opening_record(client: httpx.AsyncClient, section: Section) -> dict[str, Any]:
    """The published opening record (开标记录) of an opened section (waiting for the opening job, if it runs)."""
    status = await opening_settled(client, section)
    assert status["state"] == "opened" and status["record_notice_id"], status
    record = (await client.get(f"/api/notices/{status['record_notice_id']}")).json()
    assert record["kind"] == "opening_record"
    return record


async def table_counts(app: Litestar) -> dict[str, int]:
    """Rows in every table of the schema."""
    from sqlalchemy import func, select

    from trading.schema import metadata

    async with app.state.sessionmaker() as s:
        return {t.name: int(await s.scalar(select(func.count()).select_from(t)) or 0) for t in metadata.sorted_tables}


async def blob_files(app: Litestar) -> dict[str, tuple[int, str]]:
    """Everything the blob store holds (the blobs and the uploads in progress): name → (size, SHA-256).
    Local: the files under the blob directory; S3: the objects under the test's prefix."""
    return await store_contents(app.state.blobs)


async def store_contents(store: Any) -> dict[str, tuple[int, str]]:
    import hashlib

    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in (await store_objects(store)).items()}


async def store_objects(store: Any) -> dict[str, bytes]:
    """Every file (local) or object (S3) the store holds, by its name relative to the store: name → bytes."""
    found: dict[str, bytes] = {}
    if store.kind == "local":
        root = Path(store.root)
        if root.exists():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    found[str(p.relative_to(root))] = p.read_bytes()
        return found
    import obstore

    async for batch in obstore.list(store.s3):
        for meta in batch:
            found[meta["path"]] = bytes(await (await obstore.get_async(store.s3, meta["path"])).bytes_async())
    return dict(sorted(found.items()))


async def stored_blobs(app: Litestar) -> set[str]:
    """The SHA-256 of each ciphertext stored as a blob (not the uploads in progress)."""
    return {info.sha256 async for info in app.state.blobs.list_blobs()}


async def upload_leftovers(app: Litestar) -> list[str]:
    """What uploads in progress hold in the store (their files or segments)."""
    return [name for name in await blob_files(app) if name.startswith("uploads/")]


async def snapshot(app: Litestar) -> dict[str, Any]:
    """What a refused request must leave exactly as it was: every table's row count and every stored file."""
    return {"tables": await table_counts(app), "files": await blob_files(app)}


async def bid_rows(app: Litestar, section_id: int) -> list[Any]:
    from sqlalchemy import select

    from bidding.models import Bid

    async with app.state.sessionmaker() as s:
        return list(await s.scalars(select(Bid).where(Bid.section_id == section_id).order_by(Bid.id)))


async def log_entries(client: httpx.AsyncClient, start: int, end: int) -> list[tuple[int, bytes]]:
    """Entries [start, end) of the public log, as (index, exact bytes), fetched page by page."""
    out: list[tuple[int, bytes]] = []
    while start < end:
        r = await client.get("/log/entries", params={"start": start, "end": min(end, start + 1000)})
        assert r.status_code == 200, r.text
        page = [(e["index"], base64.b64decode(e["data"])) for e in r.json()["entries"]]
        if not page:
            break
        out.extend(page)
        start = page[-1][0] + 1
    return out


async def decrypted_shares(
    client: httpx.AsyncClient, opener: Opener, section: Section, *, documents: bool = True
) -> tuple[int, list[dict[str, Any]]]:
    """What `open_as` would upload for the bids, without uploading it: (position, shares) for tampering with —
    the price shares first, one per bid in the pack's order, then the documents shares."""
    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=opener.headers)
    assert r.status_code == 200, r.text
    pack = r.json()
    return pack["position"], _pack_shares(pack, opener, section, documents=documents)


# --- reserve and control prices (bidding.reserve) ---------------------------------------------------------------


async def centre_key(client: httpx.AsyncClient, world: World, who: str = "staff") -> Ed25519PrivateKey:
    """A signing key registered to *who*'s trading centre (what `bidding reserve register` does)."""
    key = Ed25519PrivateKey.generate()
    r = await client.post(
        "/api/centre-keys", headers=world.headers(who), json={"public_key": b64(raw_public(key)), "label": "标底密封"}
    )
    assert r.status_code == 201, r.text
    return key


def seal_reserve(
    section: Section, key: Ed25519PrivateKey, tmp: Path, *, fen: int = 4_800_000_000, role: str = "reserve", **form: Any
) -> Path:
    """A reserve price sealed in the tenderer's name (role "reserve"; with role="bidder", sealed as if a bid)."""
    context = msgspec.structs.replace(section.context_for(section.info["tenderer_credit_code"]), role=role)
    price: dict[str, Any] = {"total_price_fen": fen, **form}
    if role != "reserve":
        price |= {"duration_days": 1, "quality": "合格"}
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"reserve-{fen}-{role}.bid"
    seal_bid(context, key, price, [], out)
    return out


def reserve_body(path: Path, kind: str = "ceiling") -> dict[str, Any]:
    sealed = read_sealed_bid(path)
    return {
        "kind": kind,
        "manifest": b64(sealed.manifest_bytes),
        "signature": b64(sealed.signature),
        "sealed_shares": {e: [b64(x) for x in v] for e, v in sealed.sealed_shares.items()},
        "ciphertexts": {e: b64(b"".join(sealed.iter_ciphertext(e))) for e in ("price", "documents")},
    }
