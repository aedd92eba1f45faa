"""The clean-room verifier against the seeded demo world (seeded as tests/demo/test_seed.py does)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.cleanroom.verifier import verify
from tests.factories import integrate_all

pytestmark = pytest.mark.asyncio


async def test_the_demo_verifies_clean_among_its_sealed_openings(app, client, settings, clock):
    from trading.demo.seed import seed_demo  # setup only

    clock.set(datetime(2026, 11, 21, 3, tzinfo=UTC))
    await seed_demo(settings, clock=clock)
    await integrate_all(app)
    report = await verify(client)
    print(report.summary())
    assert report.ok, report.summary()
    assert report.openings >= 1 and report.opened_bids >= 3
    # The demo's older records are "offline" (fields.source == "offline": bids typed in, nothing sealed); they
    # are counted apart and checked no further (57 beside 4 sealed ones when this was written; another change
    # is turning them into sealed openings, so no count is pinned). Zero problems is asserted above for all.
    assert report.openings + report.offline_openings >= 4, report.summary()
