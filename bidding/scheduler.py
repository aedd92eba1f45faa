"""Moving sections through their timetable at the right moment, on any number of workers.

The close is one conditional statement — ``UPDATE sections SET state = 'closed' WHERE state = 'tendering'
AND deadline_at <= now`` — so two workers can never both close a section, and a bid's own conditional
statement on the same row (bidding.submission) is ordered strictly before or after it. Uploads still open
at the close count as withdrawn (20号令 §27), and the files uploads left behind are removed. Reads check
the time themselves, so a late bid is refused even when no worker has run the close yet.

Each tick also makes the tag key of each section taking bids that has none yet (bidding.events), opens the
sections whose share window has ended with k openers in (bidding.opening), and flags to supervisors the awarded
sections still without a contract 30 days after the award (trading.funds.contracts) and the objection replies and
complaint decisions and rulings overdue (evaluation.overdue), once each however many workers run it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from litestar.datastructures import State
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import events, rulings
from bidding.hall import notify_hall
from bidding.models import Upload
from bidding.submission import discard_uploads
from evaluation.overdue import flag_overdue_answers
from trading import metrics
from trading.audit.services import record
from trading.funds.contracts import flag_overdue_contracts
from trading.log.integrator import background_sessions, repeat
from trading.projects.models import Section

log = logging.getLogger("trading.scheduler")


async def close_due_sections(session: AsyncSession, now: datetime) -> list[int]:
    """Close every tendering section whose deadline has passed; returns their ids. The caller commits."""
    due = (
        await session.execute(
            select(Section.id, Section.deadline_at)
            .where(Section.state == "tendering", Section.deadline_at <= now)
            .limit(100)
        )
    ).all()
    closed = []
    for section_id, deadline in due:
        claimed = await session.execute(
            update(Section)
            .where(Section.id == section_id, Section.state == "tendering", Section.deadline_at <= now)
            .values(state="closed")
        )
        if claimed.rowcount != 1:
            continue  # another worker closed it
        abandoned = await session.execute(
            update(Upload).where(Upload.section_id == section_id, Upload.state == "open").values(state="abandoned")
        )
        await record(
            session,
            actor=None,
            address="scheduler",
            at=now,
            action="section.close",
            subject_type="section",
            subject_id=section_id,
            before={"id": section_id, "state": "tendering"},
            after={"id": section_id, "state": "closed"},
            details={"uploads_abandoned": abandoned.rowcount},
        )
        closed.append(section_id)
        await notify_hall(session, section_id)
        # How late the close ran (a late close refuses nothing — reads check the time — but holds up the opening).
        metrics.SCHEDULER_LAG.observe(max(0.0, (now - deadline).total_seconds()))
    return closed


#: Seconds between a worker's looks for what awaits the supervisors. Those are due days or hours after an event
#: (a contract 30 days after the award, a reply in 3 days), and each look is three queries: run with the close,
#: four times a second on each worker, they were a twentieth of a worker's CPU in a deadline storm.
ALERTS_EVERY = 30.0


async def tick(state: State, *, alerts: bool = True) -> list[int]:
    """Close the sections whose deadline has passed (returned), open those whose share window has ended, and
    with *alerts* flag to the supervisors what awaits them (contracts, objection replies, complaint decisions and
    rulings overdue; disputed bids without a ruling)."""
    from bidding.opening import close_share_windows

    async with background_sessions(state)() as session:
        now = await state.clock.now(session)
        closed = await close_due_sections(session, now)
        keyed = await events.make_section_keys(session)
        if closed or keyed:
            await session.commit()
        if closed:
            # Nothing more can complete: the uploads' own files go (a bid's ciphertexts are in the store).
            uploads = list(await session.scalars(select(Upload.id).where(Upload.section_id.in_(closed))))
            await discard_uploads(state.blobs.uploads, uploads)
    # An opener who stays away delays the opening until the share window ends, no longer (docs/envelope.md §10.2).
    await close_share_windows(state, now)
    if not alerts:
        return closed
    # The supervisors' alerts, in a transaction of their own: a failure there never holds up a close or an opening.
    async with background_sessions(state)() as session:
        overdue = await flag_overdue_contracts(session, now)
        unanswered = await flag_overdue_answers(session, now)
        unruled = await rulings.flag_unruled(session, now)
        if overdue or unanswered or unruled:
            await session.commit()
    return closed


class Ticker:
    """A worker's ticks: each closes and opens what is due; the supervisors' alerts are looked for on the first
    and then every ALERTS_EVERY seconds."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._alerts_due = time.monotonic()

    async def __call__(self) -> list[int]:
        alerts = time.monotonic() >= self._alerts_due
        if alerts:
            self._alerts_due = time.monotonic() + ALERTS_EVERY
        return await tick(self.state, alerts=alerts)


async def run(state: State, stop: asyncio.Event) -> None:
    """Tick until *stop*, every ``log_interval`` (where the log's integrator runs on a thread of its own; else
    the integrator runs the tick before each of its rounds)."""
    await repeat(Ticker(state), stop, state.settings.log_interval, log, "scheduler tick failed")
