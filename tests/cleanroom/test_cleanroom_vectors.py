"""The clean-room primitives against tests/vectors/log-v1.json and the price parts of the envelope vectors.

Only tests/cleanroom/primitives.py (written from the documents) is exercised: nothing of the platform.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cleanroom import primitives as p
from tests.cleanroom.verifier import check_fields, classify

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
LOG = json.loads((VECTORS / "log-v1.json").read_text())
ENV = json.loads((VECTORS / "envelope-v1.json").read_text())
MORE = json.loads((VECTORS / "envelope-v1-more.json").read_text())
H = bytes.fromhex


def _log_private() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(H(LOG["log_key"]["ed25519_seed"]))


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- log-v1.json ------------------------------------------------------------------------------------------------


def test_the_log_key_gives_the_vkey():
    origin = LOG["log_key"]["origin"]
    assert p.make_vkey(origin, 0x01, _raw(_log_private())) == LOG["log_key"]["vkey"]
    key = p.parse_vkey(LOG["log_key"]["vkey"])
    assert key.name == origin and key.public == _raw(_log_private())


def test_instants_are_in_the_documented_form():
    for text, value in LOG["instants"].items():
        assert p.parse_instant(text).isoformat() == value
    for bad in ("2026-11-21T01:30:00Z", "2026-11-21T09:30:00+08:00", "2026-11-21T01:30:05.000000+00:00"):
        assert not p.is_instant(bad)


@pytest.mark.parametrize("item", LOG["entries"], ids=[e["kind"] for e in LOG["entries"]])
def test_every_entry_s_bytes_leaf_hash_and_fields(item):
    data = p.canonical_json(item["document"])
    assert data.hex() == item["bytes_hex"]
    assert p.parse_canonical(data) == item["document"]
    assert p.leaf_hash(data).hex() == item["leaf_hash"]
    kind = classify(item["document"])
    assert kind == item["kind"]
    assert check_fields(kind, item["document"]) == []


def test_the_payment_entry_is_known_by_its_kind_and_keeps_the_payment_s_own_kind_apart():
    payment = next(e for e in LOG["entries"] if e["kind"] == "payment")
    assert payment["document"]["kind"] == "payment" and payment["document"]["payment_kind"] == "progress"


def test_canonical_json_refuses_other_spellings():
    good = p.canonical_json({"b": "é\n\x01", "a": [1, True, None]})
    assert good == '{"a":[1,true,null],"b":"é\\n\\u0001"}'.encode()
    for bad in (b'{"a": 1}', b'{"b":1,"a":2}', b'{"a":1.0}', b'{"a":"\\u00e9"}', b'{"a":1,"a":1}', b'{"a":NaN}'):
        with pytest.raises(p.NotCanonical):
            p.parse_canonical(bad)


def test_the_bid_event_commitment_and_section_tag():
    v = LOG["bid_event"]
    assert v["label"].encode() == p.EVENT_LABEL + b"\x00"
    assert p.canonical_json(v["details"]).hex() == v["details_bytes_hex"]
    assert p.event_commitment(v["details"], H(v["salt"])) == v["commitment"]
    assert p.section_tag(H(v["section_tag_key"]), v["commitment"]) == v["section_tag"]
    entry = next(e for e in LOG["entries"] if e["kind"] == "bid_event")["document"]
    assert (entry["commitment"], entry["section_tag"]) == (v["commitment"], v["section_tag"])


def test_the_key_owner_commitment():
    v = LOG["key_owner"]
    assert v["label"] == "trading-bid/v1 key-owner\x00"  # a real NUL, as in the bid_event label
    assert p.sha256_hex(H(v["public_key"])) == v["details"]["key_sha256"]
    assert p.owner_commitment(v["details"], H(v["salt"])) == v["commitment"]
    entry = next(e for e in LOG["entries"] if e["kind"] == "signing_key")["document"]
    assert entry["owner_commitment"] == v["commitment"] and entry["key_sha256"] == v["details"]["key_sha256"]


def test_the_tree_roots_inclusion_and_consistency_proofs():
    tree = LOG["tree"]
    leaves = [H(x) for x in tree["leaf_hashes"]]
    assert tree["leaf_hashes"] == [e["leaf_hash"] for e in LOG["entries"]]
    for size, root in tree["roots"].items():
        assert p.tree_root(leaves, int(size)).hex() == root, size
    for case in tree["inclusion"]:
        root = H(tree["roots"][str(case["size"])])
        proof = [H(x) for x in case["proof"]]
        assert p.verify_inclusion(case["index"], case["size"], leaves[case["index"]], proof, root)
        assert p.inclusion_proof(leaves[: case["size"]], case["index"]) == proof
        assert not p.verify_inclusion(case["index"], case["size"], leaves[case["index"]], proof, p.sha256(b"x"))
    for case in tree["consistency"]:
        first, second = H(tree["roots"][str(case["first"])]), H(tree["roots"][str(case["second"])])
        proof = [H(x) for x in case["proof"]]
        assert p.verify_consistency(case["first"], case["second"], first, second, proof)
        assert p.consistency_proof(leaves[: case["second"]], case["first"]) == proof
        assert not p.verify_consistency(case["first"], case["second"], second, first, proof)


def test_generated_proofs_verify_for_every_size():
    leaves = [H(x) for x in LOG["tree"]["leaf_hashes"]]
    for n in range(1, len(leaves) + 1):
        root = p.tree_root(leaves, n)
        for m in range(n):
            assert p.verify_inclusion(m, n, leaves[m], p.inclusion_proof(leaves[:n], m), root)
        for m in range(1, n):
            proof = p.consistency_proof(leaves[:n], m)
            assert p.verify_consistency(m, n, p.tree_root(leaves, m), root, proof), (m, n)


def test_the_checkpoint_note_and_the_cosignature():
    v = LOG["checkpoint"]
    origin = LOG["log_key"]["origin"]
    size = len(LOG["entries"])
    root = H(LOG["tree"]["roots"][str(size)])
    assert v["text"] == f"{origin}\n{size}\n{p.b64(root)}\n"
    assert p.sign_note(v["text"], origin, _log_private()) == v["note"]
    key = p.parse_vkey(LOG["log_key"]["vkey"])
    cp = p.parse_checkpoint(p.verify_note(v["note"], key))
    assert (cp.origin, cp.size, cp.root) == (origin, size, root)
    witness = p.parse_vkey(v["witness_vkey"])
    assert witness.alg == 0x04
    line = v["cosignature_line"]
    assert line.startswith(p.DASH + witness.name + " ") and line.endswith("\n")
    blob = p.b64decode(line[len(p.DASH) + len(witness.name) + 1 : -1])
    assert p.verify_cosignature(v["text"], blob, witness) == v["witness_timestamp"]
    # served appended to the checkpoint, the cosignature is one more signature line of the note
    assert p.split_note(v["note"] + line).signatures[-1] == (witness.name, blob)
    with pytest.raises(ValueError):
        p.verify_cosignature(v["text"].replace("15", "16"), blob, witness)


def test_the_deadline_cut():
    v = LOG["deadline_cut"]
    key = p.parse_vkey(LOG["log_key"]["vkey"])
    assert p.sign_note(v["text"], key.name, _log_private()) == v["note"]
    cut = p.parse_cut(p.verify_note(v["note"], key))
    assert cut.tree_size == 2 and cut.root.hex() == LOG["tree"]["roots"]["2"]
    assert cut.origin == key.name and cut.section_id == 4301 and cut.cut_at >= cut.deadline


def test_the_deadline_cut_entry_carries_the_deadline_cut_vector():
    """The cut closes the two entries before it and is logged as the third."""
    entry = LOG["entries"][2]
    assert entry["kind"] == "deadline_cut" and entry["document"]["note"] == LOG["deadline_cut"]["note"]


# --- envelope-v1.json: what the price re-check needs --------------------------------------------------------------


def test_labels():
    assert ENV["labels"] == {
        "context": "trading-bid/v1 context",
        "chunk": "trading-bid/v1 chunk",
        "key_commitment": "trading-bid/v1 key-commitment",
        "share_commitment": "trading-bid/v1 share-commitment",
        "share": "trading-bid/v1 share",
    }


@pytest.mark.parametrize("case", ENV["chunked_aead"], ids=[c["name"] for c in ENV["chunked_aead"]])
def test_chunked_aead(case):
    key, ad, size, plain = H(case["key"]), H(case["associated_data"]), case["chunk_size"], H(case["plaintext"])
    chunks = p.encrypt_chunked(key, ad, size, plain)
    assert [(n.hex(), c.hex()) for n, c in chunks] == [(c["nonce"], c["ciphertext"]) for c in case["chunks"]]
    stream = b"".join(c for _, c in chunks)
    assert p.decrypt_chunked(key, ad, size, stream) == plain
    assert p.possible_ciphertext_size(size, len(stream)) == len(plain)


def _context(fields: dict, opener_keys: list[str]) -> bytes:
    return p.context_bytes(
        role=fields["role"],
        suite=fields["suite"],
        section_id=fields["section_id"],
        trade_code=fields["trade_code"],
        section_code=fields["section_code"],
        bidder_credit_code=fields["bidder_credit_code"],
        k=fields["k"],
        n=fields["n"],
        opener_key_hashes=[p.sha256(H(k)) for k in opener_keys],
    )


@pytest.mark.parametrize("bid", ENV["bids"], ids=[b["suite"] for b in ENV["bids"]])
def test_a_bid_s_price_rechecks_from_its_manifest_and_key(bid):
    context = _context(bid["context"], bid["context"]["opener_public_keys"])
    assert context.hex() == bid["context_bytes"]
    price = bid["envelopes"]["price"]
    assert p.chunk_ad(context, "price", price["chunk_size"]).hex() == price["associated_data"]
    key, plain = H(price["data_key"]), H(price["plaintext"])
    assert plain == p.canonical_json(bid["price_form"])
    chunks = p.encrypt_chunked(key, H(price["associated_data"]), price["chunk_size"], plain)
    assert [(n.hex(), c.hex()) for n, c in chunks] == [(c["nonce"], c["ciphertext"]) for c in price["chunks"]]
    ciphertext = b"".join(c for _, c in chunks)
    assert p.sha256_hex(ciphertext) == price["ciphertext_sha256"]
    assert p.key_commitment(context, "price", key) == price["key_commitment"]
    for i, (share, commitment) in enumerate(zip(price["shares"], price["share_commitments"], strict=True), 1):
        assert p.share_commitment(context, "price", i, H(share)) == commitment
    manifest_bytes = bid["manifest"].encode()
    manifest = p.parse_canonical(manifest_bytes)
    assert p.sha256_hex(manifest_bytes) == bid["manifest_sha256"]
    assert p.b64decode(manifest["signing_key"]).hex() == bid["signing_public_key"]
    assert p.verify_ed25519(H(bid["signing_public_key"]), H(bid["signature"]), manifest_bytes)
    assert p.context_from_manifest(manifest) == context  # the public re-check needs no opener keys
    assert p.recheck_price(manifest, key, ciphertext) == bid["price_form"]
    with pytest.raises(p.EnvelopeError) as wrong_key:
        p.recheck_price(manifest, bytes(32), ciphertext)
    assert wrong_key.value.code == "envelope.key_commitment_mismatch"
    with pytest.raises(p.EnvelopeError) as altered:
        p.recheck_price(manifest, key, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]))
    assert altered.value.code == "envelope.ciphertext_mismatch"


@pytest.mark.parametrize("case", MORE["negative"]["chunked_aead"]["cases"], ids=lambda c: c["name"])
def test_damaged_price_streams_give_the_documented_codes(case):
    v = MORE["negative"]["chunked_aead"]
    with pytest.raises(p.EnvelopeError) as err:
        p.decrypt_chunked(H(v["key"]), H(v["ad"]), v["chunk_size"], H(case["ciphertext"]))
    assert err.value.code == case["error"]


def test_the_undamaged_negative_stream_opens():
    v = MORE["negative"]["chunked_aead"]
    assert p.decrypt_chunked(H(v["key"]), H(v["ad"]), v["chunk_size"], H(v["ciphertext"])) == H(v["plaintext"])


@pytest.mark.parametrize("case", MORE["negative"]["ciphertext_sizes"], ids=lambda c: str(c["ciphertext_size"]))
def test_possible_ciphertext_sizes(case):
    assert p.possible_ciphertext_size(case["chunk_size"], case["ciphertext_size"]) == case["plaintext_size"]


@pytest.mark.parametrize("role", ["reserve", "bidder"])
def test_reserve_and_bidder_contexts_differ_in_every_price_value(role):
    rc = MORE["reserve_context"]
    v = rc[role]
    fields = {**{k: rc[k] for k in ("section_id", "trade_code", "section_code", "suite", "k", "n")}, **v}
    context = _context(fields, rc["opener_keys"])
    assert context.hex() == v["context_bytes"]
    assert p.chunk_ad(context, "price", rc["chunk_size"]).hex() == v["price_chunk_ad"]
    assert p.key_commitment(context, "price", H(v["data_key"])) == v["key_commitment"]
    for i, (share, commitment) in enumerate(zip(v["shares"], v["share_commitments"], strict=True), 1):
        assert p.share_commitment(context, "price", i, H(share)) == commitment


def test_share_consistency_key_commitment():
    v = MORE["share_consistency"]
    context = H(v["context_bytes"])
    assert p.key_commitment(context, v["envelope"], H(v["data_key"])) == v["key_commitment"]
    for i, (share, commitment) in enumerate(zip(v["shares"], v["share_commitments"], strict=True), 1):
        assert p.share_commitment(context, v["envelope"], i, H(share)) == commitment


def test_the_opening_form_rules():
    assert p.decode_opening_form(p.canonical_json({"total_price_fen": 1, "duration_days": 2, "quality": "合格"}))
    assert p.decode_opening_form(p.canonical_json({"total_price_fen": 1}), "reserve")
    for bad in (
        {"total_price_fen": 1, "duration_days": 2, "quality": "\u3000"},
        {"total_price_fen": True, "duration_days": 2, "quality": "q"},
        {"total_price_fen": 2**53, "duration_days": 2, "quality": "q"},
        {"total_price_fen": 1, "duration_days": 2, "quality": "q", "Bad": 1},
    ):
        with pytest.raises(p.EnvelopeError):
            p.decode_opening_form(p.canonical_json(bad))
