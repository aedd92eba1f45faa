"""Algorithm suites and opener keys: HPKE (RFC 9180) sealing of key shares, key encodings and key files at rest.

A suite names everything an envelope needs: the HPKE KEM, KDF and AEAD that seal key shares to openers, and the
payload AEAD (AES-256-GCM with SHA-256 commitments). Two suites exist in v1:

* ``hpke-x25519-sha256-aes256gcm`` — DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM;
* ``hpke-mlkem768x25519-sha256-aes256gcm`` — the hybrid post-quantum KEM ML-KEM-768 + X25519 as implemented by
  ``cryptography`` (``hpke.KEM.MLKEM768_X25519``), HKDF-SHA256, AES-256-GCM.

``cryptography`` does not hand back the halves of a hybrid key, so opener keys are wrapped in
:class:`OpenerPrivateKey` / :class:`OpenerPublicKey`, which keep the component keys and give the HPKE key object
on demand.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from .errors import InvalidKey, Malformed, ShareDecryptionFailed, UnsupportedSuite, WrongPassphrase

SUITE_X25519 = "hpke-x25519-sha256-aes256gcm"
SUITE_HYBRID = "hpke-mlkem768x25519-sha256-aes256gcm"
SUITES = (SUITE_X25519, SUITE_HYBRID)

X25519_KEY_SIZE = 32
MLKEM768_PUBLIC_KEY_SIZE = 1184
MLKEM768_SEED_SIZE = 64
MLKEM768_CIPHERTEXT_SIZE = 1088
HPKE_TAG_SIZE = 16


@dataclass(frozen=True)
class SuiteInfo:
    name: str
    public_key_size: int
    private_key_size: int
    #: Length of HPKE's encapsulated key ``enc``, which starts every sealed share.
    enc_size: int

    def sealed_size(self, plaintext_size: int) -> int:
        """Length of an HPKE-sealed message: ``enc ‖ ciphertext ‖ tag``."""
        return self.enc_size + plaintext_size + HPKE_TAG_SIZE


_INFO = {
    SUITE_X25519: SuiteInfo(SUITE_X25519, X25519_KEY_SIZE, X25519_KEY_SIZE, X25519_KEY_SIZE),
    SUITE_HYBRID: SuiteInfo(
        SUITE_HYBRID,
        MLKEM768_PUBLIC_KEY_SIZE + X25519_KEY_SIZE,
        MLKEM768_SEED_SIZE + X25519_KEY_SIZE,
        MLKEM768_CIPHERTEXT_SIZE + X25519_KEY_SIZE,
    ),
}

_HPKE_SUITES = {
    SUITE_X25519: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    SUITE_HYBRID: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}


def suite_info(suite: str) -> SuiteInfo:
    try:
        return _INFO[suite]
    except (KeyError, TypeError):
        raise UnsupportedSuite(
            f"不支持的算法套件：{suite!r}", f"Unsupported algorithm suite: {suite!r}", details={"suite": str(suite)}
        ) from None


@dataclass(frozen=True, eq=False)
class OpenerPublicKey:
    """An opener's HPKE public key for one suite (the hybrid one keeps both halves)."""

    suite: str
    x25519: x25519.X25519PublicKey
    mlkem: mlkem.MLKEM768PublicKey | None = None

    def hpke_key(self) -> x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey:
        if self.suite == SUITE_HYBRID:
            assert self.mlkem is not None
            return hpke.MLKEM768X25519PublicKey(self.mlkem, self.x25519)
        return self.x25519

    def to_bytes(self) -> bytes:
        raw = self.x25519.public_bytes_raw()
        if self.suite == SUITE_HYBRID:
            assert self.mlkem is not None
            return self.mlkem.public_bytes_raw() + raw
        return raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpenerPublicKey) and (self.suite, self.to_bytes()) == (other.suite, other.to_bytes())

    def __hash__(self) -> int:
        return hash((self.suite, self.to_bytes()))


@dataclass(frozen=True, eq=False, repr=False)
class OpenerPrivateKey:
    """An opener's HPKE private key (开标人私钥): generated and kept on the opener's own machine."""

    suite: str
    x25519: x25519.X25519PrivateKey
    mlkem: mlkem.MLKEM768PrivateKey | None = None

    def __repr__(self) -> str:  # never print key material
        return f"OpenerPrivateKey(suite={self.suite!r})"

    def public_key(self) -> OpenerPublicKey:
        return OpenerPublicKey(
            self.suite, self.x25519.public_key(), self.mlkem.public_key() if self.mlkem is not None else None
        )

    def hpke_key(self) -> x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey:
        if self.suite == SUITE_HYBRID:
            assert self.mlkem is not None
            return hpke.MLKEM768X25519PrivateKey(self.mlkem, self.x25519)
        return self.x25519

    def to_bytes(self) -> bytes:
        raw = self.x25519.private_bytes_raw()
        if self.suite == SUITE_HYBRID:
            assert self.mlkem is not None
            return self.mlkem.private_bytes_raw() + raw
        return raw


