"""The evaluation panel reads the bids' documents (评标委员会查阅投标文件), on both databases: the openers release
the documents shares at the opening, the keys are rebuilt then and never published; only the section's drawn
panel reads, after the opening, every read is in the audit trail for staff and supervisors, and a bid whose
documents key could not be rebuilt is refused with the reason and whose fault it is."""

from __future__ import annotations

import base64
import io
import os
import tarfile
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bidding import scheduler
from bidding.envelope import seal as sealing
from bidding.envelope.documents import documents_tar_bytes
from bidding.models import DocumentKey, OpeningResult
from bidding.opening import SHARE_WINDOW
from tests.bidding.harness import (
    Section,
    make_bidder,
    make_openers,
    open_all,
    open_as,
    open_section,
    opening_record,
    refused,
    seal,
    start_opening,
    submit,
    submit_file,
)
from tests.evaluation.harness import evaluator_account
from tests.factories import World, build_world

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000]
NAMES = ["湖南建工集团有限公司", "中建五局第三建设有限公司", "湖南省第六工程有限公司"]
SLUGS = {"市政": "shizheng", "水利": "shuili"}


def documents_of(n: int) -> dict[str, bytes]:
    """A bidder's files: text, a binary of several AEAD chunks, and a file in a sub-folder."""
    return {
        "商务标/投标函.txt": f"投标函：我方{NAMES[n]}愿以投标报价承包本工程。\n".encode() * 20,
        "技术标/施工组织设计.pdf": b"%PDF-1.7\n" + os.urandom(150_000 + n),
        "资格审查/营业执照.jpg": b"\xff\xd8\xff\xe0" + os.urandom(3_000),
    }


async def _pool(client, world: World, speciality: str, count: int = 6) -> dict[int, dict[str, str]]:
    """Experts of one speciality, each with an evaluator account: expert id → the account's headers."""
    pool = {}
    for n in range(count):
        username = f"pingbiao.{SLUGS[speciality]}{n:02d}"
        person_id, headers = await evaluator_account(client, world, username, f"专家{username[-2:]}")
        r = await client.post(
            "/api/experts",
            headers=world.headers("expert_keeper"),
            json={
                "name": f"{speciality}专家{n}",
                "specialities": [speciality],
                "region_code": "430700",
                "organisation_name": "湖南大学",
                "person_id": person_id,
            },
        )
        assert r.status_code == 201, r.text
        pool[r.json()["id"]] = headers
    return pool


async def _sections(app, client, clock, tmp_path, specialities: list[str]):
    """Sections with three sealed bids each (the same bidders), and a draw committed before the deadline from a
    pool of its own speciality."""
    world = await build_world(app, clock.at)
    openers = await make_openers(app, client, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(3)]
    sections, pools, sealed = [], [], {}
    for speciality in specialities:
        section = await open_section(app, client, world, clock.at, openers=openers)
        for i, bidder in enumerate(bidders):
            files = documents_of(i)
            path = seal(section, bidder, tmp_path / str(section.id), price=PRICES[i], documents=files)
            # In pieces, and whole: on PostgreSQL a later bid sent whole keeps its ciphertexts in the database
            # (trading.blobs.inline), and the panel reads them from there.
            r = await (submit_file if i % 2 else submit)(client, bidder, section, path)
            assert r.status_code == 201, r.text
            sealed[r.json()["bid_id"]] = files
        pools.append(await _pool(client, world, speciality))
        r = await client.post(
            f"/api/sections/{section.id}/expert-draw",
            headers=world.headers("staff"),
            json={"count": 5, "specialities": [speciality]},
        )
        assert r.status_code == 201, r.text
        sections.append(section)
    return world, sections, pools, bidders, sealed


async def _open(client, world: World, section: Section) -> None:
    """Staff start the opening; two of the three openers upload their price and documents shares."""
    r = await start_opening(client, world, section)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)


