"""`trading verify` against the real app: passes untouched, and names each kind of tampering."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import delete, text

from tests.factories import build_world, published_tender
from trading.canonical import canonical_bytes
from trading.log import services
from trading.log.integrator import integrate_once
from trading.log.models import LogCheckpoint, LogEntry, LogNode
from trading.verify import verify_site

pytestmark = pytest.mark.asyncio


async def _site(app, client, clock, count=3):
    world = await build_world(app, clock.at)
    notices = []
    for _ in range(count):
        notices.append(await published_tender(client, world, clock.at))
        clock.advance(minutes=1)
    await integrate_once(app.state)
    return world, notices


async def _verify(client, tmp_path, clock):
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "state.json", now=clock.at)
    return report


async def _as_dba(app, *statements):
    """Someone with database rights, who can switch the append-only triggers off."""
    async with app.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE notice_versions DISABLE TRIGGER USER"))
        else:
            await conn.execute(text("DROP TRIGGER notice_versions_no_update"))
            await conn.execute(text("DROP TRIGGER notice_versions_no_delete"))
        for statement in statements:
            await conn.execute(statement if not isinstance(statement, str) else text(statement))
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE notice_versions ENABLE TRIGGER USER"))


async def test_an_untouched_site_verifies(app, client, clock, tmp_path):
    await _site(app, client, clock)
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()
    assert (report.notices, report.versions, report.tree_size) == (3, 3, 3)
    assert "核验通过" in report.summary()
    again = await _verify(client, tmp_path, clock)  # and again, now checking consistency with the saved checkpoint
    assert again.ok, again.summary()


async def test_editing_a_published_notice_in_the_database_is_caught(app, client, clock, tmp_path):
    _, notices = await _site(app, client, clock)
    await _as_dba(app, f"UPDATE notices SET body = '篡改后的正文' WHERE id = {notices[1]['id']}")
    report = await _verify(client, tmp_path, clock)
    assert not report.ok
    assert [p["code"] for p in report.problems] == ["text_altered"]
    assert f"/notices/{notices[1]['id']}" in report.problems[0]["where"]


async def test_rewriting_a_published_version_and_its_hash_is_caught_by_the_log(app, client, clock, tmp_path):
    _, notices = await _site(app, client, clock)
    target = notices[0]["id"]
    doc = canonical_bytes({"notice_id": target, "title": "悄悄改过的公告"})
    await _as_dba(
        app,
        text("UPDATE notice_versions SET document = :d, content_hash = :h WHERE notice_id = :n").bindparams(
            d=doc, h=hashlib.sha256(doc).hexdigest(), n=target
        ),
    )
    report = await _verify(client, tmp_path, clock)
    codes = {p["code"] for p in report.problems}
    assert "hash_mismatch" in codes
    assert any(f"/notices/{target}" in p["where"] for p in report.problems)


async def test_a_version_published_behind_the_logs_back_is_caught(app, client, clock, tmp_path):
    world, _ = await _site(app, client, clock)
    sneaked = await published_tender(client, world, clock.at)
    async with app.state.sessionmaker() as s:  # its log entry never made it into the log
        await s.execute(delete(LogEntry).where(LogEntry.event_key == f"notice:{sneaked['id']}:v1"))
        await s.commit()
    await integrate_once(app.state)
    # Within the stated maximum merge delay it could still be on its way: pending, not a failure...
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()
    assert [p["where"] for p in report.pending] == [f"/notices/{sneaked['id']} v1"]
    assert "pending" in report.summary() and "60 s" in report.summary()
    # ...and once it is older than that, it is missing.
    clock.advance(seconds=61)
    report = await _verify(client, tmp_path, clock)
    assert [(p["code"], p["where"]) for p in report.problems] == [("not_in_log", f"/notices/{sneaked['id']} v1")]
    assert report.pending == []
    assert "maximum merge delay" in report.problems[0]["what"]


async def test_a_version_published_after_the_last_checkpoint_is_pending_until_integrated(app, client, clock, tmp_path):
    world, _ = await _site(app, client, clock)
    late = await published_tender(client, world, clock.at)  # no integration round since
    clock.advance(seconds=30)
    report = await _verify(client, tmp_path, clock)
    assert report.ok and [p["where"] for p in report.pending] == [f"/notices/{late['id']} v1"], report.summary()
    await integrate_once(app.state)
    clock.advance(minutes=10)
    report = await _verify(client, tmp_path, clock)
    assert report.ok and report.pending == [], report.summary()


async def test_the_log_states_its_maximum_merge_delay_and_the_verifier_keeps_it_short(
    app, client, clock, tmp_path, settings
):
    import httpx
    import msgspec

    info = (await client.get("/log/info")).json()
    assert info["max_merge_delay_seconds"] == 60 and info["origin"] == settings.log_origin
    assert info["vkey"] == (await client.get("/log/key")).text.strip()
    # The platform never promises more than a verifier accepts ...
    for delay in (0, 3601, 86400):
        with pytest.raises(ValueError, match="log_max_merge_delay"):
            msgspec.structs.replace(settings, log_max_merge_delay=delay)
    # ... and a site that states a day-long delay all the same cannot keep a dropped version pending for a day.
    world, _ = await _site(app, client, clock)
    sneaked = await published_tender(client, world, clock.at)
    async with app.state.sessionmaker() as s:
        await s.execute(delete(LogEntry).where(LogEntry.event_key == f"notice:{sneaked['id']}:v1"))
        await s.commit()
    clock.advance(hours=2)

    class StatesADay(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if request.url.path != "/log/info":
                return response
            stated = json.loads(await response.aread()) | {"max_merge_delay_seconds": 86400}
            return httpx.Response(200, json=stated)

    async with httpx.AsyncClient(transport=StatesADay(), base_url="http://t") as c:
        report, _ = await verify_site(c, url="http://lax", state_path=tmp_path / "lax.json", now=clock.at)
    assert report.max_merge_delay_seconds == 3600
    assert [p["code"] for p in report.problems] == ["not_in_log"]


async def test_rewriting_the_log_tail_is_a_split_view(app, client, clock, tmp_path):
    await _site(app, client, clock)
    assert (await _verify(client, tmp_path, clock)).ok
    # The operator rewrites history: rebuilds the tree with the last entry replaced by another one,
    # and signs it with the platform's own key. Same size, different root.
    async with app.state.sessionmaker() as s:
        await s.execute(delete(LogEntry).where(LogEntry.leaf_index == 2))
        await s.execute(delete(LogNode))
        await s.execute(delete(LogCheckpoint))
        await s.execute(text("UPDATE log_entries SET leaf_index = NULL, leaf_hash = NULL"))
        await s.execute(text("UPDATE counters SET value = 0 WHERE name = 'log_size'"))
        await services.append(s, event_key="forged", kind="test", document={"forged": True}, at=clock.at)
        await s.commit()
    await integrate_once(app.state)
    report = await _verify(client, tmp_path, clock)
    [forked] = [p for p in report.problems if p["code"] in {"split_view", "inconsistent"}]
    assert "日志出现分叉" in forked["what"] and "the log forked" in forked["what"], forked
    assert "3 条记录" in forked["what"] and "both have 3 entries" in forked["what"], forked
    assert str(tmp_path / "state.json") in forked["what"]


async def test_a_shrunken_log_is_a_rollback(app, client, clock, tmp_path):
    world, _ = await _site(app, client, clock, count=2)  # checkpoint at size 2
    await published_tender(client, world, clock.at)
    await integrate_once(app.state)  # and at size 3
    assert (await _verify(client, tmp_path, clock)).ok
    async with app.state.sessionmaker() as s:
        await s.execute(delete(LogCheckpoint).where(LogCheckpoint.size == 3))
        await s.commit()
    report = await _verify(client, tmp_path, clock)
    [rollback] = [p for p in report.problems if p["code"] == "rollback"]
    assert "日志被回滚" in rollback["what"] and "the log was rolled back" in rollback["what"], rollback
    assert "has 3 entries, the one served now 2" in rollback["what"], rollback
    assert str(tmp_path / "state.json") in rollback["what"]
    assert "FAILED" in report.summary()


async def test_a_changed_log_key_is_refused(app, client, clock, tmp_path):
    await _site(app, client, clock)
    report, _ = await verify_site(
        client,
        url="http://site",
        state_path=tmp_path / "s.json",
        now=clock.at,
        pinned_key="someone+01020304+AQ" + "A" * 42,
    )
    assert [p["code"] for p in report.problems] == ["key_mismatch"]


async def test_a_log_stating_two_keys_is_refused(app, client, clock, tmp_path):
    """/log/key and /log/info's vkey are one key published twice: a site serving two is named, whichever."""
    import json

    from tests.cleanroom.tampering import tampered_site

    await _site(app, client, clock)

    def other_key(request, status, body):
        if request.url.path == "/log/info":
            return status, json.dumps({**json.loads(body), "vkey": "someone+01020304+AQ" + "A" * 42}).encode()
        return status, body

    async with tampered_site(app, other_key) as site:
        report, _ = await verify_site(site, url="http://site", state_path=tmp_path / "s.json", now=clock.at)
    assert [(p["code"], p["where"]) for p in report.problems] == [("key_mismatch", "/log/info")]


