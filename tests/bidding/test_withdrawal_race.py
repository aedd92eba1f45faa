"""A bidder's withdrawal racing its own replacement bid (two of its staff, or a client retrying): one of the two
acts comes first and the other sees what it did. Either the withdrawal takes the bid that was active and the
replacement then stands as a new bid, or the replacement replaces it and the withdrawal — signed for the replaced
bid — is refused; never both (a withdrawn bid whose replacement is opened, with two end events in the log)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import select

from bidding.envelope import read_sealed_bid
from bidding.models import Bid
from tests.bidding.harness import make_bidder, open_section, seal, submit_file, withdraw
from tests.factories import build_world

pytestmark = pytest.mark.asyncio

#: Rounds, each a new bid withdrawn while its replacement comes in, the withdrawal starting a little later each
#: round (the replacement's checks take a few milliseconds before it commits).
ROUNDS = 12


async def test_a_withdrawal_racing_the_replacement_of_the_same_bid_never_ends_it_twice(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    price = 4_500_000_000
    first = seal(section, bidder, tmp_path / "0", price=price)
    assert (await submit_file(client, bidder, section, first)).status_code == 201
    current = hashlib.sha256(read_sealed_bid(first).manifest_bytes).hexdigest()
    seen = set()
    for n in range(1, ROUNDS + 1):
        replacement = seal(section, bidder, tmp_path / str(n), price=price + n)

        async def withdrawal(delay: float, manifest: str = current):
            await asyncio.sleep(delay)
            return await withdraw(client, bidder, section.id, manifest)

        sent, withdrawn = await asyncio.gather(
            submit_file(client, bidder, section, replacement), withdrawal(0.002 * (n % 6))
        )
        assert sent.status_code == 201, sent.text
        assert withdrawn.status_code in (200, 422), withdrawn.text
        new = hashlib.sha256(read_sealed_bid(replacement).manifest_bytes).hexdigest()
        async with app.state.sessionmaker() as s:
            old_bid = await s.scalar(select(Bid).where(Bid.manifest_sha256 == current))
            new_bid = await s.scalar(select(Bid).where(Bid.manifest_sha256 == new))
            active = (await s.scalars(select(Bid.id).where(Bid.section_id == section.id, Bid.state == "active"))).all()
        assert new_bid.state == "active" and active == [new_bid.id]
        if withdrawn.status_code == 200:  # the withdrawal came first: the replacement is a bid of its own
            assert old_bid.state == "withdrawn" and new_bid.event_details.get("replaces") is None, n
        else:  # the replacement came first: the withdrawal names a bid no longer active
            assert withdrawn.json()["error"]["code"] == "bad_withdrawal"
            assert old_bid.state == "replaced" and new_bid.event_details["replaces"] == current, n
        seen.add(withdrawn.status_code)
        current = new
    print(f"withdrawal first / replacement first: {sorted(seen)}")


async def test_a_withdrawal_for_a_section_that_does_not_exist_is_a_404(app, client, clock):
    """The withdrawal takes the section's lock before it reads anything: a section that is not there is said so."""
    world = await build_world(app, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    r = await client.post(
        "/api/sections/238695965278378/bids/mine/withdraw",
        headers=bidder.headers,
        json={"withdrawal": "AAAA", "signature": "AAAA"},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "section_not_found", r.text
    assert world  # (the world holds the bidder's centre and organisation)
