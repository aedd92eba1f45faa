"""What the reliability tests share: a market to storm, a storm of bidders that keep what the server answered
(receipts), and the checks that nothing receipted was lost and nothing half-stored is counted. The real
`trading serve` they kill and restart is tests/processes.py's TradingServe. Traffic goes to 127.0.0.1 only;
every loop is bounded in count and time."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.bidding.harness import Bidder, Section, begin, make_bidder, open_section, seal
from tests.factories import build_world
from trading.projects.models import Section as SectionRow

NAMES = "湖南{}建设工程有限公司"


@dataclass
class Market:
    world: Any
    section: Section
    bidders: list[Bidder]


async def market(app, client, clock, count: int, *, deadline_in: float = 3600) -> Market:
    """A tender arranged through the app in-process, at a past moment so its periods hold, whose deadline is
    then moved to *deadline_in* seconds from now (the servers run on the database's clock), and *count*
    bidders with registered keys."""
    from datetime import UTC, datetime, timedelta

    clock.set(datetime.now(UTC) - timedelta(days=30))
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, k=2)
    bidders = [await make_bidder(app, client, clock.at, n + 1, NAMES.format(n + 1)) for n in range(count)]
    await move_deadline(app, section, deadline_in)
    return Market(world, section, bidders)


async def move_deadline(app, section: Section, seconds: float) -> None:
    from datetime import UTC, datetime, timedelta

    async with app.state.sessionmaker() as s:
        await s.execute(
            update(SectionRow)
            .where(SectionRow.id == section.id)
            .values(deadline_at=datetime.now(UTC) + timedelta(seconds=seconds))
        )
        await s.commit()


async def bidding_closed(url: str, section: Section) -> None:
    """Wait until the served platform says *section* takes no more bids (its clock is the database's)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(400):
            if not (await http.get(f"/api/sections/{section.id}/bidding")).json()["accepts_bids"]:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"section {section.id} still takes bids 20 s after its deadline was moved")


@dataclass
class Outcome:
    """What one bidder's client holds after a storm."""

    manifest_sha256: str
    receipt: dict[str, Any] | None = None
    statuses: list[int] = field(default_factory=list)  # every HTTP status seen (0: no answer)
    retry_after: list[str | None] = field(default_factory=list)  # the Retry-After of each 503


async def submit_holding_on(client: httpx.AsyncClient, bidder: Bidder, section: Section, path: Path) -> Outcome:
    """One bidder's submission as `bidding submit` makes it, stopping at the first step that does not succeed
    (the server died, or refused for now); the receipt is kept only if the server gave one."""
    from tests.bidding.harness import ciphertexts, manifest_sha256_of

    outcome = Outcome(manifest_sha256_of(path))

    async def step(coro) -> httpx.Response | None:
        try:
            r = await coro
        except httpx.HTTPError:
            outcome.statuses.append(0)
            return None
        outcome.statuses.append(r.status_code)
        if r.status_code == 503:
            outcome.retry_after.append(r.headers.get("retry-after"))
        return r if r.status_code < 300 else None

    r = await step(begin(client, bidder, section, path))
    if r is None:
        return outcome
    upload_id = r.json()["upload_id"]
    for envelope, data in ciphertexts(path).items():
        put = client.put(
            f"/api/uploads/{upload_id}/{envelope}", params={"offset": 0}, content=data, headers=bidder.headers
        )
        if await step(put) is None:
            return outcome
    r = await step(client.post(f"/api/uploads/{upload_id}/complete", headers=bidder.headers))
    if r is not None:
        outcome.receipt = r.json()["receipt"]
    return outcome


def seal_round(market: Market, tmp: Path, round_no: int) -> list[Path]:
    """A fresh sealed bid for each bidder (a new price each round: a later bid replaces the earlier)."""
    return [
        seal(
            market.section,
            b,
            tmp / f"round{round_no}",
            price=4_000_000_000 + round_no * 1_000_000 + n,
            documents={"技术标.txt": os.urandom(2048).hex().encode()},
        )
        for n, b in enumerate(market.bidders)
    ]


@dataclass
class Audit:
    receipts: int
    bids: int
    half_stored: int
    lost: list[str]
    unlogged: list[str]


async def audit(app, section_id: int, receipted: set[str]) -> Audit:
    """After a restart: every receipted bid is a row whose ciphertexts are whole in the store and whose log
    entry is there; no bid row lacks a whole ciphertext (nothing half-stored counted)."""
    from bidding.models import Bid
    from trading.log.models import LogEntry

    store = app.state.blobs
    async with app.state.sessionmaker() as s:
        bids = list(await s.scalars(select(Bid).where(Bid.section_id == section_id)))
        keys = set(await s.scalars(select(LogEntry.event_key).where(LogEntry.event_key.like("bid:%"))))
    half = 0
    for bid in bids:
        for blob in bid.blobs.values():
            try:
                data = await store.read_bytes(blob["sha256"], int(blob["size"]))
            except (FileNotFoundError, OSError):
                half += 1
                continue
            if hashlib.sha256(data).hexdigest() != blob["sha256"] or len(data) != int(blob["size"]):
                half += 1
    stored = {b.manifest_sha256 for b in bids}
    return Audit(
        receipts=len(receipted),
        bids=len(bids),
        half_stored=half,
        lost=sorted(receipted - stored),
        unlogged=sorted(m for m in receipted if f"bid:{m}" not in keys),
    )


async def storm(
    url: str, market: Market, paths: list[Path], *, concurrency: int = 25, order: list[int] | None = None
) -> list[Outcome]:
    """Every bidder submits its bid in *paths*, *concurrency* at a time, in *order* (default: as listed)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(20, connect=3), limits=limits) as client:

        async def one(i: int) -> Outcome:
            async with gate:
                return await submit_holding_on(client, market.bidders[i], market.section, paths[i])

        return list(await asyncio.gather(*(one(i) for i in (order or range(len(paths))))))


async def active_bids(app, section_id: int) -> set[str]:
    from bidding.models import Bid

    async with app.state.sessionmaker() as s:
        return set(
            await s.scalars(select(Bid.manifest_sha256).where(Bid.section_id == section_id, Bid.state == "active"))
        )
