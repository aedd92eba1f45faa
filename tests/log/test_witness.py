"""The witness (`trading witness run`): cosigns only checkpoints that extend the one it cosigned last, and
`trading verify --witness` requires a valid cosignature on a prefix of the log it checked."""

from __future__ import annotations

import json

import httpx
import msgspec
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import build_world, published_tender
from trading.app import create_app
from trading.log.integrator import integrate_once
from trading.log.note import Cosigner
from trading.verify import verify_site
from trading.witness import witness_once

pytestmark = pytest.mark.asyncio

NAME = "witness.supervision.hunan.example"


@pytest.fixture
def witness():
    return Cosigner(NAME, Ed25519PrivateKey.generate())


@pytest_asyncio.fixture
async def witnessed(settings, clock, witness):
    """The platform with the witness registered (same database as the `app` fixture)."""
    app = create_app(msgspec.structs.replace(settings, witness_keys=witness.vkey), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as c:
        yield c
    await app.state.engine.dispose()


async def _publish(app, client, clock, world, count=1):
    for _ in range(count):
        await published_tender(client, world, clock.at)
        clock.advance(minutes=1)
    await integrate_once(app.state)


async def test_the_witness_cosigns_each_new_checkpoint_and_verify_requires_it(
    app, client, clock, tmp_path, witness, witnessed
):
    world = await build_world(app, clock.at)
    await _publish(app, client, clock, world)
    state = tmp_path / "witness.json"
    first = await witness_once(witnessed, witness, state, now=lambda: int(clock.at.timestamp()))
    assert first.ok and first.size >= 1, first.message
    again = await witness_once(witnessed, witness, state, now=lambda: int(clock.at.timestamp()) + 1)
    assert again.ok and "already" in again.message
    await _publish(app, client, clock, world, count=2)
    second = await witness_once(witnessed, witness, state, now=lambda: int(clock.at.timestamp()))
    assert second.ok and second.size > first.size, second.message
    served = (await witnessed.get("/log/checkpoint")).text
    assert f"— {NAME} " in served

    report, _ = await verify_site(
        witnessed, url="http://w", state_path=tmp_path / "v.json", now=clock.at, witnesses=[witness.vkey]
    )
    assert report.ok, report.summary()
    assert report.witnessed == [{"witness": NAME, "size": second.size, "timestamp": int(clock.at.timestamp())}]
    assert f"witnessed by {NAME}" in report.summary()

    stranger = Cosigner("witness.other.example", Ed25519PrivateKey.generate())
    report, _ = await verify_site(
        witnessed, url="http://w", state_path=tmp_path / "v2.json", now=clock.at, witnesses=[stranger.vkey]
    )
    assert [p["code"] for p in report.problems] == ["not_witnessed"]


async def test_the_witness_refuses_a_rewritten_history_and_stays_refusing(
    app, client, clock, tmp_path, witness, witnessed
):
    world = await build_world(app, clock.at)
    await _publish(app, client, clock, world, count=2)
    state = tmp_path / "witness.json"
    assert (await witness_once(witnessed, witness, state, now=lambda: 1)).ok
    # The witness remembers a different tree of the same size: as if the platform had shown it another log.
    saved = json.loads(state.read_text())
    saved["root"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    state.write_text(json.dumps(saved))
    refused = await witness_once(witnessed, witness, state, now=lambda: 2)
    assert not refused.ok and "两棵不同的树 / two different trees" in refused.message
    await _publish(app, client, clock, world)
    still = await witness_once(witnessed, witness, state, now=lambda: 3)
    assert not still.ok and "拒绝联署 / refusing to cosign" in still.message and "两棵不同的树" in still.message
    # A log that shrank is refused too, in both languages.
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({k: v for k, v in saved.items() if k != "refused"} | {"size": 10**6}))
    shrank = await witness_once(witnessed, witness, state, now=lambda: 4)
    assert not shrank.ok and "日志树缩小了 / the tree shrank: from 1000000" in shrank.message


async def test_a_witness_the_platform_does_not_know_cannot_cosign(app, client, clock, tmp_path, witness):
    world = await build_world(app, clock.at)
    await _publish(app, client, clock, world)
    result = await witness_once(client, witness, tmp_path / "w.json", now=lambda: 1)  # not in witness_keys
    assert not result.ok and "403" in result.message
    # …and the API document says so: a public route, whose 403 is for the witnesses it does not know.
    spec = (await client.get("/schema/openapi.json")).json()
    assert "403" in spec["paths"]["/log/witness"]["post"]["responses"]
