"""Suites and opener keys: encodings, key files at rest, and HPKE checked against RFC 9180."""

from __future__ import annotations

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

from bidding.envelope import (
    SUITE_HYBRID,
    SUITE_X25519,
    SUITES,
    InvalidKey,
    Malformed,
    ShareDecryptionFailed,
    UnsupportedSuite,
    WrongPassphrase,
    decode_private_key,
    decode_public_key,
    encode_private_key,
    encode_public_key,
    generate_opener_key,
    protect_private_key,
    unprotect_private_key,
)
from bidding.envelope.suites import hpke_open, hpke_seal, suite_info

#: Cheap Argon2id for tests; the default (t=3, 64 MiB, 4 lanes) is what real key files use.
FAST_KDF = {"iterations": 1, "memory_kib": 64, "lanes": 1}

SIZES = {SUITE_X25519: (32, 32, 32), SUITE_HYBRID: (1216, 96, 1120)}


@pytest.mark.parametrize("suite", SUITES)
def test_key_encodings_round_trip(suite):
    key = generate_opener_key(suite)
    public = encode_public_key(suite, key.public_key())
    private = encode_private_key(suite, key)
    assert (len(public), len(private), suite_info(suite).enc_size) == SIZES[suite]
    again = decode_private_key(suite, private)
    assert encode_private_key(suite, again) == private
    assert encode_public_key(suite, again.public_key()) == public
    assert decode_public_key(suite, public) == key.public_key()
    assert "key" not in repr(key).replace("PrivateKey", "")  # no key material in the repr


def test_hybrid_public_key_is_mlkem_then_x25519():
    key = generate_opener_key(SUITE_HYBRID)
    public = encode_public_key(SUITE_HYBRID, key.public_key())
    assert public[:1184] == key.mlkem.public_key().public_bytes_raw()
    assert public[1184:] == key.x25519.public_key().public_bytes_raw()
    private = encode_private_key(SUITE_HYBRID, key)
    assert private[:64] == key.mlkem.private_bytes_raw()
    assert private[64:] == key.x25519.private_bytes_raw()


def test_plain_x25519_keys_are_accepted_for_the_x25519_suite():
    raw = x25519.X25519PrivateKey.generate()
    assert encode_private_key(SUITE_X25519, raw) == raw.private_bytes_raw()
    assert encode_public_key(SUITE_X25519, raw.public_key()) == raw.public_key().public_bytes_raw()
    with pytest.raises(InvalidKey):
        encode_public_key(SUITE_HYBRID, raw.public_key())


@pytest.mark.parametrize("suite", SUITES)
def test_bad_keys_are_refused(suite):
    size = SIZES[suite][0]
    with pytest.raises(InvalidKey):
        decode_public_key(suite, b"\x01" * (size - 1))
    with pytest.raises(InvalidKey):  # a low-order X25519 point (zero)
        decode_public_key(suite, b"\x01" * (size - 32) + bytes(32))
    with pytest.raises(InvalidKey):
        decode_private_key(suite, b"\x01" * (SIZES[suite][1] + 1))
    other = SUITE_HYBRID if suite == SUITE_X25519 else SUITE_X25519
    with pytest.raises(InvalidKey):
        encode_public_key(other, generate_opener_key(suite).public_key())


def test_unknown_suite_is_refused():
    with pytest.raises(UnsupportedSuite):
        generate_opener_key("hpke-p256-sha256-aes128gcm")
    with pytest.raises(UnsupportedSuite):
        decode_public_key("sm2-sm3-sm4", bytes(32))


@pytest.mark.parametrize("suite", SUITES)
def test_hpke_binds_the_info_and_the_recipient(suite):
    key = generate_opener_key(suite)
    sealed = hpke_seal(suite, key.public_key(), b"share", b"info-1")
    assert len(sealed) == suite_info(suite).sealed_size(5)
    assert hpke_open(suite, key, sealed, b"info-1") == b"share"
    with pytest.raises(ShareDecryptionFailed):
        hpke_open(suite, key, sealed, b"info-2")
    with pytest.raises(ShareDecryptionFailed):
        hpke_open(suite, generate_opener_key(suite), sealed, b"info-1")
    with pytest.raises(ShareDecryptionFailed):
        hpke_open(suite, key, sealed[:-1], b"info-1")


