"""Opening committees (开标小组): chosen by staff on the draft notice, fixed by its publication.

The committee — suite, threshold k, and each member's HPKE and signing public keys — is written into the
draft's fields, so that the published notice itself carries the keys bidders seal to. The bidder's
client fetches them and checks them against the published version's hash; nothing else is trusted.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bidding import schemas
from bidding.envelope.priceform import STANDARD_PRICE_FIELDS
from bidding.envelope.suites import suite_info
from bidding.keys import active_opener_keys
from notices.errors import PublishedNoticeImmutable
from notices.kinds import NOTICE_KINDS
from notices.models import Notice, NoticeVersion, published_fields
from notices.services import notice_for_staff
from trading.accounts.models import Person
from trading.accounts.services import require_same_centre
from trading.audit.services import record
from trading.context import Act, Actor
from trading.db import Lean
from trading.errors import InvalidInput, NotFound
from trading.projects.models import Project, Section


def price_fields(committee: dict[str, Any] | None) -> tuple[str, ...]:
    """The fields a section's tender requires beyond the standard ones (none for a committee set before)."""
    required = ((committee or {}).get("price_form") or {}).get("required") or ()
    return tuple(f for f in required if f not in STANDARD_PRICE_FIELDS)


async def set_committee(session: AsyncSession, act: Act, notice_id: int, data: schemas.CommitteeIn) -> dict[str, Any]:
    """Put the committee (with the openers' registered public keys) into a draft opening notice."""
    assert act.actor is not None
    notice = await notice_for_staff(session, act.actor, notice_id)
    if notice.status != "draft":
        raise PublishedNoticeImmutable()
    if not NOTICE_KINDS[notice.kind].opens_trade:
        raise InvalidInput(
            "只有招标（出让）公告可以设定开标小组",
            "Only a notice that opens a trade has a committee",
            code="not_an_opening_notice",
        )
    suite_info(data.suite)
    ids = data.opener_ids
    if len(set(ids)) != len(ids):
        raise InvalidInput("开标人不能重复", "An opener appears twice", code="duplicate_opener")
    if not 2 <= data.k <= len(ids):
        raise InvalidInput(
            f"门限 k 须在 2 到 {len(ids)} 之间", f"k must be between 2 and {len(ids)}", code="bad_threshold"
        )
    people = {p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(ids)))}
    not_openers = [i for i in ids if i not in people or "opener" not in people[i].roles]
    if not_openers:
        raise InvalidInput(
            "所选人员不是开标人",
            "Some of the people chosen are not openers",
            code="not_an_opener",
            details={"person_ids": not_openers},
        )
    keys = await active_opener_keys(session, ids, data.suite)
    missing = [i for i in ids if i not in keys]
    if missing:
        names = "、".join(people[i].display_name for i in missing)
        raise InvalidInput(
            f"以下开标人尚未登记该算法套件的公钥：{names}",
            f"These openers have no registered key for {data.suite}",
            code="opener_key_missing",
            details={"person_ids": missing},
        )
    committee = {
        # The opening form's required fields, machine-readable (docs/envelope.md §5.4): the bidder's client
        # refuses to seal without them, and the opening refuses a form that lacks one (the bidder's fault).
        "price_form": {"required": sorted({*STANDARD_PRICE_FIELDS, *data.price_fields})},
        "suite": data.suite,
        "k": data.k,
        "n": len(ids),
        "members": [
            {
                "position": position,
                "person_id": person_id,
                "name": people[person_id].display_name,
                "public_key": base64.b64encode(keys[person_id].public_key).decode(),
                "signing_key": base64.b64encode(keys[person_id].signing_key).decode(),
            }
            for position, person_id in enumerate(ids, start=1)
        ],
    }
    before = dict(notice.fields)
    notice.fields = {**notice.fields, "committee": committee}
    notice.updated_at = act.at
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="notice.committee",
        subject_type="notice",
        subject_id=notice.id,
        before=before,
        after=notice.fields,
    )
    return committee


class SectionCommittee:
    """A section as bidders see it: the published notice's committee and the section's state."""

    def __init__(self, section: Section, project: Project, version: NoticeVersion, committee: dict[str, Any] | None):
        self.section = section
        self.project = project
        self.version = version
        self.committee = committee

    @property
    def public_keys(self) -> tuple[bytes, ...]:
        assert self.committee is not None
        return tuple(base64.b64decode(m["public_key"]) for m in self.committee["members"])


_SECTION_COMMITTEE = (
    select(Section, Project, NoticeVersion)
    .join(Project, Project.id == Section.project_id)
    .join(Notice, Notice.id == Section.opening_notice_id)
    .join(NoticeVersion, (NoticeVersion.notice_id == Notice.id) & (NoticeVersion.version == Notice.current_version))
    .where(Section.id == bindparam("section_id"))
)


