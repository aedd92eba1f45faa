"""The log's published test vectors (tests/vectors/log-v1.json), rebuilt here from their inputs by the code
that writes the log: every entry kind (trading/log/entries.py) → exact bytes → leaf hash, the bid-event and
key-owner commitments, a tree with its root and proofs, a signed checkpoint and a signed deadline cut.

Another implementation checks itself against the same file (docs/log.md §9). Everything in it is
deterministic (Ed25519 signatures too), so regenerating without a format change gives the same file:
``TRADING_WRITE_LOG_VECTORS=1 .venv/bin/python -m pytest tests/log/test_log_vectors.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding import events
from bidding.directory import owner_commitment, owner_details
from trading.log import entries, merkle
from trading.log.cuts import DeadlineCut, format_cut, parse_cut
from trading.log.note import Checkpoint, Cosigner, NoteSigner, format_checkpoint, verify_note

VECTORS = Path(__file__).parents[1] / "vectors" / "log-v1.json"
ORIGIN = "ggzy.hunan.example/log"
AT = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
AT_FRACTION = datetime(2026, 11, 21, 1, 30, 5, 123456, tzinfo=UTC)


def _h(data: bytes) -> str:
    return data.hex()


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"trading log vectors " + label.encode()).digest()


def _signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(_seed("log key")))


def _cut(leaves: list[bytes]) -> DeadlineCut:
    return DeadlineCut(
        origin=ORIGIN,
        section_id=4301,
        section_code="A4301002026000123001",
        deadline=AT,
        tree_size=len(leaves),
        root_hash=merkle.root_from_leaf_hashes(leaves),
        cut_at=AT_FRACTION,
    )


def _entry_inputs() -> list[tuple[str, dict[str, Any]]]:
    """One document per kind, from fixed inputs through the builders the platform itself uses."""
    bid_details = {
        "event": "submission",
        "section_id": 4301,
        "bidder_credit_code": "91430100MA4L2X3Y5K",
        "manifest_sha256": "6e59" * 16,
        "at": entries.instant(AT),
    }
    bid_salt, section_key = _seed("bid salt"), _seed("section key")
    owner = owner_details(
        credit_code="91430100MA4L2X3Y5K",
        organisation="湖南建工集团有限公司",
        public_key=_seed("bidder key"),
        registered_at=AT,
    )
    first = [
        entries.notice_version(
            trade_code="A4301002026000123",
            notice_id=394,
            notice_kind="tender",
            version=2,
            content_sha256=_h(_seed("notice")),
            published_at=AT,
        ),
        events.log_document(bid_details, bid_salt, section_key),
    ]
    # The cut closes the tree of the two entries before it: the same cut as the "deadline_cut" vector.
    cut_note = _signer().sign(format_cut(_cut([merkle.leaf_hash(entries.leaf_bytes(d)) for d in first])))
    return [
        ("notice_version", first[0]),
        ("bid_event", first[1]),
        ("deadline_cut", entries.deadline_cut(note=cut_note)),
        (
            "signing_key",
            entries.signing_key(
                event="registered",
                key_sha256=hashlib.sha256(_seed("bidder key")).hexdigest(),
                owner_commitment=owner_commitment(owner, _seed("owner salt")),
                at=AT,
            ),
        ),
        (
            "centre_key",
            entries.centre_key(
                event="registered", centre_code="CD", public_key=base64.b64encode(_seed("centre key")).decode(), at=AT
            ),
        ),
        (
            "payment",
            entries.payment(
                trade_code="A4301002026000123",
                public={
                    "id": 17,
                    "contract_notice_id": 402,
                    "kind": "progress",
                    "paid_on": "2026-11-20",
                    "amount_fen": 1_286_450_000,
                    "currency": "CNY",
                    "payer": "常德市交通运输局",
                    "payee": "湖南建工集团有限公司",
                    "purpose": "第一期进度款",
                    "milestone": "路基完成30%",
                    "evidence_sha256": _h(_seed("evidence")),
                    "flags": [],
                },
            ),
        ),
        (
            "evaluation_plan",
            entries.evaluation_plan(
                trade_code="A4301002026000123",
                section_id=4301,
                plan={"method": "lowest_price", "abnormal_ratio": "0.8", "criteria": []},
                at=AT,
            ),
        ),
        (
            "expert_change",
            entries.expert_change(expert_id=12, action="update", record_sha256=_h(_seed("expert")), active=True, at=AT),
        ),
        (
            "expert_draw_commitment",
            entries.expert_draw_commitment(
                trade_code="A4301002026000123",
                section_id=4301,
                seed_sha256=_h(_seed("draw seed")),
                pool_sha256=_h(_seed("pool")),
                pool_size=40,
                count=5,
                specialities=["市政道路", "桥梁"],
                committed_at=AT,
            ),
        ),
        (
            "expert_draw_result",
            entries.expert_draw_result(
                trade_code="A4301002026000123",
                section_id=4301,
                version=1,
                result={"drawn": [3, 9, 14, 22, 31], "order": [3, 9, 14, 22, 31]},
                beacon_tree_size=1024,
                at=AT_FRACTION,
            ),
        ),
        (
            "evaluation_report",
            entries.evaluation_report(
                trade_code="A4301002026000123", section_id=4301, report_sha256=_h(_seed("report")), void=False, at=AT
            ),
        ),
        (
            "objection",
            entries.objection(
                trade_code="A4301002026000123",
                section_id=4301,
                objection_id=5,
                text="对第一中标候选人资格有异议",
                filed_at=AT,
            ),
        ),
        (
            "complaint",
            entries.complaint(
                trade_code="A4301002026000123", section_id=4301, complaint_id=2, text="异议答复不成立", filed_at=AT
            ),
        ),
        (
            "complaint_ruling",
            entries.complaint_ruling(
                trade_code="A4301002026000123", section_id=4301, complaint_id=2, ruling="驳回投诉", ruled_at=AT
            ),
        ),
        (
            "result_letters",
            entries.result_letters(
                trade_code="A4301002026000123",
                section_id=4301,
                result_notice_id=410,
                letters=[_h(_seed("letter b")), _h(_seed("letter a"))],
                at=AT,
            ),
        ),
    ]


def build() -> dict[str, Any]:
    built_entries = []
    for kind, document in _entry_inputs():
        data = entries.leaf_bytes(document)
        built_entries.append(
            {"kind": kind, "document": document, "bytes_hex": _h(data), "leaf_hash": _h(merkle.leaf_hash(data))}
        )
    bid_details = {
        "event": "submission",
        "section_id": 4301,
        "bidder_credit_code": "91430100MA4L2X3Y5K",
        "manifest_sha256": "6e59" * 16,
        "at": entries.instant(AT),
    }
    commitment = events.commitment(bid_details, _seed("bid salt"))
    owner = owner_details(
        credit_code="91430100MA4L2X3Y5K",
        organisation="湖南建工集团有限公司",
        public_key=_seed("bidder key"),
        registered_at=AT,
    )
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in built_entries]
    tree = merkle.MemoryTree()
    for e in built_entries:
        tree.append(bytes.fromhex(e["bytes_hex"]))
    log_key = Ed25519PrivateKey.from_private_bytes(_seed("log key"))
    signer = NoteSigner(ORIGIN, log_key)
    root = merkle.root_from_leaf_hashes(leaves)
    checkpoint_text = format_checkpoint(Checkpoint(origin=ORIGIN, size=len(leaves), root_hash=root))
    witness = Cosigner("witness.demo.hunan.example", Ed25519PrivateKey.from_private_bytes(_seed("witness key")))
    cut = _cut(leaves[:2])
    return {
        "about": "docs/log.md §9: every entry kind's bytes and leaf hash, the commitments, a tree, notes",
        "log_key": {
            "origin": ORIGIN,
            "ed25519_seed": _h(_seed("log key")),
            "vkey": signer.vkey,
        },
        "instants": {AT.isoformat(): entries.instant(AT), AT_FRACTION.isoformat(): entries.instant(AT_FRACTION)},
        "entries": built_entries,
        "bid_event": {
            "label": events.LABEL.decode(),
            "details": bid_details,
            "details_bytes_hex": _h(entries.leaf_bytes(bid_details)),
            "salt": _h(_seed("bid salt")),
            "commitment": commitment,
            "section_tag_key": _h(_seed("section key")),
            "section_tag": hmac.new(_seed("section key"), bytes.fromhex(commitment), hashlib.sha256).hexdigest(),
        },
        "key_owner": {
            "label": "trading-bid/v1 key-owner\x00",
            "public_key": _h(_seed("bidder key")),
            "details": owner,
            "salt": _h(_seed("owner salt")),
            "commitment": owner_commitment(owner, _seed("owner salt")),
        },
        "tree": {
            "leaf_hashes": [_h(h) for h in leaves],
            "roots": {str(n): _h(merkle.root_from_leaf_hashes(leaves[:n])) for n in range(len(leaves) + 1)},
            "inclusion": [
                {"index": i, "size": n, "proof": [_h(p) for p in tree.inclusion_proof(i, n)]}
                for i, n in ((0, 1), (2, 3), (5, 8), (14, 15), (6, 15))
            ],
            "consistency": [
                {"first": m, "second": n, "proof": [_h(p) for p in tree.consistency_proof(m, n)]}
                for m, n in ((1, 3), (3, 8), (7, 15), (8, 15))
            ],
        },
        "checkpoint": {
            "text": checkpoint_text,
            "note": signer.sign(checkpoint_text),
            "witness_vkey": witness.vkey,
            "witness_timestamp": 1_795_000_000,
            "cosignature_line": witness.cosign(checkpoint_text, 1_795_000_000),
        },
        "deadline_cut": {"text": format_cut(cut), "note": signer.sign(format_cut(cut))},
    }


def test_the_log_vectors_are_what_the_code_writes():
    built = build()
    if os.environ.get("TRADING_WRITE_LOG_VECTORS"):
        VECTORS.write_text(json.dumps(built, ensure_ascii=False, indent=1) + "\n")
    published = json.loads(VECTORS.read_text())
    assert published == built


def test_the_vectors_check_by_their_own_rules():
    """What a reader of docs/log.md does with the file, without the builders."""
    v = json.loads(VECTORS.read_text())
    assert {e["kind"] for e in v["entries"]} >= {
        "notice_version",
        "bid_event",
        "deadline_cut",
        "signing_key",
        "centre_key",
        "payment",
        "expert_draw_commitment",
        "expert_draw_result",
    }
    for e in v["entries"]:
        data = bytes.fromhex(e["bytes_hex"])
        assert data == json.dumps(e["document"], ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        assert hashlib.sha256(b"\x00" + data).hexdigest() == e["leaf_hash"]
    b = v["bid_event"]
    c = hashlib.sha256(
        b"trading-bid/v1 event-commitment\x00" + bytes.fromhex(b["salt"]) + bytes.fromhex(b["details_bytes_hex"])
    )
    assert c.hexdigest() == b["commitment"]
    log_key = v["log_key"]
    verifier = NoteSigner(
        log_key["origin"], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(log_key["ed25519_seed"]))
    )
    assert verify_note(v["checkpoint"]["note"], [verifier.verifier()]) == v["checkpoint"]["text"]
    cut = parse_cut(verify_note(v["deadline_cut"]["note"], [verifier.verifier()]))
    assert cut.root_hash.hex() == v["tree"]["roots"]["2"]
    assert any(e["kind"] == "deadline_cut" and e["document"]["note"] == v["deadline_cut"]["note"] for e in v["entries"])
    leaves = [bytes.fromhex(h) for h in v["tree"]["leaf_hashes"]]
    for p in v["tree"]["inclusion"]:
        root = bytes.fromhex(v["tree"]["roots"][str(p["size"])])
        proof = [bytes.fromhex(x) for x in p["proof"]]
        assert merkle.verify_inclusion(leaves[p["index"]], p["index"], p["size"], proof, root)


def test_each_kind_has_exactly_the_fields_a_verifier_expects():
    """trading.log.entries.FIELDS, which `trading verify` holds entries to (entry_fields), is what the builders
    write, for every kind the platform writes."""
    built = {kind: set(document) for kind, document in _entry_inputs()}
    assert set(built) == set(entries.FIELDS)
    assert {kind: fields for kind, fields in built.items()} == {k: set(v) for k, v in entries.FIELDS.items()}
