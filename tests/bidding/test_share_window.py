"""The opening cannot be steered by a colluding opener (docs/envelope.md §10.2–10.3): every share uploaded in the
share window counts; shares that match the bidder's signed commitments but lie on different polynomials are the
bidder's fault whichever arrived first; an opener the bidder sealed garbage to shows it with its key and the bid is
disputed, not blamed on the opener; a share uploaded after the window does not count."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bidding import scheduler
from bidding.envelope import open_share, parse_manifest, read_sealed_bid, shamir
from bidding.envelope.context import share_commitment, share_info
from bidding.envelope.encoding import canonical_json
from bidding.envelope.suites import encode_private_key, hpke_seal
from bidding.opening import SHARE_WINDOW
from tests.bidding.harness import (
    Bidder,
    Section,
    b64,
    complete,
    make_bidder,
    open_as,
    open_section,
    opening_record,
    post_shares,
    refused,
    seal,
    signed_shares,
    start_opening,
    submit,
    upload,
)
from tests.factories import build_world

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000]


def redeal(section: Section, bidder: Bidder, path: Path, envelope: str, index: int, share: bytes | None) -> dict:
    """The bidder re-seals share *index* of *envelope*: *share* (committed to, and signed), or with None, 81 bytes
    of garbage in its place (only the garbage's hash is signed). The submission body for the re-signed manifest."""
    sealed = read_sealed_bid(path)
    manifest = json.loads(sealed.manifest_bytes)
    context = section.context(bidder)
    ctx = context.to_bytes()
    record = manifest["envelopes"][envelope]
    shares = {e: list(v) for e, v in sealed.sealed_shares.items()}
    if share is None:
        shares[envelope][index - 1] = os.urandom(len(shares[envelope][index - 1]))
    else:
        opener_key = section.openers[index - 1].hpke.public_key()
        shares[envelope][index - 1] = hpke_seal(context.suite, opener_key, share, share_info(ctx, envelope, index))
        record["share_commitments"][index - 1] = share_commitment(ctx, envelope, index, share).hex()
    record["sealed_shares_sha256"][index - 1] = hashlib.sha256(shares[envelope][index - 1]).hexdigest()
    manifest_bytes = canonical_json(manifest)
    return {
        "manifest": b64(manifest_bytes),
        "signature": b64(bidder.signing.sign(manifest_bytes)),
        "sealed_shares": {e: [b64(s) for s in v] for e, v in shares.items()},
    }


def off_polynomial_share(section: Section, bidder: Bidder, path: Path) -> bytes:
    """Share 3 of the price key on another line through share 1: each matches its commitment, {1, 2} rebuild the
    key, {1, 3} and {2, 3} do not, and {1, 2, 3} are not on one polynomial."""
    sealed = read_sealed_bid(path)
    context = section.context(bidder)
    share_1 = open_share(context.suite, section.openers[0].hpke, context, "price", 1, sealed.sealed_shares["price"][0])
    slope = os.urandom(32)
    return bytes([3]) + bytes(y ^ shamir.gf_mul(s, 3 ^ 1) for y, s in zip(share_1[1:], slope, strict=True))


async def submit_body(client, bidder: Bidder, section: Section, path: Path, body: dict) -> None:
    r = await client.post(f"/api/sections/{section.id}/bids", headers=bidder.headers, json=body)
    assert r.status_code == 201, r.text
    await upload(client, bidder, path, r.json())
    assert (await complete(client, bidder, r.json()["upload_id"])).status_code == 201


async def _section_with(app, client, clock, tmp_path, cheat):
    """Three bids; the first bidder's sealed with *cheat* (a function of section, bidder, path → body)."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1) for i in range(3)]
    for i, bidder in enumerate(bidders):
        path = seal(section, bidder, tmp_path, price=PRICES[i])
        if i == 0:
            await submit_body(client, bidder, section, path, cheat(section, bidder, path))
        else:
            assert (await submit(client, bidder, section, path)).status_code == 201
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).json()["state"] == "waiting"
    return world, section, bidders


async def _verified(app, client, clock, tmp_path):
    """`trading verify` repeats each failed or disputed combination from the record and agrees with it."""
    from trading.log.integrator import integrate_once
    from trading.verify import verify_site

    await integrate_once(app.state)
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "verify.json", now=clock.at)
    assert report.ok, report.summary()
    return report


def _row(record, bidder):
    return next(b for b in record["fields"]["bids"] if b["bidder_credit_code"] == bidder.credit_code)


async def test_inconsistent_shares_are_the_bidders_fault_whichever_openers_upload_first(app, client, clock, tmp_path):
    def cheat(section, bidder, path):
        return redeal(section, bidder, path, "price", 3, off_polynomial_share(section, bidder, path))

    _, section, bidders = await _section_with(app, client, clock, tmp_path, cheat)
    # Openers 1 and 2 upload first: under the old rule (the k-th upload opens, with the first k shares) the
    # cheating bid opened here, and opener 3 — honest or not — could never show the dealing was inconsistent.
    for opener in section.openers[:2]:
        assert (await open_as(client, opener, section)).json()["state"] == "waiting"
    r = await open_as(client, section.openers[2], section)  # all n in: due, and a background job opens the bids
    assert r.status_code == 202 and r.json()["state"] == "opening", r.text
    record = await opening_record(client, section)
    row = _row(record, bidders[0])
    assert (row["outcome"], row["reason"], row["fault"], row["treated_as"]) == (
        "failed",
        "envelope.inconsistent_shares",
        "bidder",
        "revoked",
    )
    assert row["price_key"] is None and sorted(row["price_shares"]) == ["1", "2", "3"]
    # Anyone can check it from the record: each share matches its signed commitment; together they are off.
    manifest = parse_manifest(
        (await client.get(f"/api/sections/{section.id}/opening/bids/{row['manifest_sha256']}/manifest")).content
    )
    shares = [base64.b64decode(row["price_shares"][str(i)]) for i in (1, 2, 3)]
    ctx = manifest.context_bytes()
    assert [share_commitment(ctx, "price", i, s).hex() for i, s in enumerate(shares, 1)] == list(
        manifest.envelopes["price"].share_commitments
    )
    assert shamir.off_polynomial(shares, 2) == [3]
    assert [b["outcome"] for b in record["fields"]["bids"] if b is not row] == ["opened", "opened"]
    await _verified(app, client, clock, tmp_path)
    # A record blaming the openers instead would not survive the re-check.
    from trading.verify import Report
    from trading.verify_openings import recheck_failure

    report = Report(url="http://site")
    await recheck_failure(client, report, "row", record["fields"], {**row, "fault": "opener:3"})
    assert [p["code"] for p in report.problems] == ["outcome_mismatch"]


async def test_with_one_opener_withholding_the_window_decides_and_a_late_share_does_not_count(
    app, client, clock, tmp_path
):
    def cheat(section, bidder, path):
        return redeal(section, bidder, path, "price", 3, off_polynomial_share(section, bidder, path))

    _, section, bidders = await _section_with(app, client, clock, tmp_path, cheat)
    # Opener 2 withholds: {1, 3} rebuild a key that fails the bidder's commitment — the bidder's fault still.
    for opener in (section.openers[0], section.openers[2]):
        assert (await open_as(client, opener, section)).json()["state"] == "waiting"
    clock.set(clock.at + SHARE_WINDOW)
    # Opener 2 arrives after the window: refused, and the opening goes ahead with what was in by then.
    refused(await open_as(client, section.openers[1], section), 422, "shares_window_closed")
    record = await opening_record(client, section)
    assert record["fields"]["committee"]["uploaded"] == [1, 3]
    row = _row(record, bidders[0])
    assert (row["outcome"], row["reason"], row["fault"]) == ("failed", "envelope.key_commitment_mismatch", "bidder")
    late = signed_shares(section.id, 2, [], section.openers[1].signing)
    refused(await post_shares(client, section.openers[1], section.id, late), 422, "opening_not_waiting")
    await _verified(app, client, clock, tmp_path)


async def test_an_opener_sealed_garbage_shows_it_and_the_bid_is_disputed_not_withdrawn(app, client, clock, tmp_path):
    def cheat(section, bidder, path):
        return redeal(section, bidder, path, "price", 1, None)

    _, section, bidders = await _section_with(app, client, clock, tmp_path, cheat)
    first, second, third = section.openers
    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=first.headers)
    pack = r.json()
    cheater = next(b for b in pack["bids"] if b["bidder_credit_code"] == bidders[0].credit_code)
    position, shares = await decrypted_shares_except(client, first, section, cheater["bid_id"])
    key = b64(encode_private_key(section.info["suite"], first.hpke))
    dispute = {"bid_id": cheater["bid_id"], "manifest_sha256": cheater["manifest_sha256"], "envelope": "price"}

    # Refusals first: a dispute of a share that is fine, another opener's key, a share and a dispute at once.
    fine = next(b for b in pack["bids"] if b["bid_id"] != cheater["bid_id"])
    body = signed_shares(
        section.id,
        position,
        [
            *shares_without(shares, fine["bid_id"]),
            {**dispute, "bid_id": fine["bid_id"], "manifest_sha256": fine["manifest_sha256"], "dispute_key": key},
        ],
        first.signing,
    )
    refused(await post_shares(client, first, section.id, body), 422, "envelope.dispute_unfounded")
    wrong_key = b64(encode_private_key(section.info["suite"], second.hpke))
    body = signed_shares(section.id, position, [*shares, {**dispute, "dispute_key": wrong_key}], first.signing)
    refused(await post_shares(client, first, section.id, body), 422, "envelope.invalid_key")
    both = {**dispute, "dispute_key": key, "share": b64(bytes(33))}
    body = signed_shares(section.id, position, [*shares, both], first.signing)
    refused(await post_shares(client, first, section.id, body), 422, "bad_shares_document")
    # The founded dispute is taken in place of the share.
    body = signed_shares(section.id, position, [*shares, {**dispute, "dispute_key": key}], first.signing)
    assert (await post_shares(client, first, section.id, body)).json()["state"] == "waiting"
    # Opener 2 stays away; opener 3 uploads. One valid share of the cheater's price key, and a founded dispute.
    assert (await open_as(client, third, section)).json()["state"] == "waiting"
    clock.set(clock.at + SHARE_WINDOW)
    await scheduler.tick(app.state)
    record = await opening_record(client, section)
    row = _row(record, bidders[0])
    assert (row["outcome"], row["reason"], row["fault"], row["treated_as"]) == (
        "disputed",
        "envelope.share_disputed",
        "",
        "pending_ruling",
    )
    assert "提出分片异议" in record["body"] and "待监督人员裁定" in record["body"]
    (published,) = row["disputes"]
    assert (published["envelope"], published["position"], published["finding"]) == (
        "price",
        1,
        "envelope.share_undecryptable",
    )
    # Anyone can repeat the check: the key is opener 1's, the sealed share the one the manifest signed, and it
    # does not open.
    from bidding.envelope import check_dispute, decode_private_key

    manifest = parse_manifest(
        (await client.get(f"/api/sections/{section.id}/opening/bids/{row['manifest_sha256']}/manifest")).content
    )
    finding = check_dispute(
        manifest,
        section.context(bidders[0]),
        "price",
        1,
        decode_private_key(section.info["suite"], base64.b64decode(published["opener_private_key"])),
        base64.b64decode(published["sealed_share"]),
    )
    assert finding == "envelope.share_undecryptable"
    await _verified(app, client, clock, tmp_path)
    # The honest bids opened with shares 1 and 3.
    assert [b["outcome"] for b in record["fields"]["bids"] if b is not row] == ["opened", "opened"]


def shares_without(shares: list[dict], bid_id: int) -> list[dict]:
    return [s for s in shares if not (s["bid_id"] == bid_id and s["envelope"] == "price")]


async def decrypted_shares_except(client, opener, section, bid_id) -> tuple[int, list[dict]]:
    """What opener uploads for every bid but *bid_id*'s price envelope (whose share does not open for it)."""
    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=opener.headers)
    pack = r.json()
    from tests.bidding.harness import _opened_share

    shares = [_opened_share(pack, opener, section, b) for b in pack["bids"] if b["bid_id"] != bid_id]
    shares += [_opened_share(pack, opener, section, b, "documents") for b in pack["bids"]]
    return pack["position"], shares


