"""Rebuilding a documents key at the opening without touching the ciphertext (rebuild_key): the key that opens
the sealed documents, and the blame — the openers for missing or wrong shares, the bidder for shares that match
their commitments but not the key's."""

from __future__ import annotations

import hashlib
import os

import msgspec
import pytest

from bidding.envelope import (
    FAULT_BIDDER,
    SUITE_HYBRID,
    SUITE_X25519,
    DisputeUnfounded,
    InvalidKey,
    NotEnoughShares,
    SealedSharesMismatch,
    WrongSection,
    check_dispute,
    combine_and_open,
    iter_plaintext,
    rebuild_key,
    shamir,
)
from bidding.envelope.context import share_commitment
from bidding.envelope.documents import documents_tar_bytes
from tests.envelope import make_committee, make_context
from tests.envelope.test_seal_open import DOCS, opened_shares, seal, with_envelope


@pytest.mark.parametrize("suite", [SUITE_X25519, SUITE_HYBRID])
def test_k_shares_rebuild_the_documents_key_that_decrypts_what_the_bidder_sealed(tmp_path, suite):
    committee = make_committee(suite, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "documents", [1, 2, 3])
    result = rebuild_key(manifest, context, "documents", {2: shares[2], 3: shares[3]})
    assert result.ok and result.outcome == "opened"
    assert (result.reason, result.fault, result.used_shares, result.refused_shares) == ("", "", (2, 3), ())
    assert result.ciphertext_size == 0 and result.form is None  # the ciphertext was not read
    plaintext = b"".join(
        iter_plaintext(manifest, context, "documents", result.data_key, bid.iter_ciphertext("documents"))
    )
    assert plaintext == documents_tar_bytes(DOCS.items())
    # The same key combine_and_open finds by decrypting everything.
    assert combine_and_open(manifest, context, "documents", shares, bid.iter_ciphertext("documents")).data_key == (
        result.data_key
    )


