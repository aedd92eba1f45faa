"""The chunked AEAD: round trips, and every way of moving, cutting or flipping ciphertext is refused."""

from __future__ import annotations

import itertools
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.envelope import (
    SUITE_X25519,
    ChunkAuthenticationFailed,
    DecryptionFailed,
    TrailingCiphertext,
    TruncatedCiphertext,
)
from bidding.envelope.aead import (
    ChunkDecryptor,
    chunk_nonce,
    ciphertext_size,
    decrypt_bytes,
    encrypt_bytes,
    iter_decrypt,
    plaintext_size,
)
from bidding.envelope.context import chunk_associated_data
from tests.envelope import make_committee, make_context

CHUNK = 64
SEALED = CHUNK + 16


@pytest.fixture(scope="module")
def context():
    return make_context(make_committee(SUITE_X25519))


@pytest.fixture(scope="module")
def ad(context):
    return chunk_associated_data(context.to_bytes(), "documents", CHUNK)


def chunks_of(ciphertext: bytes) -> list[bytes]:
    return [ciphertext[i : i + SEALED] for i in range(0, len(ciphertext), SEALED)]


def test_nonce_layout():
    assert chunk_nonce(0, False) == bytes(12)
    assert chunk_nonce(1, True) == bytes(7) + b"\x00\x00\x00\x01" + b"\x01"
    assert chunk_nonce(0x01020304, False).hex() == "00000000000000010203040" + "0"
    with pytest.raises(ValueError):
        chunk_nonce(2**32, False)


def test_chunk_is_plain_aes_gcm_with_the_documented_nonce_and_ad(ad):
    key = os.urandom(32)
    plaintext = os.urandom(CHUNK * 2 + 5)
    ciphertext = encrypt_bytes(key, ad, CHUNK, plaintext)
    parts = chunks_of(ciphertext)
    aead = AESGCM(key)
    assert aead.decrypt(chunk_nonce(0, False), parts[0], ad) == plaintext[:CHUNK]
    assert aead.decrypt(chunk_nonce(1, False), parts[1], ad) == plaintext[CHUNK : 2 * CHUNK]
    assert aead.decrypt(chunk_nonce(2, True), parts[2], ad) == plaintext[2 * CHUNK :]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7])
def test_round_trip_and_sizes(ad, size):
    key = os.urandom(32)
    plaintext = os.urandom(size)
    ciphertext = encrypt_bytes(key, ad, CHUNK, plaintext)
    assert len(ciphertext) == ciphertext_size(size, CHUNK)
    assert plaintext_size(len(ciphertext), CHUNK) == size
    assert decrypt_bytes(key, ad, CHUNK, ciphertext) == plaintext


def test_empty_plaintext_is_one_empty_final_chunk(ad):
    key = os.urandom(32)
    ciphertext = encrypt_bytes(key, ad, CHUNK, b"")
    assert len(ciphertext) == 16
    assert AESGCM(key).decrypt(chunk_nonce(0, True), ciphertext, ad) == b""


def test_impossible_ciphertext_sizes():
    assert plaintext_size(0, CHUNK) is None
    assert plaintext_size(SEALED + 16, CHUNK) is None  # an empty final chunk after a full one
    assert plaintext_size(SEALED + 5, CHUNK) is None  # a final chunk shorter than its tag
    assert plaintext_size(SEALED + 17, CHUNK) == CHUNK + 1


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=600), cuts=st.lists(st.integers(min_value=0, max_value=700), max_size=8))
def test_round_trip_whatever_the_pieces(ad, plaintext, cuts):
    key = os.urandom(32)
    ciphertext = encrypt_bytes(key, ad, CHUNK, plaintext)
    edges = sorted({0, len(ciphertext), *(c for c in cuts if c < len(ciphertext))})
    pieces = [ciphertext[a:b] for a, b in itertools.pairwise(edges)]
    assert b"".join(iter_decrypt(key, ad, CHUNK, pieces)) == plaintext


