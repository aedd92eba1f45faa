"""The clean-room verifier against the seeded demo world: every opening record is a sealed opening it checks
from the published formats alone, with zero problems."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.cleanroom.verifier import verify
from tests.factories import integrate_all

pytestmark = pytest.mark.asyncio


async def test_the_demo_verifies_clean_among_its_sealed_openings(app, client, settings, clock):
    from tests.demo_snapshot import seeded_demo  # setup only

    clock.set(datetime(2026, 11, 21, 3, tzinfo=UTC))
    await seeded_demo(app, settings, clock)
    await integrate_all(app)
    report = await verify(client)
    print(report.summary())
    assert report.ok, report.summary()
    assert report.offline_openings == 0, report.summary()
    assert report.openings >= 60 and report.opened_bids >= 300, report.summary()