def generate_opener_key(suite: str) -> OpenerPrivateKey:
    """A fresh opener key pair for ``suite`` (run on the opener's machine; the private key never leaves it)."""
    suite_info(suite)
    if suite == SUITE_HYBRID:
        return OpenerPrivateKey(suite, x25519.X25519PrivateKey.generate(), mlkem.MLKEM768PrivateKey.generate())
    return OpenerPrivateKey(suite, x25519.X25519PrivateKey.generate())


def _bad_key(suite: str, what: str, size: int) -> InvalidKey:
    return InvalidKey(
        f"{suite} 的{what}应为 {size} 字节", f"A {suite} {what} must be {size} bytes", details={"suite": suite}
    )


def _check_x25519_public(key: x25519.X25519PublicKey, suite: str) -> None:
    # A low-order point gives an all-zero shared secret, which X25519 refuses: refuse such a key up front.
    probe = x25519.X25519PrivateKey.from_private_bytes(b"\x01" * 32)
    try:
        probe.exchange(key)
    except ValueError:
        raise InvalidKey(
            "X25519 公钥无效（低阶点）", "The X25519 public key is a low-order point", details={"suite": suite}
        ) from None


def encode_public_key(suite: str, public_key: OpenerPublicKey | x25519.X25519PublicKey) -> bytes:
    """Raw public key bytes: X25519 32 bytes; hybrid ML-KEM-768 public key (1184) ‖ X25519 (32)."""
    suite_info(suite)
    if isinstance(public_key, x25519.X25519PublicKey):
        if suite != SUITE_X25519:
            raise InvalidKey("公钥与算法套件不符", "The public key does not belong to this suite")
        return public_key.public_bytes_raw()
    if public_key.suite != suite:
        raise InvalidKey("公钥与算法套件不符", "The public key does not belong to this suite")
    return public_key.to_bytes()


def decode_public_key(suite: str, data: bytes) -> OpenerPublicKey:
    info = suite_info(suite)
    if len(data) != info.public_key_size:
        raise _bad_key(suite, "公钥 / public key", info.public_key_size)
    x_pub = x25519.X25519PublicKey.from_public_bytes(data[-X25519_KEY_SIZE:])
    _check_x25519_public(x_pub, suite)
    if suite == SUITE_HYBRID:
        try:
            m_pub = mlkem.MLKEM768PublicKey.from_public_bytes(data[:MLKEM768_PUBLIC_KEY_SIZE])
        except ValueError:
            raise InvalidKey("ML-KEM-768 公钥无效", "The ML-KEM-768 public key is not valid") from None
        return OpenerPublicKey(suite, x_pub, m_pub)
    return OpenerPublicKey(suite, x_pub)


def encode_private_key(suite: str, key: OpenerPrivateKey | x25519.X25519PrivateKey) -> bytes:
    """Raw private key bytes: X25519 32 bytes; hybrid ML-KEM-768 seed d‖z (64) ‖ X25519 (32)."""
    suite_info(suite)
    if isinstance(key, x25519.X25519PrivateKey):
        if suite != SUITE_X25519:
            raise InvalidKey("私钥与算法套件不符", "The private key does not belong to this suite")
        return key.private_bytes_raw()
    if key.suite != suite:
        raise InvalidKey("私钥与算法套件不符", "The private key does not belong to this suite")
    return key.to_bytes()


def decode_private_key(suite: str, data: bytes) -> OpenerPrivateKey:
    info = suite_info(suite)
    if len(data) != info.private_key_size:
        raise _bad_key(suite, "私钥 / private key", info.private_key_size)
    x_key = x25519.X25519PrivateKey.from_private_bytes(data[-X25519_KEY_SIZE:])
    if suite == SUITE_HYBRID:
        try:
            m_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:MLKEM768_SEED_SIZE])
        except ValueError:
            raise InvalidKey("ML-KEM-768 私钥种子无效", "The ML-KEM-768 seed is not valid") from None
        return OpenerPrivateKey(suite, x_key, m_key)
    return OpenerPrivateKey(suite, x_key)


def hpke_seal(suite: str, public_key: OpenerPublicKey, plaintext: bytes, info: bytes) -> bytes:
    """HPKE base mode, single shot, empty aad: ``enc ‖ ciphertext``."""
    suite_info(suite)
    if public_key.suite != suite:
        raise InvalidKey("公钥与算法套件不符", "The public key does not belong to this suite")
    try:
        return _HPKE_SUITES[suite].encrypt(plaintext, public_key.hpke_key(), info=info)
    except ValueError:
        raise InvalidKey("无法用该公钥加密", "Cannot encrypt to this public key") from None


def hpke_open(suite: str, private_key: OpenerPrivateKey, sealed: bytes, info: bytes) -> bytes:
    suite_info(suite)
    if private_key.suite != suite:
        raise InvalidKey("私钥与算法套件不符", "The private key does not belong to this suite")
    try:
        return _HPKE_SUITES[suite].decrypt(sealed, private_key.hpke_key(), info=info)
    except (InvalidTag, ValueError):
        raise ShareDecryptionFailed() from None


