"""Sealed bids in the demo: opener keys a newcomer can use, sections taking bids, and one section whose
deadline passes a few minutes after `trading demo` starts, so an opening can be watched end to end.

The openers' private keys are written under ``var/demo-openers/`` (passphrase below) in the `bidding`
CLI's format — on a real platform they are generated on each opener's own machine and never seen by the
server. Demo bidders seal and submit through the same services the API uses.
"""

from __future__ import annotations

import base64
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import State
from sqlalchemy import select

from bidding import committees, keys, receipts, schemas, submission
from bidding.envelope import (
    encode_public_key,
    generate_opener_key,
    protect_private_key,
    read_sealed_bid,
    seal_bid,
)
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person
from trading.blobs import LocalBlobStore
from trading.clock import FixedClock
from trading.context import Act
from trading.demo.evaluated import Opener, seed_evaluated
from trading.keys import load_or_create_signing_key
from trading.log.note import NoteSigner
from trading.projects.models import Section
from trading.projects.schemas import FundingSourceIn, ProjectCreate, SectionIn
from trading.projects.services import create_project
from trading.settings import Settings

SUITE = "hpke-x25519-sha256-aes256gcm"
OPENER_PASSPHRASE = "demo-opener-2026"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LIVE_DEADLINE_MINUTES = 5

FIELDS = {
    "project_overview": "柳叶湖环湖路提质改造，全长约4.2公里，含路面、排水、照明及慢行系统。",
    "funding_source": "市级财政资金及2026年地方政府专项债券，资金已落实。",
    "qualification": "具备市政公用工程施工总承包二级及以上资质。",
    "consortium_allowed": False,
    "documents_how": "登录湖南省公共资源交易平台下载电子招标文件。",
    "submission_how": "使用 bidding 客户端在本地加密后递交（《电子招标投标办法》第二十六条）。",
    "tenderer_contact": "常德市交通运输局 0736-7222000",
}


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