@pytest.mark.slow
async def test_an_opener_disputes_with_the_command_line_only_when_it_chooses_to(
    app, client, clock, tmp_path, settings, backend
):
    """`bidding opener open` finds the share the bidder sealed badly and uploads nothing until the opener chooses:
    --dispute discloses the seat's key (the bid ends disputed), --skip-bad-shares would leave it out."""
    import subprocess
    import sys

    import msgspec
    from cryptography.hazmat.primitives import serialization

    from bidding.envelope import protect_private_key
    from tests.browser.test_public_journey import serving
    from tests.processes import free_port

    if backend != "sqlite":
        pytest.skip("the served copy shares the SQLite file; the PostgreSQL half is the API test above")

    def cheat(section, bidder, path):
        return redeal(section, bidder, path, "price", 1, None)

    _, section, bidders = await _section_with(app, client, clock, tmp_path, cheat)
    first = section.openers[0]
    key_path = tmp_path / "opener1.key"
    key_path.write_bytes(protect_private_key(section.info["suite"], first.hpke, "pw", memory_kib=1024, iterations=1))
    key_path.with_name(key_path.name + ".signing.pem").write_bytes(
        first.signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    served = msgspec.structs.replace(settings, base_url=f"http://127.0.0.1:{free_port()}", clock=clock.at.isoformat())
    bidding = [sys.executable, "-m", "bidding.cli", "--server", served.base_url, "--token", first.token]
    env = {"BIDDING_PASSPHRASE": "pw", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def opener_open(*extra):
        return subprocess.run(
            [*bidding, "opener", "open", str(section.id), "--key", str(key_path), *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with serving(served, tmp_path):
        stopped = opener_open()
        assert stopped.returncode != 0 and "shares_disputable" in stopped.stdout + stopped.stderr, stopped
        assert "--dispute" in stopped.stderr + stopped.stdout
        status = httpx.get(f"{served.base_url}/api/sections/{section.id}/opening").json()
        assert not any(m["uploaded"] for m in status["members"])  # nothing went up
        disputed = opener_open("--dispute")
        assert disputed.returncode == 0, disputed.stdout + disputed.stderr
    # Opener 2 stays away, opener 3 uploads: one valid share of the bad bid and a founded dispute when the window ends.
    assert (await open_as(client, section.openers[2], section)).status_code == 200
    clock.set(clock.at + SHARE_WINDOW)
    await scheduler.tick(app.state)
    record = await opening_record(client, section)
    row = _row(record, bidders[0])
    assert (row["outcome"], row["treated_as"]) == ("disputed", "pending_ruling")
    assert [(d["envelope"], d["position"]) for d in row["disputes"]] == [("price", 1)]