@settings(max_examples=80, deadline=None)
@given(plaintext=st.binary(min_size=0, max_size=300), data=st.data())
def test_any_flipped_bit_is_refused(ad, plaintext, data):
    key = os.urandom(32)
    ciphertext = bytearray(encrypt_bytes(key, ad, CHUNK, plaintext))
    position = data.draw(st.integers(min_value=0, max_value=len(ciphertext) * 8 - 1))
    ciphertext[position // 8] ^= 1 << (position % 8)
    with pytest.raises(DecryptionFailed):
        decrypt_bytes(key, ad, CHUNK, bytes(ciphertext))


def test_dropping_final_chunks_is_truncation(ad):
    key = os.urandom(32)
    ciphertext = encrypt_bytes(key, ad, CHUNK, os.urandom(4 * CHUNK + 10))
    parts = chunks_of(ciphertext)
    for keep in range(1, len(parts)):
        with pytest.raises(TruncatedCiphertext):
            decrypt_bytes(key, ad, CHUNK, b"".join(parts[:keep]))
    with pytest.raises(TruncatedCiphertext):
        decrypt_bytes(key, ad, CHUNK, b"")
    with pytest.raises(TruncatedCiphertext):
        decrypt_bytes(key, ad, CHUNK, ciphertext[:10])


def test_cutting_inside_the_final_chunk_is_refused(ad):
    key = os.urandom(32)
    ciphertext = encrypt_bytes(key, ad, CHUNK, os.urandom(2 * CHUNK + 30))
    with pytest.raises(DecryptionFailed):
        decrypt_bytes(key, ad, CHUNK, ciphertext[:-1])


def test_reordered_chunks_are_refused(ad):
    key = os.urandom(32)
    parts = chunks_of(encrypt_bytes(key, ad, CHUNK, os.urandom(3 * CHUNK + 10)))
    for order in ([1, 0, 2, 3], [0, 2, 1, 3], [0, 1, 3, 2], [3, 0, 1, 2]):
        with pytest.raises(ChunkAuthenticationFailed):
            decrypt_bytes(key, ad, CHUNK, b"".join(parts[i] for i in order))
    with pytest.raises(ChunkAuthenticationFailed):  # a chunk dropped from the middle
        decrypt_bytes(key, ad, CHUNK, parts[0] + parts[2] + parts[3])
    with pytest.raises(ChunkAuthenticationFailed):  # a chunk repeated
        decrypt_bytes(key, ad, CHUNK, parts[0] + parts[0] + parts[1] + parts[2] + parts[3])


def test_data_after_the_final_chunk_is_refused(ad):
    key = os.urandom(32)
    full = encrypt_bytes(key, ad, CHUNK, os.urandom(2 * CHUNK))  # final chunk is a full one
    with pytest.raises(TrailingCiphertext):
        decrypt_bytes(key, ad, CHUNK, full + os.urandom(SEALED))
    decryptor = ChunkDecryptor(key, ad, CHUNK)
    decryptor.feed(full)
    decryptor.finish()
    with pytest.raises(TrailingCiphertext):
        decryptor.feed(b"x")


def test_an_empty_final_chunk_after_a_full_one_is_refused(ad):
    key = os.urandom(32)
    aead = AESGCM(key)
    forged = aead.encrypt(chunk_nonce(0, False), bytes(CHUNK), ad) + aead.encrypt(chunk_nonce(1, True), b"", ad)
    with pytest.raises(ChunkAuthenticationFailed):
        decrypt_bytes(key, ad, CHUNK, forged)


def test_chunks_swapped_between_envelopes_or_bids_are_refused(context):
    ctx = context.to_bytes()
    ad_price = chunk_associated_data(ctx, "price", CHUNK)
    ad_docs = chunk_associated_data(ctx, "documents", CHUNK)
    key_a, key_b = os.urandom(32), os.urandom(32)
    docs = chunks_of(encrypt_bytes(key_a, ad_docs, CHUNK, os.urandom(2 * CHUNK + 3)))
    price = chunks_of(encrypt_bytes(key_b, ad_price, CHUNK, os.urandom(2 * CHUNK + 3)))
    with pytest.raises(ChunkAuthenticationFailed):
        decrypt_bytes(key_a, ad_docs, CHUNK, docs[0] + price[1] + docs[2])
    # Same key used in both places (never happens, keys are fresh) still fails: the AD names the envelope.
    same_key_price = chunks_of(encrypt_bytes(key_a, ad_price, CHUNK, os.urandom(2 * CHUNK + 3)))
    with pytest.raises(ChunkAuthenticationFailed):
        decrypt_bytes(key_a, ad_docs, CHUNK, docs[0] + same_key_price[1] + docs[2])
    # Another bidder's bid in the same section, same key by accident: the AD names the bidder.
    other_bid = context.__class__(**{**_fields(context), "bidder_credit_code": "91430100MA4L9Z8W7V"})
    ad_other = chunk_associated_data(other_bid.to_bytes(), "documents", CHUNK)
    other = chunks_of(encrypt_bytes(key_a, ad_other, CHUNK, os.urandom(2 * CHUNK + 3)))
    with pytest.raises(ChunkAuthenticationFailed):
        decrypt_bytes(key_a, ad_docs, CHUNK, docs[0] + other[1] + docs[2])


def _fields(context):
    return {name: getattr(context, name) for name in context.__struct_fields__}


@pytest.mark.parametrize(
    "change",
    [
        {"section_id": 4302},
        {"section_code": "A4301002026000123002"},
        {"trade_code": "A4301002026000999"},
        {"bidder_credit_code": "91430100MA4L9Z8W7V"},
        {"role": "reserve"},
        {"k": 3},
    ],
)
def test_wrong_associated_data_is_refused(context, change):
    key = os.urandom(32)
    ciphertext = encrypt_bytes(key, chunk_associated_data(context.to_bytes(), "price", CHUNK), CHUNK, b"price form")
    other = context.__class__(**{**_fields(context), **change})
    with pytest.raises(ChunkAuthenticationFailed):
        decrypt_bytes(key, chunk_associated_data(other.to_bytes(), "price", CHUNK), CHUNK, ciphertext)
    with pytest.raises(ChunkAuthenticationFailed):  # the other envelope's name
        decrypt_bytes(key, chunk_associated_data(context.to_bytes(), "documents", CHUNK), CHUNK, ciphertext)
    with pytest.raises(ChunkAuthenticationFailed):  # another chunk size
        decrypt_bytes(key, chunk_associated_data(context.to_bytes(), "price", CHUNK + 1), CHUNK + 1, ciphertext)


def test_another_committee_changes_the_context(context):
    other = make_context(make_committee(SUITE_X25519))
    assert other.to_bytes() != context.to_bytes()
