"""A published tender section with a three-opener committee, seeded through the platform's services for the
sealed-bid benches (bench/bids.py, bench/opening.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import committees, keys, schemas
from bidding.envelope import encode_public_key, generate_opener_key
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts import schemas as acc
from trading.accounts.auth import actor_of
from trading.accounts.credit_code import make_credit_code
from trading.accounts.models import Person
from trading.accounts.services import create_centre, create_organisation, create_person, issue_token
from trading.context import Act
from trading.projects.schemas import ProjectCreate, SectionIn
from trading.projects.services import create_project
from trading.settings import Settings

SUITE = "hpke-x25519-sha256-aes256gcm"
PASSWORD = "bench-password-1"
FIELDS = {
    "project_overview": "道路工程",
    "funding_source": "财政资金",
    "qualification": "市政二级",
    "consortium_allowed": False,
    "documents_how": "平台下载",
    "submission_how": "平台递交",
    "tenderer_contact": "0736-0000000",
}


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class Opener:
    person: Person
    token: str
    hpke: Any  # the opener's private key (bidding.envelope.OpenerPrivateKey)
    signing: Ed25519PrivateKey


@dataclass
class SeededSection:
    section_id: int
    staff: Person
    staff_token: str
    context_base: dict[str, Any]
    openers: list[Opener] = field(default_factory=list)


async def seed_section(
    s: AsyncSession, settings: Settings, *, published: datetime, deadline: datetime
) -> SeededSection:
    """Centre, tenderer, staff, three openers with registered keys, and a published works tender with one
    section whose committee is those openers (k = 2). Commits."""
    act = Act(actor=None, address="bench", at=published)
    # Tokens are issued now, not at *published*: an opener's lives less than the three weeks the tender runs.
    now_act = Act(actor=None, address="bench", at=datetime.now(UTC))
    centre = await create_centre(
        s, act, acc.CentreCreate(code="CD", name="常德市公共资源交易中心", region_code="430700")
    )
    tenderer = await create_organisation(
        s,
        act,
        acc.OrganisationCreate(
            name="常德市交通运输局",
            credit_code=make_credit_code("1", "1", "430700", "MB1C0011"),
            kinds=["tenderer"],
            region_code="430700",
        ),
    )
    staff = await create_person(
        s,
        act,
        acc.PersonCreate(
            username="staff", display_name="王晓明", password=PASSWORD, roles=["staff"], centre_id=centre.id
        ),
        settings,
    )
    _, staff_token = await issue_token(s, now_act, staff, "bench", settings)
    openers = []
    for i in range(3):
        p = await create_person(
            s,
            act,
            acc.PersonCreate(username=f"opener{i}", display_name=f"开标人{i}", password=PASSWORD, roles=["opener"]),
            settings,
        )
        hpke, signing = generate_opener_key(SUITE), Ed25519PrivateKey.generate()
        await keys.register_opener_key(
            s,
            Act(actor=actor_of(p), address="bench", at=published),
            schemas.OpenerKeyIn(
                suite=SUITE,
                public_key=base64.b64encode(encode_public_key(SUITE, hpke.public_key())).decode(),
                signing_key=base64.b64encode(raw(signing)).decode(),
            ),
        )
        _, token = await issue_token(s, now_act, p, "bench", settings)
        openers.append(Opener(p, token, hpke, signing))
    sact = Act(actor=actor_of(staff), address="bench", at=published)
    project = await create_project(
        s,
        sact,
        ProjectCreate(
            name="常德市城区道路改造工程（压力测试）",
            trade_kind="works",
            procedure="works_open_tender",
            region_code="430702",
            tenderer_id=tenderer.id,
            sections=[SectionIn(code="01", name="第一标段")],
        ),
    )
    draft = await notice_services.create_draft(
        s,
        sact,
        NoticeDraftCreate(
            project_id=project.id,
            kind="tender",
            title="常德市城区道路改造工程施工招标公告",
            body="压力测试",
            fields=FIELDS,
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
        s, sact, draft.id, schemas.CommitteeIn(suite=SUITE, k=2, opener_ids=[o.person.id for o in openers])
    )
    await notice_services.publish(s, sact, draft.id, tz=ZoneInfo("Asia/Shanghai"))
    await s.commit()
    sc = await committees.section_committee(s, (await s.get(type(draft), draft.id)).section_ids[0])
    context_base = dict(
        section_id=sc.section.id,
        trade_code=sc.project.trade_code,
        section_code=sc.section.code,
        suite=SUITE,
        k=2,
        n=3,
        opener_keys=sc.public_keys,
    )
    return SeededSection(sc.section.id, staff, staff_token, context_base, openers)


@dataclass
class SeededBidder:
    credit_code: str
    token: str
    key: Ed25519PrivateKey  # the bidder's signing key, registered with the platform


async def seed_bidders(
    s: AsyncSession,
    settings: Settings,
    n: int,
    *,
    at: datetime,
    series: str = "MA",
    name: str = "湖南第{i}建设有限公司",
) -> list[SeededBidder]:
    """*n* bidder organisations, each with a person, an API token and a registered Ed25519 signing key."""
    act = Act(actor=None, address="bench", at=at)
    bidders = []
    for i in range(n):
        code = make_credit_code("9", "1", "430700", f"{series}{i:06d}")
        org = await create_organisation(
            s,
            act,
            acc.OrganisationCreate(name=name.format(i=i), credit_code=code, kinds=["bidder"], region_code="430700"),
        )
        person = await create_person(
            s,
            act,
            acc.PersonCreate(
                username=f"bidder{i}",
                display_name=f"投标人{i}",
                password=PASSWORD,
                roles=["bidder"],
                organisation_id=org.id,
            ),
            settings,
        )
        _, token = await issue_token(s, act, person, "bench", settings)
        key = Ed25519PrivateKey.generate()
        await keys.register_bidder_key(
            s,
            Act(actor=actor_of(person), address="bench", at=at),
            schemas.BidderKeyIn(public_key=base64.b64encode(raw(key)).decode()),
        )
        bidders.append(SeededBidder(code, token, key))
    return bidders
