"""The portal explains the log, shows the checkpoint and key, and links each version to its proof."""

from __future__ import annotations

import pytest

from tests.factories import build_world, published_tender
from trading.log.integrator import integrate_once

pytestmark = pytest.mark.asyncio


async def test_log_page_and_notice_proof_links(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    page = (await client.get(f"/notices/{notice['id']}")).text
    assert "正在记入日志" in page
    await integrate_once(app.state)
    page = (await client.get(f"/notices/{notice['id']}")).text
    assert "叶序号 0" in page
    assert "/log/proof/inclusion?index=0&amp;tree_size=1" in page
    proof = await client.get("/log/proof/inclusion", params={"index": 0, "tree_size": 1})
    assert proof.status_code == 200
    r = await client.get("/log")
    assert r.status_code == 200
    html = r.text
    assert "透明日志" in html and "trading verify" in html
    assert app.state.log_signer.vkey in html
    assert app.state.settings.log_origin in html  # the checkpoint itself, verbatim
