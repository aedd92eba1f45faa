"""The demo's past sealed tenders, taken through the platform as they would have been: the evaluation plan and
the expert draw fixed before the deadline, every bid in the world's opening records sealed and submitted by its
bidder, the opening by two openers, then the panel's score sheets, the report, the candidate publicity and the
award — each act at the moment the world gives it, so the opening record, the candidates and the result the
portal shows are the platform's own, with the bidders, prices, durations and winners the world (data.py) has.

The platform refuses hand-typed candidates and results for a trade it opened (notices.services), so a section
opened here is also evaluated here. The evaluators' points are chosen so that the platform's ranking puts the
world's candidates first, in the world's order: the world decides who wins, the platform does the arithmetic.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import select

from evaluation import award, draws, plans, publicity, reports, scoring, sheets
from evaluation import schemas as ev
from evaluation.panel import panel_experts
from trading.accounts.models import Person
from trading.demo.ceremony import Bidding, open_section, submit_bid
from trading.demo.data import LAND_BUILD_DAYS, NoticeSpec, ProjectSpec
from trading.demo.evaluated import PLANS

#: When, before the deadline, staff fix the evaluation plan and commit the expert draw (条例 §46, §49).
PLAN_BEFORE_DEADLINE = timedelta(days=2)
#: The bidders hand in their bids over the last day, one every so often, the last well before the deadline.
BID_SPACING = timedelta(minutes=97)
#: The ceremony: staff start it this long before the opening record the world has is published.
CEREMONY = timedelta(minutes=15)
TENTH = Decimal("0.1")
LAND_QUALITY = "符合出让文件规划条件"
#: The criteria's points are lifted (all bids alike) until the best total comes near this.
TOP_TOTAL = Decimal(92)


def deadline_of(record: NoticeSpec) -> datetime:
    return datetime.fromisoformat(record.fields["opened_at"])


def price_form(row: dict[str, Any], spec: ProjectSpec) -> dict[str, Any]:
    """The opening form a bid in the world's record was sealed with: its price, and the period and quality the
    envelope format asks of every bid (docs/envelope.md). Works bids offer their own construction period; a
    procurement's bid the delivery or service period its notice sets (合同履行期限: so many days, else a year's
    contract), to the standard of the procurement documents; a land tender's bid the development period its notice
    sets (竣工期限), to the planning conditions."""
    if "duration_days" in row:
        return {"total_price_fen": row["price_fen"], "duration_days": row["duration_days"], "quality": row["quality"]}
    if spec.trade_kind == "land":
        return {
            "total_price_fen": row["price_fen"],
            "duration_days": LAND_BUILD_DAYS,
            "quality": "符合出让文件规划条件",
        }
    days = re.search(r"合同履行期限：[^\n]*?(\d+)日内", spec.notices[0].body)
    return {
        "total_price_fen": row["price_fen"],
        "duration_days": int(days.group(1)) if days else 365,
        "quality": "符合采购文件要求",
    }


async def before_deadline(
    bidding: Bidding,
    staff: Person,
    sections: dict[str, int],
    orgs: dict[str, int],
    records: list[NoticeSpec],
    spec: ProjectSpec,
) -> dict[str, dict[str, int]]:
    """For each section the world opens: the plan and the draw (from the experts of the trade's field), then every
    bid of its record, in the day before the deadline. Returns the bids' ids by section code and bidder key."""
    bids: dict[str, dict[str, int]] = {}
    for n, record in enumerate(records):
        (code,) = record.section_codes
        section_id, deadline = sections[code], deadline_of(record)
        async with bidding.sessionmaker() as session:
            act = bidding.act(staff, deadline - PLAN_BEFORE_DEADLINE + timedelta(minutes=n))
            await plans.set_plan(session, act, section_id, PLANS[spec.trade_kind])
            await draws.commit(session, act, section_id, ev.DrawIn(count=5, specialities=list(spec.specialities)), 5)
            await session.commit()
        rows = record.fields["bids"]
        bids[code] = {}
        for i, row in enumerate(rows):
            at = deadline - BID_SPACING * (len(rows) - i) + timedelta(minutes=3 * n)
            bidder = bidding.bidder(orgs[row["bidder_key"]])
            bids[code][row["bidder_key"]] = await submit_bid(bidding, bidder, section_id, price_form(row, spec), at)
    return bids


async def open_record(bidding: Bidding, staff: Person, section_id: int, record: NoticeSpec) -> None:
    """The ceremony, ending when the world's opening record is published; the panel is drawn half an hour on."""
    await open_section(bidding, staff, section_id, record.at - CEREMONY, record.at)
    async with bidding.sessionmaker() as session:
        await draws.run(session, bidding.act(staff, record.at + timedelta(minutes=30)), section_id)
        await session.commit()


def criteria_points(plan: ev.PlanIn, prices: list[tuple[int, int]]) -> dict[int, Decimal]:
    """The criteria points (summed over the *plan*'s criteria) for each ``(bid id, price)``, best first, that make
    the plan's totals rank the bids in exactly that order, each at least a point above the next."""
    formula = plans.formula_of(plans.plan_document(plan))
    price = scoring.price_scores([scoring.Bid(bid_id, fen) for bid_id, fen in prices], formula)
    points: dict[int, Decimal] = {}
    below: Decimal | None = None
    for bid_id, _fen in reversed(prices):
        wanted = Decimal(1) if below is None else max(Decimal(1), below + 1 - price[bid_id])
        points[bid_id] = wanted.quantize(TENTH, rounding=ROUND_CEILING)
        below = price[bid_id] + points[bid_id]
    best = prices[0][0]
    room = min(_criteria_full(plan) - p for p in points.values())
    lift = max(Decimal(0), min(room, TOP_TOTAL - price[best] - points[best])).quantize(TENTH, rounding=ROUND_FLOOR)
    return {bid_id: p + lift for bid_id, p in points.items()}


def _criteria_full(plan: ev.PlanIn) -> Decimal:
    return sum((c.max_points for c in plan.criteria), Decimal(0))


def sheet_scores(plan: ev.PlanIn, total: Decimal) -> dict[str, Decimal]:
    """*total* points (at most the sum of the *plan*'s criteria) shared over its criteria in proportion to their
    maxima, to a tenth of a point; what rounding leaves goes to the criteria with room for it."""
    full = _criteria_full(plan)
    scores = {c.key: (total * c.max_points / full).quantize(TENTH, rounding=ROUND_FLOOR) for c in plan.criteria}
    for c in plan.criteria:
        left = total - sum(scores.values())
        scores[c.key] += min(left, c.max_points - scores[c.key])
    return scores


async def evaluate(
    bidding: Bidding,
    staff: Person,
    section_id: int,
    record: NoticeSpec,
    ranked: list[str],
    bids: dict[str, int],
    at: datetime,
    trade_kind: str = "works",
) -> None:
    """Every evaluator on the panel scores every bid, by the plan of the *trade_kind*, so that the world's *ranked*
    bidders come first, in order (the others after them, the better price first: the cheaper for a purchase, the
    higher for a sale of land); the report follows at *at*."""
    plan = PLANS[trade_kind]
    prices = {row["bidder_key"]: row["price_fen"] for row in record.fields["bids"]}
    sign = -1 if trade_kind == "land" else 1
    rest = sorted((k for k in prices if k not in ranked), key=lambda k: (sign * prices[k], k))
    points = criteria_points(plan, [(bids[k], prices[k]) for k in [*ranked, *rest]])
    entries = [
        ev.SheetEntryIn(bid_id=bid_id, qualified=True, scores=sheet_scores(plan, p)) for bid_id, p in points.items()
    ]
    async with bidding.sessionmaker() as session:
        panel = await panel_experts(session, section_id)
        people = {
            p.id: p for p in await session.scalars(select(Person).where(Person.id.in_([e.person_id for e in panel])))
        }
    scored = record.at + timedelta(hours=1)
    for n, expert in enumerate(panel):
        async with bidding.sessionmaker() as session:
            await sheets.save(
                session,
                bidding.act(people[expert.person_id], scored + timedelta(minutes=20 * n)),
                section_id,
                ev.SheetIn(entries=sorted(entries, key=lambda e: e.bid_id), submit=True),
            )
            await session.commit()
    async with bidding.sessionmaker() as session:
        await reports.make(session, bidding.act(staff, at), section_id)
        await session.commit()


async def publish_candidates(
    bidding: Bidding, staff: Person, section_id: int, at: datetime, people: dict[int, dict[str, str]]
) -> None:
    """The report's candidates in publicity from *at* for three days, each with its project leader and
    certificate (*people*, by bid id)."""
    async with bidding.sessionmaker() as session:
        ranked = (await reports.report_of(session, section_id)).report["candidates"]
        await publicity.publish_candidates(
            session,
            bidding.act(staff, at),
            section_id,
            ev.PublicityIn(
                candidates=[
                    ev.PublicityCandidateIn(
                        bid_id=bid_id,
                        project_leader=people[bid_id]["leader"],
                        certificate=people[bid_id]["certificate"],
                        qualifications="满足招标文件规定的资格条件",
                    )
                    for bid_id in ranked
                ],
                days=3,
            ),
        )
        await session.commit()


def leaders(
    publicity_spec: NoticeSpec | None, bids: dict[str, int], contacts: dict[str, str]
) -> dict[int, dict[str, str]]:
    """Each bid's project leader and certificate, as the world's publicity names them; a bidder it does not name
    (a procurement, where the world publishes no candidates) puts forward its contact person."""
    named = {c["bidder_key"]: c for c in (publicity_spec.fields["candidates"] if publicity_spec else [])}
    return {
        bid_id: {
            "leader": named[key].get("project_leader", contacts[key]) if key in named else contacts[key],
            "certificate": named[key].get("certificate", "—") if key in named else "—",
        }
        for key, bid_id in bids.items()
    }


async def publish_result(bidding: Bidding, staff: Person, section_id: int, at: datetime) -> datetime:
    """The award to the first candidate once the publicity has run (at *at*, or as soon after as the rules
    allow); returns when it was published."""
    async with bidding.sessionmaker() as session:
        ends = datetime.fromisoformat((await publicity.publicity_view(session, section_id))["ends_at"])
    at = max(at, ends + timedelta(minutes=30))
    async with bidding.sessionmaker() as session:
        await award.publish_result(session, bidding.act(staff, at), section_id, ev.AwardIn())
        await session.commit()
    return at
