"""Rebuilding a documents key at the opening without touching the ciphertext (rebuild_key): the key that opens
the sealed documents, and the blame — the openers for missing or wrong shares, the bidder for shares that match
their commitments but not the key's."""

from __future__ import annotations

import os

import msgspec
import pytest

from bidding.envelope import (
    FAULT_BIDDER,
    SUITE_HYBRID,
    SUITE_X25519,
    NotEnoughShares,
    WrongSection,
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
        (1, 2),
    )


def test_a_manifest_for_another_section_is_refused(tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context, _, bid, manifest = seal(tmp_path, committee)
    shares = opened_shares(committee, context, bid, manifest, "documents", [1, 2])
    with pytest.raises(WrongSection):
        rebuild_key(manifest, make_context(committee, section_id=4302), "documents", shares, final=True)