@pytest.mark.parametrize("suite", SUITES)
def test_key_file_round_trip(suite):
    key = generate_opener_key(suite)
    blob = protect_private_key(suite, key, "开标口令 correct horse", **FAST_KDF)
    assert blob.startswith(b"TBIDKEY\x00\x01\x01")
    assert encode_private_key(suite, key) not in blob
    again = unprotect_private_key(blob, "开标口令 correct horse")
    assert encode_private_key(suite, again) == encode_private_key(suite, key)


def test_key_file_passphrase_is_nfc_normalised():
    key = generate_opener_key(SUITE_X25519)
    blob = protect_private_key(SUITE_X25519, key, "caf\u00e9", **FAST_KDF)
    assert unprotect_private_key(blob, "cafe\u0301").suite == SUITE_X25519


def test_key_file_wrong_passphrase_and_damage():
    key = generate_opener_key(SUITE_X25519)
    blob = protect_private_key(SUITE_X25519, key, "right", **FAST_KDF)
    with pytest.raises(WrongPassphrase) as excinfo:
        unprotect_private_key(blob, "wrong")
    assert excinfo.value.code == "envelope.wrong_passphrase"
    assert "口令错误" in excinfo.value.message_zh
    damaged = bytearray(blob)
    damaged[12] ^= 1  # the header is authenticated too (here: the Argon2 iterations)
    with pytest.raises((WrongPassphrase, Malformed)):
        unprotect_private_key(bytes(damaged), "right")
    with pytest.raises(Malformed):
        unprotect_private_key(b"-----BEGIN PRIVATE KEY-----", "right")
    with pytest.raises(Malformed):
        unprotect_private_key(blob[:-1], "right")
    with pytest.raises(InvalidKey):
        protect_private_key(SUITE_X25519, key, "", **FAST_KDF)


def test_key_file_refuses_absurd_kdf_parameters():
    key = generate_opener_key(SUITE_X25519)
    blob = bytearray(protect_private_key(SUITE_X25519, key, "pw", **FAST_KDF))
    blob[14:18] = (2**31).to_bytes(4, "big")  # memory cost: 2 TiB
    with pytest.raises(Malformed):
        unprotect_private_key(bytes(blob), "pw")


# RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode), encryption with
# sequence number 0. Text taken from the CFRG repository, cfrg/draft-irtf-cfrg-hpke, file
# auth48/draft-irtf-cfrg-hpke.txt (commit 8fc0f527186afec23fe2f79992066bff9a8ccfec), Appendix B.1.1 — the AUTH48
# text that became RFC 9180, where it is Appendix A.1.1. The RFC has no X25519 + AES-256-GCM vector; this one
# checks the same KEM and key schedule our suites use (only the AEAD key length differs).
RFC9180_A11 = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "pkRm": "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
    "skRm": "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
    "enc": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
    "aad": "436f756e742d30",
    "ct": "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
}


def test_rfc9180_a11_base_mode_vector():
    v = {name: bytes.fromhex(value) for name, value in RFC9180_A11.items()}
    recipient = x25519.X25519PrivateKey.from_private_bytes(v["skRm"])
    assert recipient.public_key().public_bytes_raw() == v["pkRm"]
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    # Only the private helper takes an aad; the vector's first encryption uses aad "Count-0".
    plaintext = rust_openssl.hpke._decrypt_with_aad(suite, v["enc"] + v["ct"], recipient, info=v["info"], aad=v["aad"])
    assert plaintext == v["pt"]
    # Our own X25519 key decoding reaches the same key pair.
    ours = decode_private_key(SUITE_X25519, v["skRm"])
    assert encode_public_key(SUITE_X25519, ours.public_key()) == v["pkRm"]


@pytest.mark.parametrize(
    ("iterations", "memory_kib", "lanes"), [(0, 64, 1), (65, 64, 1), (1, 64, 0), (1, 64, 256), (1, 63, 8)]
)
def test_a_key_file_is_never_written_with_parameters_a_reader_refuses(iterations, memory_kib, lanes):
    from bidding.envelope import InvalidKey, generate_opener_key, protect_private_key

    key = generate_opener_key(SUITE_X25519)
    with pytest.raises(InvalidKey):
        protect_private_key(SUITE_X25519, key, "口令", iterations=iterations, memory_kib=memory_kib, lanes=lanes)