def test_missing_or_wrong_shares_are_the_openers_fault(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    documents = opened_shares(committee, context, bid, manifest, "documents", [1, 2, 3])
    price = opened_shares(committee, context, bid, manifest, "price", [1, 2, 3])
    # While the ceremony waits, too few shares is an error; at the end (final) a failure blamed on the openers.
    with pytest.raises(NotEnoughShares):
        rebuild_key(manifest, context, "documents", {1: documents[1]})
    result = rebuild_key(manifest, context, "documents", {1: documents[1]}, final=True)
    assert not result.ok and result.data_key is None
    assert (result.reason, result.fault) == ("envelope.not_enough_shares", "opener:2,3")
    assert result.message_zh and result.message_en
    # Opener 2 uploads its price share as its documents share: refused, and blamed with the absent opener 3.
    result = rebuild_key(manifest, context, "documents", {1: documents[1], 2: price[2]}, final=True)
    assert (result.ok, result.reason, result.fault, result.refused_shares) == (
        False,
        "envelope.not_enough_shares",
        "opener:2,3",
        (2,),
    )
    # One wrong share among three: the other two still rebuild the key.
    result = rebuild_key(
        manifest, context, "documents", {1: bytes([1]) + os.urandom(32), 2: documents[2], 3: documents[3]}
    )
    assert result.ok and result.refused_shares == (1,) and result.used_shares == (2, 3)


def test_shares_that_match_their_commitments_but_not_the_key_are_the_bidders_fault(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, _, manifest = seal(tmp_path, committee)
    # The bidder committed to (and sealed) shares of some other key than the one that encrypted the documents.
    wrong = shamir.split(os.urandom(32), 2, 3)
    ctx = context.to_bytes()
    record = msgspec.structs.replace(
        manifest.envelopes["documents"],
        share_commitments=tuple(share_commitment(ctx, "documents", i, s).hex() for i, s in enumerate(wrong, 1)),
    )
    forged = with_envelope(manifest, "documents", record)
    result = rebuild_key(forged, context, "documents", {1: wrong[0], 2: wrong[1], 3: wrong[2]}, final=True)
    assert not result.ok and result.data_key is None
    assert (result.reason, result.fault, result.refused_shares, result.used_shares) == (
        "envelope.key_commitment_mismatch",
        FAULT_BIDDER,
        (),
        (1, 2, 3),
    )


def test_a_manifest_for_another_section_is_refused(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "documents", [1, 2])
    with pytest.raises(WrongSection):
        rebuild_key(manifest, make_context(committee, section_id=4302), "documents", shares, final=True)


def _inconsistent_dealing(tmp_path, envelope="price"):
    """k = 2, n = 3: shares 1 and 2 are the real key's; share 3 lies on another polynomial through share 1. Each
    matches the commitment the bidder signed for it. Under the old rule (the first k valid shares) the withholding
    of one opener decided: {1, 2} opens, {1, 3} and {2, 3} blame the bidder."""
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    good = opened_shares(committee, context, bid, manifest, envelope, [1, 2, 3])
    slope = os.urandom(32)  # another degree-1 polynomial through share 1: f'(x) = f(1) + slope·(x − 1)
    third = bytes([3]) + bytes(y ^ shamir.gf_mul(s, 3 ^ 1) for y, s in zip(good[1][1:], slope, strict=True))
    shares = {1: good[1], 2: good[2], 3: third}
    ctx = context.to_bytes()
    record = msgspec.structs.replace(
        manifest.envelopes[envelope],
        share_commitments=tuple(share_commitment(ctx, envelope, i, shares[i]).hex() for i in (1, 2, 3)),
    )
    return committee, context, bid, with_envelope(manifest, envelope, record), shares


def test_a_colluding_opener_cannot_steer_the_opening_by_withholding(tmp_path):
    _, context, _, manifest, shares = _inconsistent_dealing(tmp_path, "documents")
    # All three uploaded in the window: inconsistent, the bidder's fault — in whatever order they arrived.
    for order in ([1, 2, 3], [3, 1, 2], [2, 3, 1]):
        result = rebuild_key(manifest, context, "documents", {i: shares[i] for i in order}, final=True)
        assert not result.ok and result.data_key is None
        assert (result.reason, result.fault, result.used_shares) == (
            "envelope.inconsistent_shares",
            "bidder",
            (1, 2, 3),
        )
        assert result.details == {"basis": [1, 2], "off_polynomial": [3]}
        assert result.message_zh and result.message_en
    # Exactly k: the subset decides, and that is all the ceremony has — no check beyond the key commitment exists.
    assert rebuild_key(manifest, context, "documents", {1: shares[1], 2: shares[2]}).ok
    for pair in ((1, 3), (2, 3)):
        result = rebuild_key(manifest, context, "documents", {i: shares[i] for i in pair}, final=True)
        assert (result.reason, result.fault) == ("envelope.key_commitment_mismatch", "bidder")


def test_with_more_than_k_consistent_shares_any_order_opens_with_all_of_them_used(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 4)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "price", [1, 2, 3, 4])
    result = rebuild_key(manifest, context, "price", {4: shares[4], 2: shares[2], 3: shares[3]})
    assert result.ok and result.used_shares == (2, 3, 4)
    assert result.data_key == rebuild_key(manifest, context, "price", {1: shares[1], 3: shares[3]}).data_key


def test_an_opener_shows_that_the_bidder_sealed_it_garbage(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    sealed = bid.sealed_shares["price"]
    # The bidder sealed a share that matches its commitment to openers 2 and 3: a dispute by 2 is unfounded.
    with pytest.raises(DisputeUnfounded):
        check_dispute(manifest, context, "price", 2, committee.keys[1], sealed[1])
    # Someone else's key, or a sealed share the manifest does not name, proves nothing.
    with pytest.raises(InvalidKey):
        check_dispute(manifest, context, "price", 2, committee.keys[0], sealed[1])
    with pytest.raises(SealedSharesMismatch):
        check_dispute(manifest, context, "price", 2, committee.keys[1], sealed[0])
    # Garbage in the place of sealed share 1 (its hash signed in the manifest): it does not open.
    garbage = os.urandom(len(sealed[0]))
    forged = with_envelope(
        manifest,
        "price",
        msgspec.structs.replace(
            manifest.envelopes["price"],
            sealed_shares_sha256=(
                hashlib.sha256(garbage).hexdigest(),
                *manifest.envelopes["price"].sealed_shares_sha256[1:],
            ),
        ),
    )
    assert check_dispute(forged, context, "price", 1, committee.keys[0], garbage) == "envelope.share_undecryptable"
    # Openers 2 withholds too: one valid share, a founded dispute — disputed, not blamed on opener 1.
    shares = opened_shares(committee, context, bid, manifest, "price", [3])
    result = rebuild_key(forged, context, "price", shares, final=True, disputed=[1])
    assert (result.ok, result.outcome, result.reason, result.fault) == (
        False,
        "disputed",
        "envelope.share_disputed",
        "",
    )
    assert result.disputed_shares == (1,) and result.details["absent"] == [2]
    # With k valid shares besides it, the envelope opens and the dispute is recorded beside it.
    shares = opened_shares(committee, context, bid, manifest, "price", [2, 3])
    result = rebuild_key(forged, context, "price", shares, final=True, disputed=[1])
    assert result.ok and result.outcome == "opened" and result.disputed_shares == (1,) and result.fault == ""
