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


async def test_the_log_page_names_each_witness_and_what_it_last_cosigned(app, client, clock, settings, tmp_path):
    import httpx
    import msgspec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from trading.app import create_app
    from trading.log.note import Cosigner
    from trading.witness import witness_once

    witness = Cosigner("witness.supervision.hunan.example", Ed25519PrivateKey.generate())
    witnessed = create_app(msgspec.structs.replace(settings, witness_keys=witness.vkey), clock=clock)
    world = await build_world(app, clock.at)
    await published_tender(client, world, clock.at)
    await integrate_once(app.state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=witnessed), base_url="http://w") as c:
        first = await c.get("/log")
        assert "witness.supervision.hunan.example" in first.text and "尚未副署" in first.text
        assert (await witness_once(c, witness, tmp_path / "w.json", now=lambda: int(clock.at.timestamp()))).ok
        # a cosignature changes the page, so a cached copy is not "still fresh"
        after = await c.get("/log", headers={"If-None-Match": first.headers["etag"]})
        page = after.text
    await witnessed.state.engine.dispose()
    assert "尚未副署" not in page and "/log/witnessed/witness.supervision.hunan.example" in page
    assert f"--witness {witness.vkey}" in page
    assert after.status_code == 200
