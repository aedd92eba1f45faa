"""The demo seed goes through the real services into both databases and gives a full portal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from notices.kinds import NOTICE_KINDS
from notices.models import Notice
from trading.demo.seed import seed_demo

pytestmark = pytest.mark.asyncio


async def test_demo_seed_fills_the_portal(app, client, settings, clock):
    today = datetime(2026, 11, 21, 3, tzinfo=UTC)
    clock.set(today)
    summary = await seed_demo(settings, today=today)
    assert "seeded" in summary
    async with app.state.sessionmaker() as s:
        published = await s.scalar(select(func.count()).select_from(Notice).where(Notice.status == "published"))
        kinds = set(await s.scalars(select(Notice.kind).distinct()))
    assert published >= 200
    assert kinds == set(NOTICE_KINDS)
    roads = (await client.get("/api/notices", params={"q": "道路", "limit": 100})).json()["items"]
    assert len(roads) >= 10
    assert sum("道路" in n["title"] for n in roads) >= 10
    open_now = (await client.get("/api/notices", params={"status": "open"})).json()["items"]
    assert open_now, "the demo should show trades open for bids"
    again = await seed_demo(settings, today=today)
    assert "跳过" in again  # seeding twice does nothing


async def test_trading_verify_passes_on_the_untouched_demo(app, client, settings, clock, tmp_path):
    from trading.log.integrator import integrate_once
    from trading.verify import verify_site

    today = datetime(2026, 11, 21, 3, tzinfo=UTC)
    clock.set(today)
    await seed_demo(settings, today=today)
    while await integrate_once(app.state) is not None and clock.at < today:
        pass
    await integrate_once(app.state)
    report, _ = await verify_site(client, url="http://demo", state_path=tmp_path / "state.json")
    assert report.ok, report.summary()
    assert report.notices >= 200 and report.offline_openings > 0
