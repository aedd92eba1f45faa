"""The opening of a section with thousands of sealed bids, against the raw cryptography it needs.

    .venv/bin/python bench/opening.py --bids 10000 [--inline]
    BENCH_PROFILE=/tmp/opening.txt .venv/bin/python bench/opening.py --bids 10000   # and bench/profile_top.py

Creates a fresh PostgreSQL database (BENCH_DATABASE names it) with a published section (a three-opener committee,
k = 2), seals N bids offline with the real bidder code, and stores them as submitted bids (rows, ciphertexts in the
blob store — or with ``--inline`` in the database, as a deadline storm's bids sent whole are kept on PostgreSQL
(trading/blobs/inline.py) — commitments queued in the transparency log) — stored directly, since the storm of submitting them is
bench/bids.py's subject. It then moves the deadline into the past, starts the real app under uvicorn and runs the
ceremony over HTTP exactly as `bidding opener open` does: staff start the opening (the deadline cut), the three
openers each download their sealed shares and unwrap them locally — price and documents shares — and upload them
signed. The third upload completes the committee: it is answered 202 and the server's opening job rebuilds every
price key, checks its commitment, decrypts, rebuilds the documents keys and publishes the opening record, while the
bench watches the status as the opening hall does. The figure that matters is the time from that upload to the
published record.

The floor, measured in the same run on the same data: the raw cryptography of the opening with the
`cryptography` package alone — HPKE-unwrapping k = 2 price shares per bid and AES-256-GCM-decrypting every price
ciphertext (as many bytes, in the same chunks). No timing is asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _app import fresh_database, serve_app  # noqa: E402
from _section import SUITE, SeededSection, raw, seed_section  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from bidding import events  # noqa: E402
from bidding.envelope import BidContext, manifest_hash, open_share, parse_manifest, read_sealed_bid, seal_bid  # noqa: E402
from bidding.envelope.context import share_info  # noqa: E402
from bidding.envelope.suites import _HPKE_SUITES  # noqa: E402
from bidding.models import Bid, BidderKey, Upload  # noqa: E402
from bidding.opening import shares_document  # noqa: E402
from trading.accounts.credit_code import make_credit_code  # noqa: E402
from trading.accounts.models import Organisation  # noqa: E402
from trading.blobs.inline import InlineBlob  # noqa: E402
from trading.blobs.local import LocalBlobStore  # noqa: E402
from trading.db import make_engine, make_sessionmaker  # noqa: E402
from trading.log import services as log  # noqa: E402
from trading.migrate import upgrade  # noqa: E402
from trading.settings import Settings  # noqa: E402

NAMES = ["建设", "路桥", "市政", "水利", "建工", "交通", "城建", "园林"]


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r{label:24} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr)
    if done == total:
        print(file=sys.stderr)


async def seed(settings: Settings, n: int, tmp: Path, inline: bool = False) -> tuple[SeededSection, list[Path]]:
    """The section and N stored bids; (the section, the sealed files)."""
    engine = make_engine(settings)
    await upgrade(engine)
    sm = make_sessionmaker(engine)
    now = datetime.now(UTC)
    published = now - timedelta(days=21)
    received = now - timedelta(minutes=30)
    store = LocalBlobStore(settings.blob_dir)
    document = tmp / "技术标.txt"
    document.write_text("施工组织设计（压力测试）\n" * 40)
    files: list[Path] = []
    async with sm() as s:
        seeded = await seed_section(s, settings, published=published, deadline=now + timedelta(hours=1))
        section_id, base = seeded.section_id, seeded.context_base
        section_key = await events.section_key(s, section_id)
        for start in range(0, n, 500):
            batch = range(start, min(n, start + 500))
            orgs = [
                Organisation(
                    name=f"湖南{NAMES[i % len(NAMES)]}第{i}工程有限公司",
                    credit_code=make_credit_code("9", "1", "430700", f"MA{i:06d}"),
                    kinds=["bidder"],
                    region_code="430700",
                    created_at=published,
                )
                for i in batch
            ]
            s.add_all(orgs)
            await s.flush()
            signing = [Ed25519PrivateKey.generate() for _ in batch]
            key_rows = [
                BidderKey(
                    organisation_id=o.id,
                    public_key=raw(k),
                    label="bench",
                    registered_by=seeded.staff.id,
                    created_at=published,
                )
                for o, k in zip(orgs, signing, strict=True)
            ]
            s.add_all(key_rows)
            await s.flush()
            uploads: list[Upload] = []
            bids: list[Bid] = []
            for i, org, key, key_row in zip(batch, orgs, signing, key_rows, strict=True):
                path = tmp / f"bid{i}.bid"
                seal_bid(
                    BidContext(bidder_credit_code=org.credit_code, **base),
                    key,
                    {"total_price_fen": 4_000_000_000 + 97 * i, "duration_days": 240 + i % 60, "quality": "合格"},
                    [("技术标.txt", document)],
                    path,
                )
                files.append(path)
                sealed = read_sealed_bid(path)
                blobs = {}
                for envelope in ("price", "documents"):
                    data = b"".join(sealed.iter_ciphertext(envelope))
                    digest = hashlib.sha256(data).hexdigest()
                    if inline:
                        s.add(InlineBlob(sha256=digest, data=data, created_at=received))
                    else:
                        target = store.path_of(digest)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                    blobs[envelope] = {"sha256": digest, "size": len(data)}
                digest = manifest_hash(sealed.manifest_bytes)
                shares = {e: [base64.b64encode(x).decode() for x in v] for e, v in sealed.sealed_shares.items()}
                upload = Upload(
                    id=secrets.token_hex(16),
                    section_id=section_id,
                    organisation_id=org.id,
                    person_id=seeded.staff.id,
                    manifest=sealed.manifest_bytes,
                    signature=sealed.signature,
                    manifest_sha256=digest,
                    sealed_shares=shares,
                    sizes={e: blobs[e]["size"] for e in blobs},
                    state="complete",
                    created_at=received,
                    updated_at=received,
                )
                details = {
                    "event": "submission",
                    "section_id": section_id,
                    "bidder_credit_code": org.credit_code,
                    "manifest_sha256": digest,
                    "at": received.isoformat(),
                }
                salt = events.new_salt()
                uploads.append(upload)
                bids.append(
                    Bid(
                        section_id=section_id,
                        organisation_id=org.id,
                        upload_id=upload.id,
                        manifest=sealed.manifest_bytes,
                        signature=sealed.signature,
                        manifest_sha256=digest,
                        signing_key_id=key_row.id,
                        sealed_shares=shares,
                        blobs=blobs,
                        state="active",
                        received_at=received,
                        event_details=details,
                        event_salt=salt,
                    )
                )
                await log.append(
                    s,
                    event_key=f"bid:{digest}",
                    kind="bid_event",
                    document=events.log_document(details, salt, section_key),
                    at=received,
                )
            s.add_all(uploads)
            await s.flush()  # (no ORM relationship orders the two tables)
            s.add_all(bids)
            await s.commit()
            progress("sealing and storing", batch.stop, n)
        # The deadline passes: moved into the past (the bids were received half an hour before it).
        await s.execute(
            text("UPDATE sections SET deadline_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(seconds=1), "id": section_id},
        )
        await s.commit()
    await engine.dispose()
    return seeded, files


def floor(files: list[Path], openers: list, base: dict, k: int = 2) -> tuple[float, float]:
    """The raw cryptography of the opening: (HPKE unwrap of k shares per bid, AES-GCM of every price chunk)."""
    hpke = _HPKE_SUITES[SUITE]
    jobs = []
    chunks = []
    for path in files:
        sealed = read_sealed_bid(path)
        manifest = parse_manifest(sealed.manifest_bytes)
        ctx = BidContext(bidder_credit_code=manifest.bidder_credit_code, **base).to_bytes()
        for position in range(1, k + 1):
            sealed_share = sealed.sealed_shares["price"][position - 1]
            jobs.append((sealed_share, openers[position - 1].hpke.hpke_key(), share_info(ctx, "price", position)))
        record = manifest.envelope("price")
        data = b"".join(sealed.iter_ciphertext("price"))
        size = record.chunk_size + 16
        chunks.extend(len(data[i : i + size]) for i in range(0, len(data), size))
    t = time.perf_counter()
    for sealed_share, key, info in jobs:
        hpke.decrypt(sealed_share, key, info=info)
    hpke_seconds = time.perf_counter() - t
    key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    aead = AESGCM(key)
    ciphertexts = [aead.encrypt(nonce, os.urandom(size - 16), b"aad") for size in chunks]
    t = time.perf_counter()
    for c in ciphertexts:
        aead.decrypt(nonce, c, b"aad")
    return hpke_seconds, time.perf_counter() - t


#: How often the bench asks for the opening's status while the job runs: the record's time is known to this much.
#: A poll of a running opening is a small answer, so asking often takes little from the job.
POLL = 0.02


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bids", type=int, default=10_000)
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--inline", action="store_true", help="the ciphertexts kept in the database, not the store")
    args = parser.parse_args()
    name = os.environ.get("BENCH_DATABASE", "trading_bench_opening")
    url = fresh_database(args.server, name)
    tmp = Path(tempfile.mkdtemp(prefix="bench-opening-"))
    settings = Settings(
        database_url=url,
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
    )
    t = time.perf_counter()
    seeded, files = asyncio.run(seed(settings, args.bids, tmp, args.inline))
    section_id, openers, base = seeded.section_id, seeded.openers, seeded.context_base
    print(f"seeded {args.bids} sealed bids in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    env = dict(
        os.environ,
        TRADING_DATABASE_URL=url,
        TRADING_BLOB_DIR=settings.blob_dir,
        TRADING_SIGNING_KEY_PATH=settings.signing_key_path,
    )
    figures: dict[str, float] = {}
    n_openers = len(openers)
    progress_seen: list[tuple[float, int, int]] = []
    with serve_app(env, args.port) as base_url, httpx.Client(base_url=base_url, timeout=3600) as client:
        t = time.perf_counter()
        r = client.post(f"/api/sections/{section_id}/opening", headers=_bearer(seeded.staff_token))
        figures["start"] = time.perf_counter() - t
        assert r.status_code == 200, r.text
        bodies = []
        for number, opener in enumerate(openers, start=1):
            headers = _bearer(opener.token)
            t = time.perf_counter()
            r = client.get(f"/api/sections/{section_id}/opening/shares", headers=headers)
            assert r.status_code == 200, r.text[:500]
            pack = r.json()
            figures[f"download{number}"] = time.perf_counter() - t
            t = time.perf_counter()
            bodies.append((headers, _unwrap(pack, opener, base, section_id, number)))
            figures[f"unwrap{number}"] = time.perf_counter() - t
        # Every opener but the last uploads; the last upload completes the committee and makes the opening due.
        for number, (headers, body) in enumerate(bodies[:-1], start=1):
            t = time.perf_counter()
            r = client.post(f"/api/sections/{section_id}/opening/shares", headers=headers, json=body)
            figures[f"upload{number}"] = time.perf_counter() - t
            assert r.status_code == 200, r.text[:500]
        headers, body = bodies[-1]
        cpu = base_url.cpu_seconds()
        t = time.perf_counter()
        r = client.post(f"/api/sections/{section_id}/opening/shares", headers=headers, json=body)
        figures["last_upload_answer"] = time.perf_counter() - t
        assert r.status_code in (200, 202), r.text[:500]
        answer_status = r.status_code
        while True:  # the opening runs as a job: watch it as the opening hall does, until the record is out
            polled = time.perf_counter()
            status = client.get(f"/api/sections/{section_id}/opening").json()
            job = status.get("progress") or {}
            progress_seen.append((polled - t, job.get("opened", 0), job.get("total", 0)))
            if status["state"] != "opening" and status["state"] != "waiting":
                break
            time.sleep(POLL)
        # The record was out when the poll that saw it began (at most one poll interval late); the answer itself
        # carries every bid's result, which takes a while to send.
        figures["kth_to_record"] = polled - t
        # The app's CPU (the worker and the processes beside it) over the same stretch, the polls' answers included.
        figures["kth_to_record_cpu"] = base_url.cpu_seconds() - cpu
        state = status["state"]
        opened = sum(1 for x in status.get("results", []) if x["outcome"] == "opened")
        record_id = status["record_notice_id"]
        t = time.perf_counter()
        notice = client.get(f"/api/notices/{record_id}")
        figures["record_read"] = time.perf_counter() - t
        record_bytes = len(notice.content)
    hpke_s, aes_s = floor(files, openers, base)
    raw_total = hpke_s + aes_s
    n = args.bids
    print(
        f"\nopening — {n} sealed bids, k = 2 of {n_openers}, {SUITE}, PostgreSQL, one uvicorn worker, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"  the last upload answered {answer_status} in {figures['last_upload_answer']:.2f} s; final state {state}; "
        f"bids opened: {opened}/{n}; record {record_bytes:,} bytes"
    )
    partial = [(at, done, total) for at, done, total in progress_seen if 0 < done < total]
    if partial:
        print(
            f"  progress seen in the hall: {len(partial)} polls between 0 and {n}, e.g. {partial[len(partial) // 2][1]} "
            f"opened at {partial[len(partial) // 2][0]:.2f} s"
        )
    print(f"{'what':70} {'seconds':>9} {'vs raw':>8}")
    rows = [
        ("raw: HPKE-unwrap 2 price shares per bid (cryptography)", hpke_s),
        ("raw: AES-256-GCM-decrypt every price chunk", aes_s),
        ("raw floor: both", raw_total),
        ("staff start: close + deadline cut of the log", figures["start"]),
        ("opener 1: download sealed shares", figures["download1"]),
        ("opener 1: unwrap locally (price + documents, HPKE + commitment)", figures["unwrap1"]),
        ("opener 1: upload signed shares", figures["upload1"]),
        (f"opener {n_openers}: the last upload's answer", figures["last_upload_answer"]),
        ("last (completing) share → record published", figures["kth_to_record"]),
        ("  the app's CPU meanwhile (worker + its processes, all cores)", figures["kth_to_record_cpu"]),
        ("reading the published record", figures["record_read"]),
    ]
    for label, seconds in rows:
        print(f"{label:70} {seconds:9.2f} {seconds / raw_total:8.2f}")
    print(
        f"per bid: completing share → record {figures['kth_to_record'] / n * 1000:.3f} ms; "
        f"raw floor {raw_total / n * 1000:.3f} ms; ratio {figures['kth_to_record'] / raw_total:.2f}"
    )
    return 0


def _unwrap(pack: dict, opener, base: dict, section_id: int, number: int) -> dict[str, str]:
    """What `bidding opener open` uploads: each bid's price and documents share, unwrapped locally, signed."""
    shares = []
    for i, item in enumerate(pack["bids"], start=1):
        context = BidContext(bidder_credit_code=item["bidder_credit_code"], **base)
        manifest = parse_manifest(base64.b64decode(item["manifest"]))
        for envelope, field in (("price", "sealed_share"), ("documents", "documents_sealed_share")):
            share = open_share(
                pack["suite"],
                opener.hpke,
                context,
                envelope,
                pack["position"],
                base64.b64decode(item[field]),
                manifest=manifest,
            )
            shares.append(
                {
                    "bid_id": item["bid_id"],
                    "manifest_sha256": item["manifest_sha256"],
                    "envelope": envelope,
                    "share": base64.b64encode(share).decode(),
                }
            )
        if i % 500 == 0 or i == len(pack["bids"]):
            progress(f"opener {number} unwrapping", i, len(pack["bids"]))
    document = shares_document(section_id, pack["position"], shares)
    return {
        "document": base64.b64encode(document).decode(),
        "signature": base64.b64encode(opener.signing.sign(document)).decode(),
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


if __name__ == "__main__":
    raise SystemExit(main())
