"""`trading verify` on openings: the record accounts for every bid logged before the deadline, in both
directions, and the published keys open the logged ciphertexts to the published figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from bidding import events
from bidding.envelope import read_sealed_bid
from bidding.models import Bid, ReservePrice, Upload
from tests.bidding.harness import (
    begin,
    centre_key,
    make_bidder,
    open_all,
    open_section,
    reserve_body,
    seal,
    seal_reserve,
    submit,
    upload,
)
from tests.factories import build_world
from trading.log import services as log
from trading.log.integrator import integrate_once
from trading.verify import verify_site

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000, 4_700_000_000]


async def _bids(app, client, clock, tmp_path, count):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = []
    for i in range(count):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i]))
        assert r.status_code == 201, r.text
        bidders.append(bidder)
    return world, section, bidders


async def _open(app, client, clock, world, section):
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    await integrate_once(app.state)


async def _record_fields(client, section):
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    return (await client.get(f"/api/notices/{status['record_notice_id']}")).json()["fields"]


async def _verify(client, tmp_path, clock):
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "state.json", now=clock.at)
    return report


async def test_an_honest_opening_verifies(app, client, clock, tmp_path):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()
    assert report.openings == 1 and report.bids == 3


async def _seal_ceiling(client, world, section, tmp_path, times: int = 1) -> None:
    key = await centre_key(client, world)
    for i in range(times):  # sealed again: the later one replaces the earlier, both logged
        body = reserve_body(seal_reserve(section, key, tmp_path / "centre", fen=4_800_000_000 + i))
        r = await client.post(f"/api/sections/{section.id}/reserve-price", headers=world.headers("staff"), json=body)
        assert r.status_code == 201, r.text


async def test_an_opening_with_a_sealed_control_price_verifies_and_its_figure_is_rechecked(
    app, client, clock, tmp_path
):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _seal_ceiling(client, world, section, tmp_path, times=2)
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()
    assert report.openings == 1 and report.bids == 3


async def test_a_control_price_deleted_before_the_opening_is_named(app, client, clock, tmp_path):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _seal_ceiling(client, world, section, tmp_path)
    async with app.state.sessionmaker() as s:  # someone with database rights drops the sealed ceiling
        await s.execute(delete(ReservePrice))
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert [p["code"] for p in report.problems] == ["bid_dropped"], report.summary()


async def test_a_bid_deleted_before_the_opening_is_named(app, client, clock, tmp_path):
    world, section, bidders = await _bids(app, client, clock, tmp_path, 4)
    async with app.state.sessionmaker() as s:  # someone with database rights drops a bid
        victim = await s.scalar(select(Bid).where(Bid.organisation_id == bidders[1].organisation_id))
        await s.execute(delete(Bid).where(Bid.id == victim.id))
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert [p["code"] for p in report.problems] == ["bid_dropped"], report.summary()


async def test_a_backdated_bid_slipped_in_after_the_deadline_is_named(app, client, clock, tmp_path):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    late = await make_bidder(app, client, clock.at, 9, name="湖南后补建设有限公司")
    path = seal(section, late, tmp_path, price=3_999_000_000)
    r = await begin(client, late, section, path)
    await upload(client, late, path, r.json())
    upload_id = r.json()["upload_id"]
    clock.set(section.deadline + timedelta(seconds=30))
    await integrate_once(app.state)
    # after the deadline, with database rights: a bid row dated before the deadline, and its log entry
    async with app.state.sessionmaker() as s:
        up = await s.get(Upload, upload_id)
        from bidding.models import BidderKey

        key = await s.scalar(select(BidderKey).where(BidderKey.organisation_id == late.organisation_id))
        backdated = section.deadline - timedelta(minutes=5)
        details = {
            "event": "submission",
            "section_id": section.id,
            "bidder_credit_code": late.credit_code,
            "manifest_sha256": up.manifest_sha256,
            "at": backdated.isoformat(),
        }
        salt = events.new_salt()
        blobs = {}
        sealed = read_sealed_bid(path)
        for envelope in ("price", "documents"):  # the store's own way in, as someone with its rights would
            data = b"".join(sealed.iter_ciphertext(envelope))

            async def one(data: bytes = data):
                yield data

            stored = await app.state.blobs.put_stream(one(), max_bytes=len(data))
            blobs[envelope] = {"sha256": stored.sha256, "size": stored.size}
        s.add(
            Bid(
                section_id=section.id,
                organisation_id=late.organisation_id,
                upload_id=upload_id,
                manifest=up.manifest,
                signature=up.signature,
                manifest_sha256=up.manifest_sha256,
                signing_key_id=key.id,
                sealed_shares=up.sealed_shares,
                blobs=blobs,
                state="active",
                received_at=backdated,
                event_details=details,
                event_salt=salt,
            )
        )
        up.state = "complete"
        await log.append(
            s,
            event_key=f"bid:{up.manifest_sha256}",
            kind="bid_event",
            document=events.log_document(details, salt, await events.section_key(s, section.id)),
            at=clock.at,
        )
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    codes = [p["code"] for p in report.problems]
    assert "logged_after_deadline" in codes, report.summary()


async def test_the_deadline_cut_is_signed_logged_and_checked(app, client, clock, tmp_path):
    """The record carries the platform's signed cut; a cut the log does not hold, or a second one for the same
    section, is named."""
    from trading.log.cuts import DeadlineCut, format_cut, parse_cut
    from trading.log.note import verify_note

    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _open(app, client, clock, world, section)
    record = await _record_fields(client, section)
    served = (await client.get(f"/log/cuts/{section.id}")).text
    cut = parse_cut(verify_note(served, [app.state.log_signer.verifier()]))
    assert cut.section_id == section.id and cut.deadline == section.deadline and cut.cut_at >= section.deadline
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()
    # With the log's own key, the platform signs a second cut claiming a later deadline's tree, and logs it.
    forged = app.state.log_signer.sign(
        format_cut(
            DeadlineCut(**{**{f: getattr(cut, f) for f in cut.__struct_fields__}, "cut_at": cut.cut_at + timedelta(1)})
        )
    )
    async with app.state.sessionmaker() as s:
        await log.append(
            s,
            event_key="forged-cut",
            kind="deadline_cut",
            document={"kind": "deadline_cut", "note": forged},
            at=clock.at,
        )
        await s.commit()
    await integrate_once(app.state)
    report = await _verify(client, tmp_path / "again", clock)
    assert "conflicting_cuts" in {p["code"] for p in report.problems}, report.summary()
    assert record["deadline_cut"]["note"] == served


async def test_a_record_without_its_cut_is_named(app, client, clock, tmp_path):
    from trading.log.models import DeadlineCheckpoint

    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    clock.set(section.deadline + timedelta(minutes=1))
    await integrate_once(app.state)
    async with app.state.sessionmaker() as s:  # the cut's note is lost before the record is made
        row = await s.get(DeadlineCheckpoint, section.id)
        row.cut_note = None
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert [p["code"] for p in report.problems] == ["no_deadline_cut"], report.summary()


async def test_a_withdrawal_must_be_the_bidders_own_signed_act(app, client, clock, tmp_path):
    """The record carries what the bidder signed to withdraw; a withdrawal the platform made up is named."""
    from bidding.models import Bid as BidRow
    from tests.bidding.harness import withdraw

    world, section, bidders = await _bids(app, client, clock, tmp_path, 4)
    async with app.state.sessionmaker() as s:
        manifest = await s.scalar(
            select(BidRow.manifest_sha256).where(BidRow.organisation_id == bidders[3].organisation_id)
        )
    r = await withdraw(client, bidders[3], section.id, manifest)
    assert r.status_code == 200, r.text
    await _open(app, client, clock, world, section)
    record = await _record_fields(client, section)
    (gone,) = [b for b in record["bids"] if b["state"] == "withdrawn"]
    assert gone["withdrawal"]["document"] and gone["withdrawal"]["signature"]
    report = await _verify(client, tmp_path, clock)
    assert report.ok, report.summary()


async def test_a_withdrawal_without_the_bidders_signature_is_named(app, client, clock, tmp_path):
    from bidding.models import Bid as BidRow
    from tests.bidding.harness import withdraw

    world, section, bidders = await _bids(app, client, clock, tmp_path, 4)
    async with app.state.sessionmaker() as s:
        manifest = await s.scalar(
            select(BidRow.manifest_sha256).where(BidRow.organisation_id == bidders[3].organisation_id)
        )
    assert (await withdraw(client, bidders[3], section.id, manifest)).status_code == 200
    async with app.state.sessionmaker() as s:  # with database rights: as if the platform had withdrawn it itself
        row = await s.scalar(select(BidRow).where(BidRow.manifest_sha256 == manifest))
        row.withdrawal_signature = bytes(64)
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert [p["code"] for p in report.problems] == ["withdrawal_not_signed"], report.summary()


async def test_a_bid_both_replaced_and_withdrawn_is_named(app, client, clock, tmp_path):
    """A withdrawal applied to a bid its replacement had already ended (what a race between the two once did):
    the record shows one bid withdrawn and standing replaced by the next, and the verifier names it."""
    from bidding.models import Bid as BidRow
    from tests.bidding.harness import withdraw

    world, section, bidders = await _bids(app, client, clock, tmp_path, 4)
    last = bidders[3]
    async with app.state.sessionmaker() as s:
        first = await s.scalar(select(BidRow.manifest_sha256).where(BidRow.organisation_id == last.organisation_id))
    r = await submit(client, last, section, seal(section, last, tmp_path, price=PRICES[3] - 1))
    assert r.status_code == 201, r.text
    async with app.state.sessionmaker() as s:  # with database rights: the replaced bid made active again ...
        mine = await s.scalars(select(BidRow.manifest_sha256).where(BidRow.organisation_id == last.organisation_id))
        (second,) = set(mine) - {first}
        for manifest, state in ((second, "replaced"), (first, "active")):  # (one active bid at a time)
            await s.execute(update(BidRow).where(BidRow.manifest_sha256 == manifest).values(state=state))
        await s.commit()
    assert (await withdraw(client, last, section.id, first)).status_code == 200  # ... and withdrawn, signed, logged
    async with app.state.sessionmaker() as s:
        await s.execute(update(BidRow).where(BidRow.manifest_sha256 == second).values(state="active"))
        await s.commit()
    await _open(app, client, clock, world, section)
    report = await _verify(client, tmp_path, clock)
    assert [p["code"] for p in report.problems] == ["bid_ended_twice"], report.summary()
    assert "withdrawn" in report.problems[0]["what"] and "replaced by" in report.problems[0]["what"]


async def test_a_bid_sealed_for_another_section_bidder_or_committee_is_named(app, client, clock, tmp_path):
    """A platform with the log key could count, in a section's record, a bid its bidder signed for another section
    (or in another's name, or to other openers): the record, the log and the signatures would all agree. Only the
    manifest's own context, against the record and the logged tender notice, shows it."""
    import copy

    import msgspec

    from bidding.envelope import parse_manifest
    from trading.verify import Report
    from trading.verify_openings import check_sealed_for

    world, section, bidders = await _bids(app, client, clock, tmp_path, 3)
    await _open(app, client, clock, world, section)
    fields = await _record_fields(client, section)
    bid = next(b for b in fields["bids"] if b["outcome"] == "opened")
    raw = await client.get(f"/api/sections/{section.id}/opening/bids/{bid['manifest_sha256']}/manifest")
    manifest = parse_manifest(raw.content)

    async def codes(fields, bid, manifest) -> list[str]:
        report = Report(url="http://site")
        await check_sealed_for(client, report, "record", fields, bid, manifest)
        return [p["code"] for p in report.problems]

    assert await codes(fields, bid, manifest) == []  # as published
    other_section = {**copy.deepcopy(fields), "section_code": "B2"}
    assert await codes(other_section, bid, manifest) == ["manifest_mismatch"]
    other_bidder = {
        **bid,
        "bidder_credit_code": next(b.credit_code for b in bidders if b.credit_code != bid["bidder_credit_code"]),
    }
    assert await codes(fields, other_bidder, manifest) == ["manifest_mismatch"]
    committee = manifest.committee
    to_others = msgspec.structs.replace(
        manifest,
        committee=msgspec.structs.replace(committee, opener_keys_sha256=tuple("00" * 32 for _ in range(committee.n))),
    )
    assert await codes(fields, bid, to_others) == ["wrong_committee"]
    unknown_tender = {**fields, "tender_notice": {**fields["tender_notice"], "content_sha256": "0" * 64}}
    assert await codes(unknown_tender, bid, manifest) == ["outcome_unverifiable"]


async def _verify_rewritten(app, client, section, tmp_path, clock, change):
    """`trading verify` against a site serving the opening record's document with *change* made to its fields
    (a platform editing its record after publishing it: the log's hash then names it too)."""
    import json

    from tests.cleanroom.tampering import tampered_site

    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    detail = (await client.get(f"/api/notices/{status['record_notice_id']}")).json()
    url = detail["versions"][-1]["document_url"]

    def rewrite(request, status_code, body):
        if request.url.path == url:
            document = json.loads(body)
            change(document["fields"])
            return status_code, json.dumps(document, ensure_ascii=False).encode()
        return status_code, body

    async with tampered_site(app, rewrite) as site:
        report, _ = await verify_site(site, url="http://site", state_path=tmp_path / "state.json", now=clock.at)
    return {p["code"] for p in report.problems}


async def test_an_event_shown_on_another_bids_row_is_named(app, client, clock, tmp_path):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _open(app, client, clock, world, section)

    def swap(fields):
        first, second = fields["bids"][0], fields["bids"][1]
        first["event"], second["event"] = second["event"], first["event"]

    codes = await _verify_rewritten(app, client, section, tmp_path, clock, swap)
    assert "event_details_mismatch" in codes and "hash_mismatch" in codes, codes


async def test_a_record_out_of_its_documented_shape_is_named_not_a_crash(app, client, clock, tmp_path):
    world, section, _ = await _bids(app, client, clock, tmp_path, 3)
    await _open(app, client, clock, world, section)
    codes = await _verify_rewritten(
        app, client, section, tmp_path, clock, lambda fields: fields["bids"][0].pop("event")
    )
    assert "record_malformed" in codes, codes