async def _draw(client, world: World, section: Section) -> list[int]:
    r = await client.post(f"/api/sections/{section.id}/expert-draw/run", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    panel = await client.get(f"/api/sections/{section.id}/expert-draw/panel", headers=world.headers("staff"))
    return [p["expert_id"] for p in panel.json()]


async def _document_keys(app, section_id: int) -> dict[int, DocumentKey]:
    async with app.state.sessionmaker() as s:
        return {k.bid_id: k for k in await s.scalars(select(DocumentKey).where(DocumentKey.section_id == section_id))}


def _secret_forms(key: bytes) -> list[str]:
    return [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode().rstrip("="), key.hex()]


async def test_the_panel_reads_what_each_bidder_sealed_and_every_read_is_in_the_log(
    app, client, clock, tmp_path, caplog
):
    world, (section, other), (pool, other_pool), bidders, sealed = await _sections(
        app, client, clock, tmp_path, ["市政", "水利"]
    )
    url = f"/api/sections/{section.id}/evaluation"
    candidate = next(iter(pool.values()))
    seen: list[Any] = []  # every response, to search for the documents keys at the end

    # Before the opening, and after it until the panel is drawn, there is no panel to be on.
    refused(await client.get(url + "/bids", headers=candidate), 403, "not_on_panel")
    clock.set(max(section.deadline, other.deadline) + timedelta(minutes=1))
    await _open(client, world, section)
    await _open(client, world, other)
    refused(await client.get(url + "/bids", headers=candidate), 403, "not_on_panel")
    bid_ids = sorted(sealed)[:3]
    refused(await client.get(f"{url}/bids/{bid_ids[0]}/documents", headers=candidate), 403, "not_on_panel")
    drawn = await _draw(client, world, section)
    other_drawn = await _draw(client, world, other)
    member = pool[drawn[0]]
    not_drawn = next(headers for expert_id, headers in pool.items() if expert_id not in drawn)

    # The list of bids under evaluation: the bidders, their opening forms, their documents ready to read.
    r = await client.get(url + "/bids", headers=member)
    assert r.status_code == 200, r.text
    seen.append(r)
    listed = r.json()
    assert [b["bid_id"] for b in listed] == bid_ids
    assert [b["bidder"] for b in listed] == NAMES
    assert [b["bidder_credit_code"] for b in listed] == [b.credit_code for b in bidders]
    assert [b["form"]["total_price_fen"] for b in listed] == PRICES
    assert {(b["documents_outcome"], b["documents_reason"], b["documents_fault"]) for b in listed} == {
        ("opened", "", "")
    }
    assert all(b["documents_ciphertext_size"] > 150_000 for b in listed)

    # The whole documents: the very tar the bidder's client sealed, as a download.
    bid_id = bid_ids[1]
    r = await client.get(f"{url}/bids/{bid_id}/documents", headers=member)
    assert r.status_code == 200, r.text
    seen.append(r)
    assert r.headers["content-type"] == "application/x-tar"
    assert f'filename="bid-{bid_id}-documents.tar"' in r.headers["content-disposition"]
    assert r.content == documents_tar_bytes(sealed[bid_id].items())
    assert int(r.headers["content-length"]) == len(r.content)
    with tarfile.open(fileobj=io.BytesIO(r.content)) as archive:
        assert {m.name: archive.extractfile(m).read() for m in archive} == sealed[bid_id]

    # One file of it, parsed out as the plaintext passes; a name that is not there is a 404.
    name = "技术标/施工组织设计.pdf"
    r = await client.get(f"{url}/bids/{bid_id}/documents", headers=member, params={"file": name})
    assert r.status_code == 200, r.text
    seen.append(r)
    assert r.content == sealed[bid_id][name]
    assert r.headers["content-type"] == "application/octet-stream"
    assert (
        "filename*=UTF-8''%E6%96%BD%E5%B7%A5%E7%BB%84%E7%BB%87%E8%AE%BE%E8%AE%A1.pdf"
        in r.headers["content-disposition"]
    )
    refused(
        await client.get(f"{url}/bids/{bid_id}/documents", headers=member, params={"file": "技术标/不存在.pdf"}),
        404,
        "file_not_found",
    )

    # The index: every file's name and size.
    r = await client.get(f"{url}/bids/{bid_ids[2]}/documents/index", headers=member)
    assert r.status_code == 200, r.text
    seen.append(r)
    assert r.json() == {
        "bid_id": bid_ids[2],
        "files": [{"name": n, "size": len(d)} for n, d in sorted(sealed[bid_ids[2]].items())],
    }

    # Refused: a bid of another section through this one, and everyone but this section's panel.
    refused(await client.get(f"{url}/bids/{max(sealed)}/documents", headers=member), 404, "bid_not_found")
    someone_elses = other_pool[other_drawn[0]]
    for headers, status, code in [
        (someone_elses, 403, "not_on_panel"),  # on the other section's panel
        (not_drawn, 403, "not_on_panel"),  # in the pool, not drawn
        (world.headers("evaluator"), 403, "not_on_panel"),  # an evaluator who is no expert of the pool
        (world.headers("bidder"), 403, "wrong_role"),
        ({"Authorization": f"Bearer {bidders[1].token}"}, 403, "wrong_role"),  # the bid's own bidder
        (world.headers("staff"), 403, "wrong_role"),
        (world.headers("supervisor"), 403, "wrong_role"),
        (world.headers("opener"), 403, "wrong_role"),
        ({}, 401, "not_authenticated"),  # the public
    ]:
        for path in ("/bids", f"/bids/{bid_id}/documents", f"/bids/{bid_id}/documents/index"):
            seen.append(refused(await client.get(url + path, headers=headers), status, code))
    # The other section's panel reads its own section's documents, not this one's.
    r = await client.get(f"/api/sections/{other.id}/evaluation/bids", headers=someone_elses)
    assert r.status_code == 200 and [b["bidder"] for b in r.json()] == NAMES

    # The reads, from the audit trail: for the centre's staff and the supervisors, not the panel or others.
    r = await client.get(url + "/reads", headers=world.headers("supervisor"))
    assert r.status_code == 200, r.text
    seen.append(r)
    reads = r.json()
    assert [(x["bid_id"], x["read"], x["file"]) for x in reads] == [
        (bid_id, "whole", None),
        (bid_id, "file", name),
        (bid_ids[2], "index", None),
    ]
    assert {x["expert_id"] for x in reads} == {drawn[0]}
    assert {x["bidder"] for x in reads} == {NAMES[1], NAMES[2]}
    assert all(x["reader"].startswith("专家") and x["person_id"] for x in reads)
    assert (await client.get(url + "/reads", headers=world.headers("staff"))).json() == reads
    refused(await client.get(url + "/reads", headers=world.headers("other_staff")), 403, "other_centre")
    refused(await client.get(url + "/reads", headers=member), 403, "wrong_role")
    refused(await client.get(url + "/reads", headers=world.headers("bidder")), 403, "wrong_role")
    refused(await client.get(url + "/reads"), 401, "not_authenticated")
    assert (await client.get(f"/api/sections/{other.id}/evaluation/reads", headers=world.headers("staff"))).json() == []

    # The documents keys were rebuilt at the opening, and are nowhere public: not in the opening record (which
    # carries the price keys), its status, the audit trail, any answer above, nor the log output.
    keys = await _document_keys(app, section.id)
    assert sorted(keys) == bid_ids and all(k.outcome == "opened" and len(k.data_key) == 32 for k in keys.values())
    record = await opening_record(client, section)
    async with app.state.sessionmaker() as s:
        price_keys = [
            r.data_key for r in await s.scalars(select(OpeningResult).where(OpeningResult.section_id == section.id))
        ]
    assert {b["price_key"] for b in record["fields"]["bids"]} == {base64.b64encode(k).decode() for k in price_keys}
    texts = [str(record), (await client.get(f"/api/sections/{section.id}/opening")).text, caplog.text]
    texts += [(await client.get("/api/audit", headers=world.headers(who))).text for who in ("supervisor", "admin")]
    texts += [x.text if hasattr(x, "text") else str(x) for x in seen]
    for key in keys.values():
        for form in _secret_forms(key.data_key):
            assert not any(form in text for text in texts)


async def test_documents_keys_the_openers_did_not_release_are_refused_with_the_reason(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(3)]
    sealed = {}
    for i, bidder in enumerate(bidders):
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i]))
        assert r.status_code == 201, r.text
        sealed[i] = r.json()["bid_id"]
    pool = await _pool(client, world, "市政")
    url = f"/api/sections/{section.id}/expert-draw"
    assert (
        await client.post(url, headers=world.headers("staff"), json={"count": 5, "specialities": ["市政"]})
    ).is_success

    # The second opener leaves out the documents shares (an old client): only one opener's are in for each bid.
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).json()["state"] == "waiting"
    assert (await open_as(client, section.openers[0], section)).status_code == 200
    r = await open_as(client, section.openers[1], section, documents=False)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    clock.set(clock.at + SHARE_WINDOW)  # opener 3 stays away: the window ends and the opening goes ahead
    await scheduler.tick(app.state)
    record = await opening_record(client, section)
    assert [b["outcome"] for b in record["fields"]["bids"]] == ["opened"] * 3  # the prices open regardless
    keys = await _document_keys(app, section.id)
    assert {(k.outcome, k.reason, k.fault, k.data_key) for k in keys.values()} == {
        ("failed", "envelope.not_enough_shares", "opener:2,3", None)
    }
    panel = [pool[i] for i in await _draw(client, world, section)]
    r = await client.get(f"/api/sections/{section.id}/evaluation/bids", headers=panel[0])
    assert {(b["documents_outcome"], b["documents_fault"]) for b in r.json()} == {("failed", "opener:2,3")}
    error = refused(
        await client.get(f"/api/sections/{section.id}/evaluation/bids/{sealed[1]}/documents", headers=panel[0]),
        409,
        "documents_not_opened",
    )
    assert error["details"] == {"reason": "envelope.not_enough_shares", "fault": "opener:2,3"}
    assert "opener:2,3" in error["message_zh"] and "opener:2,3" in error["message_en"]
    refused(
        await client.get(f"/api/sections/{section.id}/evaluation/bids/{sealed[1]}/documents/index", headers=panel[1]),
        409,
        "documents_not_opened",
    )
    # Nothing was read, so nothing is in the log of reads.
    assert (
        await client.get(f"/api/sections/{section.id}/evaluation/reads", headers=world.headers("staff"))
    ).json() == []