async def section_committee(session: AsyncSession, section_id: int) -> SectionCommittee:
    # One statement (it is on every bid's path): the section, its project and its notice's current version.
    row = (await session.execute(_SECTION_COMMITTEE, {"section_id": section_id})).first()
    if row is None:
        raise NotFound("标段不存在或尚未发布", "No such section, or it is not published", code="section_not_found")
    section, project, version = row
    committee = version.published_fields().get("committee")
    return SectionCommittee(section, project, version, committee)


class SectionRow(NamedTuple):
    id: int
    code: str
    state: str
    deadline_at: datetime | None


class ProjectRow(NamedTuple):
    trade_code: str
    centre_id: int


@dataclass(frozen=True)
class BidSection:
    """What a bid's checks need of its section (as :class:`SectionCommittee` gives it, without ORM objects): the
    section's state and deadline, its project's trade code and centre, the published committee."""

    section: SectionRow
    project: ProjectRow
    committee: dict[str, Any] | None
    public_keys: tuple[bytes, ...]


_S, _P, _N, _V = (m.__table__ for m in (Section, Project, Notice, NoticeVersion))
#: The section as a bid's checks read it (bid_section; and with the bidder, bidding.submission).
BID_SECTION_QUERY = (
    select(
        _S.c.id,
        _S.c.code,
        _S.c.state,
        _S.c.deadline_at,
        _P.c.trade_code,
        _P.c.centre_id,
        _V.c.id.label("version_id"),
        _V.c.content_hash,
    )
    .select_from(
        _S.join(_P, _P.c.id == _S.c.project_id)
        .join(_N, _N.c.id == _S.c.opening_notice_id)
        .join(_V, (_V.c.notice_id == _N.c.id) & (_V.c.version == _N.c.current_version))
    )
    .where(_S.c.id == bindparam("section_id"))
)
_BID_SECTION = Lean(BID_SECTION_QUERY)
_VERSION_DOCUMENT = Lean(select(_V.c.document).where(_V.c.id == bindparam("version_id")))
#: The committee of each published version read (by engine; keyed by the version's id and content hash): a
#: published version never changes (notice_versions is append-only), and every bid in a deadline storm would
#: otherwise read and decode the same notice document.
_COMMITTEES: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], tuple[Any, tuple[bytes, ...]]]] = (
    weakref.WeakKeyDictionary()
)
_COMMITTEES_KEPT = 1024


async def bid_section(conn: AsyncConnection, section_id: int) -> BidSection:
    """The section as a bid's checks see it: one lean read (and the notice's document, the first time)."""
    return await bid_section_of(conn, await _BID_SECTION.first(conn, {"section_id": section_id}))


async def bid_section_of(conn: AsyncConnection, row: Mapping[str, Any] | None) -> BidSection:
    """The section as a bid's checks see it from a row of BID_SECTION_QUERY's columns (None, or an id of None:
    no such section published)."""
    if row is None or row["id"] is None:
        raise NotFound("标段不存在或尚未发布", "No such section, or it is not published", code="section_not_found")
    known = _COMMITTEES.setdefault(conn.sync_engine, {})
    key = (row["version_id"], row["content_hash"])
    if key not in known:
        document = await _VERSION_DOCUMENT.first(conn, {"version_id": row["version_id"]})
        assert document is not None
        committee = published_fields(bytes(document["document"])).get("committee")
        keys = tuple(base64.b64decode(m["public_key"]) for m in committee["members"]) if committee else ()
        if len(known) >= _COMMITTEES_KEPT:
            known.pop(next(iter(known)))
        known[key] = (committee, keys)
    committee, keys = known[key]
    return BidSection(
        SectionRow(row["id"], row["code"], row["state"], row["deadline_at"]),
        ProjectRow(row["trade_code"], row["centre_id"]),
        committee,
        keys,
    )


async def committee_person_ids(session: AsyncSession, section_id: int) -> set[int]:
    """The openers on a section's opening committee (none for a section without one)."""
    try:
        sc = await section_committee(session, section_id)
    except NotFound:
        return set()
    return {int(m["person_id"]) for m in (sc.committee or {}).get("members", [])}


def require_staff_of(actor: Actor, sc: SectionCommittee) -> None:
    """Staff act only on their own centre's sections (an admin on any)."""
    require_same_centre(actor, sc.project.centre_id)


def bidding_view(sc: SectionCommittee, tenderer_credit_code: str = "") -> schemas.SectionBidding:
    c = sc.committee or {"suite": "", "k": 0, "n": 0, "members": []}
    return schemas.SectionBidding(
        section_id=sc.section.id,
        section_code=sc.section.code,
        section_name=sc.section.name,
        trade_code=sc.project.trade_code,
        state=sc.section.state,
        deadline_at=sc.section.deadline_at,
        notice_id=sc.version.notice_id,
        notice_version=sc.version.version,
        notice_content_sha256=sc.version.content_hash,
        suite=c["suite"],
        k=c["k"],
        n=c["n"],
        members=[schemas.CommitteeMemberRead(**m) for m in c["members"]],
        accepts_bids=sc.committee is not None and sc.section.state == "tendering",
        price_fields=list(price_fields(sc.committee)),
        tenderer_credit_code=tenderer_credit_code,
    )