async def test_a_registered_witness_cosigns_and_the_cosignature_is_served(app, client, clock, tmp_path, settings):
    import httpx
    import msgspec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from trading.app import create_app
    from trading.log.note import Cosigner

    key = Ed25519PrivateKey.generate()
    witness = Cosigner("witness.supervision.hunan.example", key)
    witnessed = create_app(msgspec.structs.replace(settings, witness_keys=witness.vkey), clock=clock)
    await _site(witnessed, client, clock)  # data via the shared database
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=witnessed), base_url="http://t") as c:
        report, seen = await verify_site(c, url="http://w", state_path=tmp_path / "w.json", now=clock.at)
        assert report.ok, report.summary()
        line = witness.cosign(seen["body"], 1_790_000_000)
        r = await c.post("/log/witness", json={"size": seen["checkpoint"].size, "cosignature": line})
        assert r.status_code == 201, r.text
        served = (await c.get("/log/checkpoint")).text
        assert line.strip() in served
        forged = Cosigner("witness.supervision.hunan.example", Ed25519PrivateKey.generate()).cosign(seen["body"], 1)
        r = await c.post("/log/witness", json={"size": seen["checkpoint"].size, "cosignature": forged})
        assert r.status_code == 403
    await witnessed.state.engine.dispose()


async def test_entries_off_their_canonical_form_or_their_kinds_fields_are_named(app, client, clock, tmp_path):
    """log.md §1 and §4: one document has one byte string, and a known kind exactly its fields. An entry the
    platform wrote otherwise (here straight into the table, then integrated and signed as usual) could say one
    thing to one reader and another to the next, or carry what its kind does not publish."""
    await _site(app, client, clock, count=1)
    spaced = b'{"commitment": "00", "kind": "bid_event", "section_tag": "11"}'
    extra = b'{"commitment":"00","kind":"bid_event","note":"x","section_tag":"22"}'
    later = b'{"kind":"auction_offer","lot":1}'  # a kind from a later version: accepted
    async with app.state.sessionmaker() as s:
        for i, data in enumerate((spaced, extra, later)):
            s.add(LogEntry(event_key=f"odd:{i}", kind="bid_event", data=data, created_at=clock.at))
        await s.commit()
    await integrate_once(app.state)
    report = await _verify(client, tmp_path, clock)
    assert sorted(p["code"] for p in report.problems) == ["entry_fields", "entry_not_canonical"], report.summary()
    assert "log entry 1" in report.summary() and "log entry 2" in report.summary()