# --- opener key files at rest ---------------------------------------------------------------------------------

KEY_FILE_MAGIC = b"TBIDKEY\x00"
KEY_FILE_VERSION = 1
KDF_ARGON2ID = 1
#: RFC 9106 §4, second recommended option: t=3, 64 MiB, 4 lanes.
ARGON2_ITERATIONS = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_LANES = 4
_ARGON2_MAX_MEMORY_KIB = 4 * 1024 * 1024
_ARGON2_MAX_ITERATIONS = 64


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, bytes):
        return passphrase
    # NFC so that the same passphrase typed through different input methods gives the same bytes.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def protect_private_key(
    suite: str,
    key: OpenerPrivateKey,
    passphrase: str | bytes,
    *,
    iterations: int = ARGON2_ITERATIONS,
    memory_kib: int = ARGON2_MEMORY_KIB,
    lanes: int = ARGON2_LANES,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """An opener key file: the raw private key encrypted under a passphrase (Argon2id + AES-256-GCM).

    Layout (docs/envelope.md, "Opener key files"): magic ``TBIDKEY\\0`` ‖ version 1 ‖ KDF 1 (Argon2id) ‖
    iterations u32 ‖ memory KiB u32 ‖ lanes u8 ‖ salt (16) ‖ suite (u8 length ‖ ASCII) ‖ nonce (12) ‖
    AES-256-GCM(key, nonce, raw private key, aad = every byte before the ciphertext).
    """
    raw = encode_private_key(suite, key)
    if not (
        1 <= iterations <= _ARGON2_MAX_ITERATIONS
        and 1 <= lanes <= 255
        and 8 * lanes <= memory_kib <= _ARGON2_MAX_MEMORY_KIB
    ):
        raise InvalidKey(
            "Argon2id 参数超出范围（迭代 1–64，并行度 1–255，内存 8×并行度 KiB 至 4 GiB）",
            "Argon2id parameters out of range (iterations 1-64, lanes 1-255, memory 8 x lanes KiB to 4 GiB)",
        )
    if not _passphrase_bytes(passphrase):
        raise InvalidKey("口令不能为空", "The passphrase must not be empty")
    salt = os.urandom(16) if salt is None else salt
    nonce = os.urandom(12) if nonce is None else nonce
    if len(salt) != 16 or len(nonce) != 12:
        raise ValueError("salt is 16 bytes and nonce 12 bytes")
    suite_bytes = suite.encode("ascii")
    header = (
        KEY_FILE_MAGIC
        + bytes([KEY_FILE_VERSION, KDF_ARGON2ID])
        + iterations.to_bytes(4, "big")
        + memory_kib.to_bytes(4, "big")
        + bytes([lanes])
        + salt
        + bytes([len(suite_bytes)])
        + suite_bytes
        + nonce
    )
    kek = Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory_kib).derive(
        _passphrase_bytes(passphrase)
    )
    return header + AESGCM(kek).encrypt(nonce, raw, header)


def unprotect_private_key(blob: bytes, passphrase: str | bytes) -> OpenerPrivateKey:
    """Read an opener key file (:func:`protect_private_key`); a wrong passphrase is :class:`WrongPassphrase`."""

    def malformed(why: str) -> Malformed:
        return Malformed(f"开标人密钥文件格式不正确：{why}", f"Not an opener key file: {why}")

    if len(blob) < 8 + 2 or blob[:8] != KEY_FILE_MAGIC:
        raise malformed("magic")
    if blob[8] != KEY_FILE_VERSION:
        raise malformed(f"version {blob[8]}")
    if blob[9] != KDF_ARGON2ID:
        raise malformed(f"KDF {blob[9]}")
    pos = 10
    if len(blob) < pos + 4 + 4 + 1 + 16 + 1:
        raise malformed("too short")
    iterations = int.from_bytes(blob[pos : pos + 4], "big")
    memory_kib = int.from_bytes(blob[pos + 4 : pos + 8], "big")
    lanes = blob[pos + 8]
    salt = blob[pos + 9 : pos + 25]
    pos += 25
    suite_len = blob[pos]
    pos += 1
    try:
        suite = blob[pos : pos + suite_len].decode("ascii")
    except UnicodeDecodeError:
        raise malformed("suite") from None
    pos += suite_len
    info = suite_info(suite)
    nonce = blob[pos : pos + 12]
    pos += 12
    ciphertext = blob[pos:]
    if len(nonce) != 12 or len(ciphertext) != info.private_key_size + 16:
        raise malformed("length")
    if not (
        1 <= iterations <= _ARGON2_MAX_ITERATIONS and 1 <= lanes and 8 * lanes <= memory_kib <= _ARGON2_MAX_MEMORY_KIB
    ):
        raise malformed("Argon2id parameters out of range")
    kek = Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory_kib).derive(
        _passphrase_bytes(passphrase)
    )
    try:
        raw = AESGCM(kek).decrypt(nonce, ciphertext, blob[:pos])
    except InvalidTag:
        raise WrongPassphrase() from None
    return decode_private_key(suite, raw)