async def seed_sealed(sessionmaker, settings: Settings, now: datetime, key_dir: Path) -> str:  # type: ignore[no-untyped-def]
    state = State(
        {
            "sessionmaker": sessionmaker,
            "settings": settings,
            "clock": FixedClock(now),
            "blobs": LocalBlobStore(settings.blob_dir),
        }
    )
    state.platform_key = load_or_create_signing_key(settings.signing_key_path)
    state.log_signer = NoteSigner(settings.log_origin, state.platform_key)
    async with sessionmaker() as session:
        openers = list(
            await session.scalars(select(Person).where(Person.username.in_(["opener1", "opener2", "opener3"])))
        )
        openers.sort(key=lambda p: p.username)
        staff = await session.scalar(select(Person).where(Person.username == "cd_staff1"))
        bidder_people = list(
            await session.scalars(select(Person).where(Person.username.like("bidder_%")).order_by(Person.id).limit(4))
        )
        if len(openers) < 3 or staff is None or len(bidder_people) < 4:
            return "演示开标未设置（缺少开标人或投标人账号）"
        setup = Act(actor=None, address="demo-seed", at=now - timedelta(days=200))
        opener_keys = []
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
            opener_keys.append(Opener(person=person, hpke=hpke, signing=signing))
            raw = signing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            await keys.register_opener_key(
                session,
                Act(actor=actor_of(person), address="demo-seed", at=setup.at),
                schemas.OpenerKeyIn(
                    suite=SUITE,
                    public_key=base64.b64encode(encode_public_key(SUITE, hpke.public_key())).decode(),
                    signing_key=base64.b64encode(raw).decode(),
                ),
            )
        bidders = []
        for person in bidder_people:
            key = Ed25519PrivateKey.generate()
            raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            await keys.register_bidder_key(
                session,
                Act(actor=actor_of(person), address="demo-seed", at=setup.at),
                schemas.BidderKeyIn(public_key=base64.b64encode(raw).decode(), label="演示"),
            )
            bidders.append((person, key))
        await session.commit()
    minute = (now + timedelta(minutes=LIVE_DEADLINE_MINUTES + 1)).astimezone(SHANGHAI).replace(second=0, microsecond=0)
    live = await _section(
        sessionmaker, state, staff, openers, "常德市柳叶湖环湖路提质改造工程（演示开标）", minute, now
    )
    later = await _section(
        sessionmaker,
        state,
        staff,
        openers,
        "常德市武陵区滨湖路排水管网改造工程",
        (now + timedelta(days=12)).astimezone(SHANGHAI).replace(hour=9, minute=30, second=0, microsecond=0),
        now,
    )
    prices = [38_650_000_00, 37_980_500_00, 39_120_000_00, 38_004_000_00]
    for i, (person, key) in enumerate(bidders[:3]):
        await _bid(sessionmaker, state, person, key, live, prices[i], now - timedelta(minutes=30 - i))
    await _ceiling(sessionmaker, state, staff, live, 40_000_000_00, now - timedelta(minutes=25))
    for i, (person, key) in enumerate(bidders[1:3]):
        await _bid(sessionmaker, state, person, key, later, prices[i + 2] // 2, now - timedelta(minutes=20 - i))
    evaluated = await seed_evaluated(sessionmaker, state, staff, opener_keys, bidders, now, _section, _bid)
    return (
        f"{evaluated}\n"
        f"演示开标：第 {live} 号标段将于 {minute:%H:%M} 截标（已有3份密封投标和交易中心密封的最高投标限价）；"
        f"开标人密钥在 {key_dir}（口令 {OPENER_PASSPHRASE}）\n"
        f"注意：演示为方便把三位开标人的私钥都放在本机的 {key_dir}，能读取它的人可以在开标前打开演示的密封投标。"
        "正式使用时私钥只在开标人自己的电脑上；trading serve 发现数据目录中有开标人私钥会拒绝启动。\n"
        f"Note: for convenience the demo keeps all three openers' private keys on this machine ({key_dir}): whoever "
        "can read them can open the demo's sealed bids before the opening. For real, a key lives only on its "
        "opener's own computer, and trading serve refuses to start while one is in its data directory."
    )


async def _section(
    sessionmaker,
    state: State,
    staff: Person,
    openers: list[Person],
    name: str,  # type: ignore[no-untyped-def]
    deadline: datetime,
    now: datetime,
) -> int:
    published = (deadline - timedelta(days=21)).astimezone(SHANGHAI).replace(hour=9, minute=0)
    act = Act(actor=actor_of(staff), address="demo-seed", at=published)
    async with sessionmaker() as session:
        tenderer = await session.scalar(
            select(Organisation).where(Organisation.kinds.is_not(None), Organisation.name.like("%交通运输局%")).limit(1)
        )
        if tenderer is None:
            tenderer = await session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
        project = await create_project(
            session,
            act,
            ProjectCreate(
                name=name,
                trade_kind="works",
                procedure="works_open_tender",
                region_code="430702",
                tenderer_id=tenderer.id,
                budget_fen=40_000_000_00,
                control_price_fen=39_500_000_00,
                funding_sources=[
                    FundingSourceIn(kind="fiscal", amount_fen=25_000_000_00, description="市级财政资金"),
                    FundingSourceIn(kind="special_bond", amount_fen=15_000_000_00, description="地方政府专项债券"),
                ],
                sections=[SectionIn(code="01", name="第一标段", estimated_price_fen=39_500_000_00)],
            ),
        )
        draft = await notice_services.create_draft(
            session,
            act,
            NoticeDraftCreate(
                project_id=project.id,
                kind="tender",
                title=f"{name}施工招标公告",
                body="一、招标条件\n本项目已批准建设，资金已落实，现进行公开招标。\n二、投标文件的递交\n"
                "投标人须使用 bidding 客户端在本地加密投标文件并在截止时间前递交；截止后平台不再接收。",
                fields=dict(FIELDS),
                timetable={
                    "documents_issued": published,
                    "documents_sale_start": published,
                    "documents_sale_end": published + timedelta(days=7),
                    "bid_deadline": deadline,
                    "opening": deadline,
                },
            ),
        )
        await committees.set_committee(
            session, act, draft.id, schemas.CommitteeIn(suite=SUITE, k=2, opener_ids=[p.id for p in openers])
        )
        await notice_services.publish(session, act, draft.id, tz=SHANGHAI)
        section_id = await session.scalar(select(Section.id).where(Section.project_id == project.id))
        await session.commit()
        return int(section_id)


async def _ceiling(sessionmaker, state: State, staff: Person, section_id: int, price: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """Staff seal a control price (最高投标限价) for the live section: it opens with the bids (bidding.reserve)."""
    from bidding import reserve
    from trading.blobs import LocalBlobStore

    act = Act(actor=actor_of(staff), address="demo-seed", at=at)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    async with sessionmaker() as session:
        await reserve.register_centre_key(
            session, act, schemas.CentreKeyIn(public_key=base64.b64encode(raw).decode(), label="演示标底密封")
        )
        context = await reserve.reserve_context(session, await committees.section_committee(session, section_id))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ceiling.bid"
            seal_bid(context, key, {"total_price_fen": price, "kind": "最高投标限价"}, [], out)
            sealed = read_sealed_bid(out)
            body = schemas.ReserveIn(
                kind="ceiling",
                manifest=base64.b64encode(sealed.manifest_bytes).decode(),
                signature=base64.b64encode(sealed.signature).decode(),
                sealed_shares={e: [base64.b64encode(s).decode() for s in v] for e, v in sealed.sealed_shares.items()},
                ciphertexts={
                    e: base64.b64encode(b"".join(sealed.iter_ciphertext(e))).decode() for e in ("price", "documents")
                },
            )
        await reserve.submit(session, act, section_id, body, LocalBlobStore(state.settings.blob_dir))
        await session.commit()


async def _bid(
    sessionmaker,
    state: State,
    person: Person,
    key: Ed25519PrivateKey,
    section_id: int,  # type: ignore[no-untyped-def]
    price: int,
    at: datetime,
) -> None:
    act = Act(actor=actor_of(person), address="demo-seed", at=at)
    async with sessionmaker() as session:
        sc = await committees.section_committee(session, section_id)
        org = await session.get(Organisation, person.organisation_id)
        context = submission.context_for(sc, org)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        (folder / "技术标.txt").write_text("施工组织设计：工期240日历天，质量合格。\n", encoding="utf-8")
        (folder / "商务标.txt").write_text(f"{org.name} 商务文件。\n", encoding="utf-8")
        out = Path(tmp) / "bid.bid"
        seal_bid(context, key, {"total_price_fen": price, "duration_days": 240, "quality": "合格"}, folder, out)
        sealed = read_sealed_bid(out)
        async with sessionmaker() as session:
            upload = await submission.begin(
                session,
                act,
                section_id,
                schemas.SubmissionIn(
                    manifest=base64.b64encode(sealed.manifest_bytes).decode(),
                    signature=base64.b64encode(sealed.signature).decode(),
                    sealed_shares={
                        e: [base64.b64encode(s).decode() for s in v] for e, v in sealed.sealed_shares.items()
                    },
                ),
            )
            await session.commit()
            upload_id = upload.id
        for envelope in ("price", "documents"):
            part = Path(state.settings.blob_dir) / "uploads" / upload_id / f"{envelope}.part"
            part.parent.mkdir(parents=True, exist_ok=True)
            with part.open("wb") as fh:
                for chunk in sealed.iter_ciphertext(envelope):
                    fh.write(chunk)
    from trading.blobs import LocalBlobStore

    async with sessionmaker() as session:
        bid = await submission.complete(
            session, act, upload_id, blobs=LocalBlobStore(state.settings.blob_dir), blob_root=state.settings.blob_dir
        )
        bid_id = bid.id
        await session.commit()
    state.clock.set(at)
    await receipts.issue(state, bid_id)
