"""Live sealed-bid sections in the demo: one whose deadline passes a few minutes after `trading demo` starts,
so an opening can be watched end to end, one taking bids for days yet, and the road trades the platform
evaluates (trading.demo.evaluated). The openers' keys and the bidders' signing keys are those of
trading.demo.ceremony, which also holds the acts these sections go through.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import committees, schemas
from bidding.envelope import read_sealed_bid, seal_bid
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts.models import Organisation, Person
from trading.demo.ceremony import OPENER_PASSPHRASE, Bidding, name_committee, submit_bid
from trading.demo.documents import attach_documents
from trading.demo.evaluated import seed_evaluated
from trading.demo.roads import LATER, LIVE, QUALITY, Road
from trading.projects.models import Section
from trading.projects.schemas import FundingSourceIn, ProjectCreate, SectionIn
from trading.projects.services import create_project

__all__ = ["OPENER_PASSPHRASE", "seed_sealed"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
LIVE_DEADLINE_MINUTES = 5


async def seed_sealed(bidding: Bidding, now: datetime, key_dir: Path) -> str:
    async with bidding.sessionmaker() as session:
        staff = await session.scalar(select(Person).where(Person.username == "cd_staff1"))
    bidders = sorted(bidding.bidders.values(), key=lambda b: b.person.id)[:4]
    if staff is None or len(bidders) < 4:
        return "演示开标未设置（缺少交易中心工作人员或投标人账号）"
    minute = (now + timedelta(minutes=LIVE_DEADLINE_MINUTES + 1)).astimezone(SHANGHAI).replace(second=0, microsecond=0)
    live = await section(bidding, staff, LIVE, minute)
    later = await section(
        bidding,
        staff,
        LATER,
        (now + timedelta(days=12)).astimezone(SHANGHAI).replace(hour=9, minute=30, second=0, microsecond=0),
    )
    prices = [38_650_000_00, 37_980_500_00, 39_120_000_00, 38_004_000_00]
    for i, bidder in enumerate(bidders[:3]):
        await submit_bid(bidding, bidder, live, _road_form(prices[i]), now - timedelta(minutes=30 - i))
    await _ceiling(bidding, staff, live, LIVE.control_fen, now - timedelta(minutes=25))
    for i, bidder in enumerate(bidders[1:3]):
        await submit_bid(bidding, bidder, later, _road_form(prices[i + 2] // 2), now - timedelta(minutes=20 - i))
    evaluated = await seed_evaluated(bidding, staff, now, section)
    bidding.state.clock.set(now)
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


def _road_form(price: int) -> dict[str, object]:
    return {"total_price_fen": price, "duration_days": LIVE.days, "quality": QUALITY}


async def tenderer_of(session: AsyncSession, road: Road) -> Organisation:
    """The road's tenderer among the demo's organisations: by name, else a tenderer of its district, else any."""
    named = await session.scalar(select(Organisation).where(Organisation.name == road.tenderer))
    if named is not None:
        return named
    everyone = list(await session.scalars(select(Organisation).order_by(Organisation.id)))
    tenderers = [o for o in everyone if "tenderer" in (o.kinds or ())]
    local = [o for o in tenderers if o.region_code == road.region_code]
    return (local or tenderers or everyone)[0]


async def section(bidding: Bidding, staff: Person, road: Road, deadline: datetime) -> int:
    """A road tender of the 常德 centre, published three weeks before *deadline* with its opening committee; the
    project and every text of its notice are written from *road*."""
    published = (deadline - timedelta(days=21)).astimezone(SHANGHAI).replace(hour=9, minute=0)
    act = bidding.act(staff, published)
    async with bidding.sessionmaker() as session:
        tenderer = await tenderer_of(session, road)
        funding = [FundingSourceIn(kind="fiscal", amount_fen=road.fiscal_fen, description="市级财政资金")]
        if road.bond_fen:
            funding.append(
                FundingSourceIn(
                    kind="special_bond", amount_fen=road.bond_fen, description=f"{published.year}年地方政府专项债券"
                )
            )
        project = await create_project(
            session,
            act,
            ProjectCreate(
                name=road.name,
                trade_kind="works",
                procedure="works_open_tender",
                region_code=road.region_code,
                tenderer_id=tenderer.id,
                description=road.scope,
                budget_fen=road.budget_fen,
                control_price_fen=road.control_fen,
                funding_sources=funding,
                sections=[SectionIn(code="01", name="施工标段（全部招标范围）", estimated_price_fen=road.control_fen)],
            ),
        )
        contact = f"{tenderer.contact_name} {tenderer.contact_phone}".strip()
        draft = await notice_services.create_draft(
            session,
            act,
            NoticeDraftCreate(
                project_id=project.id,
                kind="tender",
                title=f"{road.name}施工招标公告",
                body=road.tender_body(tenderer.name, published),
                fields=road.tender_fields(tenderer.name, contact, published),
                timetable={
                    "documents_issued": published,
                    "documents_sale_start": published,
                    "documents_sale_end": published + timedelta(days=7),
                    "bid_deadline": deadline,
                    "opening": deadline,
                },
            ),
        )
        await name_committee(session, bidding, act, draft.id)
        await attach_documents(session, act, draft.id, bidding.state.blobs)
        await notice_services.publish(session, act, draft.id, tz=SHANGHAI)
        section_id = await session.scalar(select(Section.id).where(Section.project_id == project.id))
        await session.commit()
        return int(section_id)


async def _ceiling(bidding: Bidding, staff: Person, section_id: int, price: int, at: datetime) -> None:
    """Staff seal a control price (最高投标限价) for the live section: it opens with the bids (bidding.reserve)."""
    from bidding import reserve

    act = bidding.act(staff, at)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    async with bidding.sessionmaker() as session:
        await reserve.register_centre_key(
            session, act, schemas.CentreKeyIn(public_key=base64.b64encode(raw).decode(), label="演示标底密封")
        )
        context = await reserve.reserve_context(session, await committees.section_committee(session, section_id))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ceiling.bid"
            seal_bid(context, key, {"total_price_fen": price, "kind": "最高投标限价"}, [], out, sealed_at=at)
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
        await reserve.submit(session, act, section_id, body, bidding.state.blobs)
        await session.commit()
