"""Sealing and opening on both suites: every k-subset opens, and every failure is blamed on the right party."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
from datetime import UTC, datetime

import msgspec
import pytest

from bidding.envelope import (
    ENVELOPES,
    FAULT_BIDDER,
    FAULT_PLATFORM,
    ROLE_RESERVE,
    SUITE_HYBRID,
    SUITE_X25519,
    SUITES,
    CiphertextMismatch,
    InvalidDocuments,
    InvalidKey,
    InvalidPriceForm,
    KeyCommitmentMismatch,
    NotEnoughShares,
    ShareCommitmentMismatch,
    ShareDecryptionFailed,
    WrongSection,
    check_submission,
    combine_and_open,
    decrypt_with_key,
    extract_documents,
    iter_plaintext,
    open_share,
    read_sealed_bid,
    recheck_price,
    seal_bid,
    shamir,
)
from bidding.envelope.context import share_commitment
from bidding.envelope.manifest import EnvelopeRecord
from bidding.envelope.seal import EnvelopeWriter, envelope_record, split_and_seal_key
from tests.envelope import PRICE_FORM, make_committee, make_context, new_signing_key

DOCS = {
    "商务标/报价说明.txt": "总价壹拾贰亿捌仟陆佰肆拾伍万元整\n".encode() * 50,
    "技术标/施工组织设计.pdf": os.urandom(70_000),
}


def write_docs(folder):
    for name, data in DOCS.items():
        path = folder.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def seal(tmp_path, committee, *, chunk_size=4096, **context_changes):
    context = make_context(committee, **context_changes)
    signing_key = new_signing_key()
    docs = write_docs(tmp_path / "docs") if not (tmp_path / "docs").exists() else tmp_path / "docs"
    out = tmp_path / f"bid-{os.urandom(4).hex()}.bid"
    info = seal_bid(context, signing_key, PRICE_FORM, docs, out, chunk_size=chunk_size)
    bid = read_sealed_bid(out)
    manifest = check_submission(bid.manifest_bytes, bid.signature, bid.sealed_shares, context, signing_key.public_key())
    assert bid.manifest_bytes == info.manifest_bytes and bid.signature == info.signature
    return context, signing_key, bid, manifest


def opened_shares(committee, context, bid, manifest, envelope, indices):
    return {
        i: open_share(
            committee.suite,
            committee.keys[i - 1],
            context,
            envelope,
            i,
            bid.sealed_shares[envelope][i - 1],
            manifest=manifest,
        )
        for i in indices
    }


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize(("k", "n"), [(2, 3), (3, 5)])
def test_every_k_subset_opens_both_envelopes(tmp_path, suite, k, n):
    committee = make_committee(suite, k, n)
    context, _, bid, manifest = seal(tmp_path, committee)
    all_shares = {env: opened_shares(committee, context, bid, manifest, env, range(1, n + 1)) for env in ENVELOPES}
    for subset in itertools.combinations(range(1, n + 1), k):
        price = combine_and_open(
            manifest, context, "price", {i: all_shares["price"][i] for i in subset}, bid.iter_ciphertext("price")
        )
        assert price.ok, price
        assert price.form == PRICE_FORM
        assert price.used_shares == subset
        assert (price.fault, price.reason, price.refused_shares) == ("", "", ())
        out = io.BytesIO()
        documents = combine_and_open(
            manifest,
            context,
            "documents",
            {i: all_shares["documents"][i] for i in subset},
            bid.iter_ciphertext("documents", block_size=10_000),
            out=out,
        )
        assert documents.ok and documents.form is None
        assert documents.ciphertext_sha256 == manifest.envelopes["documents"].ciphertext_sha256
        if subset == tuple(range(1, k + 1)):
            out.seek(0)
            target = tmp_path / "opened"
            assert sorted(extract_documents(out, target)) == sorted(DOCS)
            for name, data in DOCS.items():
                assert target.joinpath(*name.split("/")).read_bytes() == data
    for subset in itertools.combinations(range(1, n + 1), k - 1):
        with pytest.raises(NotEnoughShares):
            combine_and_open(
                manifest, context, "price", {i: all_shares["price"][i] for i in subset}, bid.iter_ciphertext("price")
            )


def test_the_public_can_recheck_a_price_with_the_published_key(tmp_path):
    committee = make_committee(SUITE_X25519)
    context, _, bid, manifest = seal(tmp_path, committee)
    result = combine_and_open(
        manifest,
        context,
        "price",
        opened_shares(committee, context, bid, manifest, "price", [2, 3]),
        bid.iter_ciphertext("price"),
    )
    # Anyone with the logged manifest, the ciphertext and the published key — no context needed.
    assert recheck_price(manifest, result.data_key, bid.iter_ciphertext("price")) == PRICE_FORM
    assert recheck_price(manifest, result.data_key, bid.iter_ciphertext("price"), context=context) == PRICE_FORM
    with pytest.raises(KeyCommitmentMismatch):
        recheck_price(manifest, os.urandom(32), bid.iter_ciphertext("price"))
    tampered = bytearray(b"".join(bid.iter_ciphertext("price")))
    tampered[3] ^= 0x40
    with pytest.raises(CiphertextMismatch):
        decrypt_with_key(manifest, None, "price", result.data_key, [bytes(tampered)])
    with pytest.raises(WrongSection):
        decrypt_with_key(
            manifest, make_context(committee, section_id=1), "price", result.data_key, bid.iter_ciphertext("price")
        )
    docs_key = combine_and_open(
        manifest,
        context,
        "documents",
        opened_shares(committee, context, bid, manifest, "documents", [1, 2]),
        bid.iter_ciphertext("documents"),
    ).data_key
    plaintext = b"".join(iter_plaintext(manifest, None, "documents", docs_key, bid.iter_ciphertext("documents")))
    assert plaintext.startswith(b"././@PaxHeader") and plaintext.endswith(bytes(1024))


def test_a_bad_share_is_blamed_on_its_opener_and_the_rest_still_open(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "price", [1, 2, 3])
    bad = dict(shares)
    bad[2] = bytes([2]) + os.urandom(32)
    result = combine_and_open(manifest, context, "price", bad, bid.iter_ciphertext("price"))
    assert result.ok and result.refused_shares == (2,) and result.used_shares == (1, 3)
    assert result.form == PRICE_FORM
    # Too few valid shares left: an error while the ceremony waits, a failure blamed on the openers at the end.
    only = {1: shares[1], 2: bad[2]}
    with pytest.raises(NotEnoughShares):
        combine_and_open(manifest, context, "price", only, bid.iter_ciphertext("price"))
    result = combine_and_open(manifest, context, "price", only, bid.iter_ciphertext("price"), final=True)
    assert not result.ok
    assert (result.reason, result.fault) == ("envelope.not_enough_shares", "opener:2,3")
    assert result.data_key is None
    # A share presented under another opener's index is refused too.
    swapped = {1: shares[2], 3: shares[3]}
    result = combine_and_open(manifest, context, "price", swapped, bid.iter_ciphertext("price"), final=True)
    assert (result.fault, result.refused_shares) == ("opener:1,2", (1,))


def forge_envelope(context, envelope, plaintext, *, chunk_size=4096, data_key=None):
    """What a careless or dishonest bidder client could produce, built from the format's own parts."""
    data_key = data_key or os.urandom(32)
    parts = []
    writer = EnvelopeWriter(context.to_bytes(), envelope, data_key, parts.append, chunk_size=chunk_size)
    writer.write(plaintext)
    digest = writer.close()
    keys = split_and_seal_key(context, envelope, data_key)
    return envelope_record(context, envelope, data_key, writer, digest, keys), keys, b"".join(parts)