async def test_the_bidder_is_blamed_for_documents_shares_that_do_not_rebuild_its_key(
    app, client, clock, tmp_path, monkeypatch
):
    # The first bidder's client commits to (and seals) shares of another key than its documents key: every share
    # matches its commitment, so the openers upload them, and the rebuilt key fails the key commitment.
    split = sealing.split_and_seal_key

    def careless(context, envelope, data_key, **kwargs):
        return split(context, envelope, os.urandom(32) if envelope == "documents" else data_key, **kwargs)

    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(3)]
    sealed, files = {}, [documents_of(i) for i in range(3)]
    for i, bidder in enumerate(bidders):
        monkeypatch.setattr(sealing, "split_and_seal_key", careless if i == 0 else split)
        path = seal(section, bidder, tmp_path, price=PRICES[i], documents=files[i])
        r = await submit(client, bidder, section, path)
        assert r.status_code == 201, r.text
        sealed[i] = r.json()["bid_id"]
    pool = await _pool(client, world, "市政")
    url = f"/api/sections/{section.id}/expert-draw"
    assert (
        await client.post(url, headers=world.headers("staff"), json={"count": 5, "specialities": ["市政"]})
    ).is_success
    clock.set(section.deadline + timedelta(minutes=1))
    await _open(client, world, section)
    member = pool[(await _draw(client, world, section))[0]]

    r = await client.get(f"/api/sections/{section.id}/evaluation/bids", headers=member)
    outcomes = {b["bid_id"]: (b["documents_outcome"], b["documents_reason"], b["documents_fault"]) for b in r.json()}
    assert outcomes == {
        sealed[0]: ("failed", "envelope.key_commitment_mismatch", "bidder"),
        sealed[1]: ("opened", "", ""),
        sealed[2]: ("opened", "", ""),
    }
    error = refused(
        await client.get(f"/api/sections/{section.id}/evaluation/bids/{sealed[0]}/documents", headers=member),
        409,
        "documents_not_opened",
    )
    assert error["details"] == {"reason": "envelope.key_commitment_mismatch", "fault": "bidder"}
    r = await client.get(f"/api/sections/{section.id}/evaluation/bids/{sealed[2]}/documents", headers=member)
    assert r.status_code == 200 and r.content == documents_tar_bytes(files[2].items())