def with_envelope(manifest, envelope, record):
    return msgspec.structs.replace(manifest, envelopes={**manifest.envelopes, envelope: record})


def test_shares_that_rebuild_a_key_failing_its_commitment_are_the_bidders_fault(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, _bid, manifest = seal(tmp_path, committee)
    record, _keys, ciphertext = forge_envelope(context, "price", b'{"total_price_fen":1}')
    # The bidder committed to shares of some other key: they match their commitments, the key does not.
    wrong_shares = shamir.split(os.urandom(32), 2, 3)
    ctx = context.to_bytes()
    forged = msgspec.structs.replace(
        record,
        share_commitments=tuple(share_commitment(ctx, "price", i, s).hex() for i, s in enumerate(wrong_shares, 1)),
    )
    manifest = with_envelope(manifest, "price", forged)
    result = combine_and_open(manifest, context, "price", {1: wrong_shares[0], 3: wrong_shares[2]}, [ciphertext])
    assert not result.ok
    assert (result.reason, result.fault, result.refused_shares) == (
        "envelope.key_commitment_mismatch",
        FAULT_BIDDER,
        (),
    )
    assert result.message_en and result.message_zh


def test_a_ciphertext_that_does_not_decrypt_under_the_committed_key_is_the_bidders_fault(tmp_path):
    committee = make_committee(SUITE_HYBRID, 2, 3)
    context, _, _bid, manifest = seal(tmp_path, committee)
    record, keys, _ = forge_envelope(context, "price", b'{"total_price_fen":1}')
    garbage = os.urandom(record.ciphertext_size)
    forged = msgspec.structs.replace(record, ciphertext_sha256=hashlib.sha256(garbage).hexdigest())
    manifest = with_envelope(manifest, "price", forged)
    result = combine_and_open(manifest, context, "price", {1: keys.shares[0], 2: keys.shares[1]}, [garbage])
    assert (result.ok, result.reason, result.fault) == (False, "envelope.chunk_tampered", FAULT_BIDDER)
    assert result.data_key is not None  # published, so anyone can see the ciphertext really does not open


@pytest.mark.parametrize(
    "plaintext",
    [
        '{"duration_days":30,"quality":"合格","total_price_fen":1.5}'.encode(),
        '{"duration_days": 30, "quality": "合格", "total_price_fen": 100}'.encode(),  # not canonical
        '{"total_price_fen":100,"duration_days":30,"quality":"合格"}'.encode(),  # keys not sorted
        '{"duration_days":-1,"quality":"合格","total_price_fen":100}'.encode(),
        '{"quality":"合格","total_price_fen":100}'.encode(),
        b"\xff\xfe",
        b"x" * 20_000,
    ],
)
def test_an_invalid_opening_form_is_the_bidders_fault(tmp_path, plaintext):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, _bid, manifest = seal(tmp_path, committee)
    record, keys, ciphertext = forge_envelope(context, "price", plaintext, chunk_size=64)
    manifest = with_envelope(manifest, "price", record)
    result = combine_and_open(manifest, context, "price", {2: keys.shares[1], 3: keys.shares[2]}, [ciphertext])
    assert (result.ok, result.reason, result.fault) == (False, InvalidPriceForm.code, FAULT_BIDDER)


def test_an_opening_form_missing_a_field_the_tender_names_is_refused(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "price", [1, 2])
    ok = combine_and_open(
        manifest, context, "price", shares, bid.iter_ciphertext("price"), price_fields=["project_manager"]
    )
    assert ok.ok
    missing = combine_and_open(
        manifest, context, "price", shares, bid.iter_ciphertext("price"), price_fields=["safety_plan"]
    )
    assert (missing.ok, missing.fault, missing.details) == (False, FAULT_BIDDER, {"field": "safety_plan"})


def test_a_stored_ciphertext_that_differs_from_the_manifest_is_the_platforms_fault(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "documents", [1, 2])
    stored = bytearray(b"".join(bid.iter_ciphertext("documents")))
    stored[100] ^= 1
    result = combine_and_open(manifest, context, "documents", shares, [bytes(stored)])
    assert (result.ok, result.reason, result.fault) == (False, "envelope.ciphertext_mismatch", FAULT_PLATFORM)
    truncated = bytes(stored[: -(4096 + 16)])
    result = combine_and_open(manifest, context, "documents", shares, [truncated])
    assert (result.reason, result.fault) == ("envelope.ciphertext_mismatch", FAULT_PLATFORM)


def test_the_opener_learns_of_a_bad_sealed_share_before_uploading(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, _bid, manifest = seal(tmp_path, committee)
    record, keys, _ = forge_envelope(context, "price", b"{}")
    # The bidder's manifest commits to one set of shares, but seals other shares (of another key) to the openers.
    manifest = with_envelope(
        manifest,
        "price",
        msgspec.structs.replace(record, share_commitments=manifest.envelopes["price"].share_commitments),
    )
    with pytest.raises(ShareCommitmentMismatch):
        open_share(SUITE_X25519, committee.keys[0], context, "price", 1, keys.sealed_shares[0], manifest=manifest)
    share = open_share(SUITE_X25519, committee.keys[0], context, "price", 1, keys.sealed_shares[0])
    assert len(share) == 33 and share[0] == 1


def test_a_share_sealed_for_another_section_or_opener_does_not_open(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, _manifest = seal(tmp_path, committee)
    other_section = make_context(committee, section_id=context.section_id + 1)
    sealed = bid.sealed_shares["price"][0]
    with pytest.raises(ShareDecryptionFailed):
        open_share(SUITE_X25519, committee.keys[0], other_section, "price", 1, sealed)
    with pytest.raises(ShareDecryptionFailed):  # the documents envelope's info
        open_share(SUITE_X25519, committee.keys[0], context, "documents", 1, sealed)
    with pytest.raises(InvalidKey):  # opener 2's key for opener 1's share
        open_share(SUITE_X25519, committee.keys[1], context, "price", 1, sealed)
    with pytest.raises(InvalidKey):
        open_share(SUITE_HYBRID, committee.keys[0], context, "price", 1, sealed)


def test_a_reserve_price_is_sealed_the_same_way_with_the_reserve_role(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context = make_context(committee, role=ROLE_RESERVE, bidder_credit_code="12430100MB1234567X")
    staff_key = new_signing_key()
    out = tmp_path / "reserve.bid"
    info = seal_bid(
        context,
        staff_key,
        {"total_price_fen": 1_300_000_000, "kind": "底价"},
        [],
        out,
        sealed_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )
    assert b'"role":"reserve"' in info.manifest_bytes and b'"sealed_at":"2026-03-02T01:00:00Z"' in info.manifest_bytes
    bid = read_sealed_bid(out)
    manifest = check_submission(bid.manifest_bytes, bid.signature, bid.sealed_shares, context, staff_key.public_key())
    shares = opened_shares(committee, context, bid, manifest, "price", [1, 3])
    result = combine_and_open(manifest, context, "price", shares, bid.iter_ciphertext("price"))
    assert result.ok and result.form == {"total_price_fen": 1_300_000_000, "kind": "底价"}
    # The same sealing under the bidder role needs the full opening form.
    with pytest.raises(InvalidPriceForm):
        seal_bid(make_context(committee), staff_key, {"total_price_fen": 1}, [], tmp_path / "x.bid")


def test_each_sealing_is_unique(tmp_path):
    committee = make_committee(SUITE_X25519)
    _, _, _first, m1 = seal(tmp_path, committee)
    _, _, _second, m2 = seal(tmp_path, committee)
    assert m1.nonce != m2.nonce
    assert m1.envelopes["price"].key_commitment != m2.envelopes["price"].key_commitment


def test_progress_reports_document_bytes(tmp_path):
    committee = make_committee(SUITE_X25519)
    seen = []
    seal_bid(
        make_context(committee),
        new_signing_key(),
        PRICE_FORM,
        write_docs(tmp_path / "docs"),
        io.BytesIO(),
        progress=seen.append,
    )
    assert seen and seen[-1] == sum(len(d) for d in DOCS.values())
    assert seen == sorted(seen)


def test_sealing_to_a_stream_and_to_a_path_give_the_same_structure(tmp_path):
    committee = make_committee(SUITE_X25519)
    context = make_context(committee)
    buffer = io.BytesIO()
    info = seal_bid(
        context,
        new_signing_key(),
        PRICE_FORM,
        [("a.txt", write_docs(tmp_path / "d") / "商务标" / "报价说明.txt")],
        buffer,
    )
    assert info.size == len(buffer.getvalue())
    buffer.seek(0)
    bid = read_sealed_bid(buffer)
    assert bid.manifest_bytes == info.manifest_bytes
    assert isinstance(bid.manifest.envelopes["documents"], EnvelopeRecord)
    assert not list(tmp_path.glob("*.partial"))


def test_sealing_into_a_path_writes_the_documents_in_place_and_leaves_nothing_when_a_file_changes(tmp_path):
    """The documents ciphertext goes straight to its place in the file, the head is written after it: the file
    reads back whole (a long, non-ASCII name and a big file, so the head holds pax records). A file that grows
    while it is sealed is refused, and neither the bid nor a partial file is left."""
    committee = make_committee(SUITE_X25519)
    context = make_context(committee)
    docs = tmp_path / "docs"
    (docs / "技术标" / ("很长的文件名" * 10)).mkdir(parents=True)
    big = docs / "技术标" / ("很长的文件名" * 10) / "施工图纸.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    out = tmp_path / "bid.bid"
    info = seal_bid(context, new_signing_key(), PRICE_FORM, docs, out, chunk_size=65536)
    assert info.size == out.stat().st_size
    bid = read_sealed_bid(out)
    assert bid.manifest_bytes == info.manifest_bytes
    record = bid.manifest.envelope("documents")
    ciphertext = b"".join(bid.iter_ciphertext("documents"))
    assert (
        len(ciphertext) == record.ciphertext_size and hashlib.sha256(ciphertext).hexdigest() == record.ciphertext_sha256
    )

    def grow(done: int) -> None:
        if done == 1024 * 1024:
            with open(big, "ab") as fh:
                fh.write(b"appended while sealing")

    with pytest.raises(InvalidDocuments):
        seal_bid(context, new_signing_key(), PRICE_FORM, docs, tmp_path / "changed.bid", progress=grow)
    assert not (tmp_path / "changed.bid").exists() and not list(tmp_path.glob(".*.partial"))
