"""Signed notes, checkpoints and cosignatures: published vectors, a parser of our own, tampering.

Vectors:
- golang.org/x/mod sumdb/note/note_test.go (github.com/golang/mod): the PeterNeumann signer and verifier keys,
  the note they sign, the EnochRoot key and signature, and the malformed-note and mangled-key cases.
- The example key and note of c2sp.org/signed-note (C2SP/C2SP signed-note.md at d4c16da5, "Example", as quoted
  by other implementations' tests; the copy of the spec at hand predates the example).
- A real checkpoint of the arche2025h1.staging.ct.transparency.dev log carrying the remora.n621.de witness's
  Ed25519 cosignature/v1, as kept in github.com/florolf/tlog-scales tests/test_signing.py.
- Verifier keys from github.com/transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier).

The "spec" helpers below parse signed notes and checkpoints and check signatures straight from the text of
c2sp.org/signed-note, tlog-checkpoint and tlog-cosignature with hashlib, base64 and `cryptography`; they do not
import trading.log.note, so our signer is checked by a reader that shares none of its code.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.log.merkle import MemoryTree
from trading.log.note import (
    MAX_SIGNATURES,
    Checkpoint,
    CosignatureVerifier,
    Cosigner,
    NoteError,
    NoteSigner,
    NoteVerifier,
    Signature,
    format_checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    verify_cosignature,
    verify_note,
)

EM = "\u2014"

# --- golang.org/x/mod/sumdb/note note_test.go -----------------------------------------------------
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    f"{EM} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

# --- c2sp.org/signed-note example ------------------------------------------------------------------
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    f"{EM} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# --- a real checkpoint, its log signature and a witness cosignature (florolf/tlog-scales) ------------
ARCHE_VKEY = "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
ARCHE_TEXT = "arche2025h1.staging.ct.transparency.dev\n1432088532\nU7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
ARCHE_NOTE = ARCHE_TEXT + (
    "\n"
    f"{EM} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n"
    f"{EM} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    f"{EM} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n"
    f"{EM} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n"
    f"{EM} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
    f"{EM} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n"
)
REMORA_LINE = f"{EM} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"


def _key(label: str) -> Ed25519PrivateKey:
    """A deterministic test key."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


LOG_NAME = "ggzy.example.cn/log"
LOG_KEY = _key("log")
WITNESS_NAME = "jiandu.example.cn/witness"
WITNESS_KEY = _key("witness")


def _peter_signer() -> NoteSigner:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])  # 0x01 || 32-byte Ed25519 seed
    assert raw[0] == 0x01
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(raw[1:]))


def _checkpoint(size: int = 5) -> Checkpoint:
    tree = MemoryTree()
    tree.extend(f"招标公告 {i}".encode() for i in range(size))
    return Checkpoint(origin=LOG_NAME, size=size, root_hash=tree.root())


# ------------------------------------------------------------------------------------------------
# An independent reader, from the specifications' text
# ------------------------------------------------------------------------------------------------


def spec_key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    # signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([signature_type]) + public_key).digest()[:4]


def spec_read_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    # <name>+<hex key ID>+<base64(signature type || public key)>; the name holds no "+".
    name, hex_id, key64 = vkey.split("+", 2)
    raw = base64.b64decode(key64, validate=True)
    return name, bytes.fromhex(hex_id), raw[0], raw[1:]


def spec_split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes, bytes]]]:
    # signed-note "Format": the text ends in a newline and is separated from the signature lines by the last
    # blank line; each line is em dash, space, key name, space, base64(4-byte key ID || signature), newline.
    note.decode("utf-8")
    cut = note.rindex(b"\n\n")
    text, block = note[: cut + 1], note[cut + 2 :]
    assert block.endswith(b"\n")
    signatures = []
    for line in block[:-1].split(b"\n"):
        prefix = "\u2014 ".encode()
        assert line.startswith(prefix)
        name, sig64 = line[len(prefix) :].split(b" ")
        raw = base64.b64decode(sig64, validate=True)
        signatures.append((name.decode(), raw[:4], raw[4:]))
    return text, signatures


def spec_read_checkpoint(text: bytes) -> tuple[str, int, bytes, list[str]]:
    # tlog-checkpoint: origin, decimal size, base64 root hash, optional extension lines, each ending in "\n".
    lines = text.decode().split("\n")
    assert lines[-1] == "" and len(lines) >= 4
    origin, size, root64, *extensions = lines[:-1]
    assert size == str(int(size))
    root = base64.b64decode(root64, validate=True)
    assert len(root) == 32
    return origin, int(size), root, extensions


def spec_verify(note: str, name: str, public_key: bytes) -> bytes:
    """The note text, if a type-0x01 signature by (name, public_key) verifies over it."""
    text, signatures = spec_split_note(note.encode())
    wanted = spec_key_id(name, 0x01, public_key)
    for sig_name, kid, signature in signatures:
        if (sig_name, kid) == (name, wanted):
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, text)
            return text
    raise AssertionError("no signature by that key")


def spec_cosignature_time(note: str, name: str, public_key: bytes) -> int:
    """tlog-cosignature: timestamp (u64, big-endian) || Ed25519 over
    "cosignature/v1\\ntime <t>\\n" + the checkpoint text."""
    text, signatures = spec_split_note(note.encode())
    wanted = spec_key_id(name, 0x04, public_key)
    for sig_name, kid, signature in signatures:
        if (sig_name, kid) == (name, wanted):
            (timestamp,) = struct.unpack(">Q", signature[:8])
            message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature[8:], message)
            return timestamp
    raise AssertionError("no cosignature by that key")


# ------------------------------------------------------------------------------------------------
# Published vectors
# ------------------------------------------------------------------------------------------------


def test_go_signer_reproduces_the_go_note_byte_for_byte() -> None:
    signer = _peter_signer()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.vkey == PETER_VKEY
    assert signer.sign(GO_TEXT) == GO_TEXT + "\n" + PETER_SIG


def test_go_note_verifies() -> None:
    verifier = NoteVerifier.from_vkey(PETER_VKEY)
    assert verifier.name == "PeterNeumann" and verifier.key_id == bytes.fromhex("c74f20a3")
    assert verifier.vkey == PETER_VKEY
    assert verify_note(GO_TEXT + "\n" + PETER_SIG, [verifier]) == GO_TEXT


def test_go_open_rules() -> None:
    """note_test.go TestOpen: unknown keys are ignored, a known key that fails rejects the note."""
    peter, enoch = NoteVerifier.from_vkey(PETER_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)
    both = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(both, [peter]) == GO_TEXT
    assert verify_note(both, [peter, enoch]) == GO_TEXT
    assert verify_note(both, [enoch]) == GO_TEXT
    with pytest.raises(NoteError, match="no signature from a known key"):
        verify_note(both, [])
    text, signatures = parse_note(both)
    assert text == GO_TEXT
    assert [(s.name, s.key_id.hex()) for s in signatures] == [("PeterNeumann", "c74f20a3"), ("EnochRoot", "af0cfe78")]
    with pytest.raises(NoteError, match="more than"):
        verify_note(GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), [peter])
    assert verify_note(GO_TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [peter]) == GO_TEXT
    mangled = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        verify_note(GO_TEXT + "\n" + mangled, [peter])
    # A known key's bad signature rejects the note even beside a good one from another known key.
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(GO_TEXT + "\n" + ENOCH_SIG + mangled, [peter, enoch])


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        "\udcff" + GO_TEXT + "\n" + PETER_SIG,  # not UTF-8 (what surrogateescape makes of byte 0xff)
        GO_TEXT
        + "\n"
        + f"{EM} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG.replace(EM, "-"),
        GO_TEXT + "\n" + PETER_SIG.replace(f"{EM} ", EM),
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter\u3000Neumann"),
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann ", "PeterNeumann  "),
        GO_TEXT + "\n" + PETER_SIG.replace("AM=", "AM"),  # padding removed
        GO_TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical trailing bits
        GO_TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"),
        GO_TEXT + "\n" + f"{EM} PeterNeumann x08g\n",  # too short for a key ID and a signature
        GO_TEXT + "\n" + f"{EM} PeterNeumann \n",
        GO_TEXT + "\n" + f"{EM}  x08go/ZJ\n",
        GO_TEXT + "\n\n",
        "",
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        parse_note(note)
    with pytest.raises(NoteError):
        verify_note(note, [NoteVerifier.from_vkey(PETER_VKEY)])


def test_go_mangled_verifier_keys_are_refused() -> None:
    """note_test.go TestNewVerifier: every proper substring and every one-character change fails."""
    NoteVerifier.from_vkey(PETER_VKEY)
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    NoteVerifier.from_vkey(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        changed = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(changed)
    with pytest.raises(NoteError):  # wrong key length, key ID adjusted
        NoteVerifier.from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError):  # unknown algorithm, key ID adjusted
        NoteVerifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


@pytest.mark.parametrize(
    "vkey",
    [
        "bananas.sigstore.dev+12344556",
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "rekor.sigstore.dev+12345678+AwEB",
        "PeterNeumann+0xf20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f_0a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


def test_verifier_key_types_are_kept_apart() -> None:
    """transparency-dev/formats TestCoSigV1NewVerifier keys: one of type 0x01, one of type 0x04."""
    plain = NoteVerifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert plain.vkey == "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    witness = CosignatureVerifier.from_vkey(REMORA_VKEY)
    assert witness.vkey == REMORA_VKEY and witness.key_id.hex() == "da77ade7"
    with pytest.raises(NoteError):
        CosignatureVerifier.from_vkey(PETER_VKEY)
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(REMORA_VKEY)


def test_c2sp_example_note() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.public_key.hex() == "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    assert verify_note(C2SP_NOTE, [verifier]) == "This is an example message.\n"
    assert verify_note(C2SP_NOTE, [verifier]) == spec_verify(C2SP_NOTE, "example.com/foo", verifier.public_key).decode()


def test_real_checkpoint_and_witness_cosignature() -> None:
    log = NoteVerifier.from_vkey(ARCHE_VKEY)
    checkpoint = open_checkpoint(ARCHE_NOTE, [log])
    assert checkpoint.origin == "arche2025h1.staging.ct.transparency.dev"
    assert checkpoint.size == 1432088532
    assert format_checkpoint(checkpoint) == ARCHE_TEXT
    # The RFC 6962 STH line (type 0x05, key ID cd333cb1) and the three witnesses we hold no key for are ignored.
    assert verify_cosignature(REMORA_LINE, ARCHE_TEXT, REMORA_VKEY) == 1779573024
    assert verify_note(ARCHE_NOTE, [CosignatureVerifier.from_vkey(REMORA_VKEY)]) == ARCHE_TEXT
    remora_key = CosignatureVerifier.from_vkey(REMORA_VKEY).public_key
    assert spec_cosignature_time(ARCHE_NOTE, "remora.n621.de", remora_key) == 1779573024
    # Clobbered: another size, the same signatures.
    clobbered = ARCHE_NOTE.replace("1432088532", "42")
    with pytest.raises(NoteError):
        open_checkpoint(clobbered, [log])
    with pytest.raises(NoteError):
        verify_cosignature(REMORA_LINE, ARCHE_TEXT.replace("1432088532", "42"), REMORA_VKEY)
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_checkpoint(ARCHE_NOTE, [NoteVerifier.from_vkey(C2SP_VKEY)])


# ------------------------------------------------------------------------------------------------
# Our signer, read by the independent reader
# ------------------------------------------------------------------------------------------------


def test_signed_checkpoint_is_read_by_the_spec_reader() -> None:
    signer = NoteSigner(LOG_NAME, LOG_KEY)
    checkpoint = _checkpoint(5)
    note = sign_checkpoint(checkpoint, signer)
    name, kid, signature_type, public_key = spec_read_vkey(signer.vkey)
    assert (name, kid, signature_type) == (LOG_NAME, spec_key_id(LOG_NAME, 1, _raw(LOG_KEY)), 1)
    assert public_key == _raw(LOG_KEY)
    text = spec_verify(note, LOG_NAME, public_key)
    assert spec_read_checkpoint(text) == (LOG_NAME, 5, checkpoint.root_hash, [])
    assert open_checkpoint(note, [NoteVerifier.from_vkey(signer.vkey)]) == checkpoint


def test_cosigned_checkpoint_is_read_by_the_spec_reader() -> None:
    signer, witness = NoteSigner(LOG_NAME, LOG_KEY), Cosigner(WITNESS_NAME, WITNESS_KEY)
    text = format_checkpoint(_checkpoint(12))
    note = signer.sign(text) + witness.cosign(text, 1_772_416_800)
    _, kid, signature_type, public_key = spec_read_vkey(witness.vkey)
    assert (signature_type, kid) == (0x04, spec_key_id(WITNESS_NAME, 0x04, _raw(WITNESS_KEY)))
    assert spec_cosignature_time(note, WITNESS_NAME, public_key) == 1_772_416_800
    spec_verify(note, LOG_NAME, _raw(LOG_KEY))
    # And by us: the log's signature, the witness's cosignature, each with its own key type.
    assert verify_note(note, [signer.verifier()]) == text
    assert verify_note(note, [witness.verifier()]) == text
    _, signatures = parse_note(note)
    assert verify_cosignature(signatures[1], text, witness.verifier()) == 1_772_416_800


def test_key_ids_follow_the_spec() -> None:
    signer, witness = NoteSigner(LOG_NAME, LOG_KEY), Cosigner(LOG_NAME, LOG_KEY)
    assert signer.key_id == key_id(LOG_NAME, 0x01, _raw(LOG_KEY)) == spec_key_id(LOG_NAME, 0x01, _raw(LOG_KEY))
    assert witness.key_id == spec_key_id(LOG_NAME, 0x04, _raw(LOG_KEY)) != signer.key_id
    assert spec_read_vkey(signer.vkey) == (LOG_NAME, signer.key_id, 0x01, _raw(LOG_KEY))
    assert spec_read_vkey(witness.vkey) == (LOG_NAME, witness.key_id, 0x04, _raw(LOG_KEY))


# ------------------------------------------------------------------------------------------------
# Tampering
# ------------------------------------------------------------------------------------------------


def _tampered_notes(note: str, checkpoint: Checkpoint) -> dict[str, str]:
    text = format_checkpoint(checkpoint)
    signatures = note[len(text) :]
    origin, size, root = checkpoint.origin, checkpoint.size, checkpoint.root_hash
    other = NoteSigner(LOG_NAME, _key("impostor"))
    return {
        "size": format_checkpoint(Checkpoint(origin, size + 1, root)) + signatures,
        "root": format_checkpoint(Checkpoint(origin, size, bytes([root[0] ^ 1]) + root[1:])) + signatures,
        "origin": format_checkpoint(Checkpoint("ggzy.example.cn/log2", size, root)) + signatures,
        "extension added": text + "extra\n" + signatures,
        "another key, same name": other.sign(text),
        "signature line of another key": text + "\n" + other.signature_line(text),
        "truncated": note[:-10],
        "truncated to the text": text,
        "no signatures": text + "\n",
    }


def test_tampered_checkpoints_are_refused() -> None:
    signer = NoteSigner(LOG_NAME, LOG_KEY)
    checkpoint = _checkpoint(7)
    note = sign_checkpoint(checkpoint, signer)
    verifier = NoteVerifier.from_vkey(signer.vkey)
    assert open_checkpoint(note, [verifier]) == checkpoint
    for what, bad in _tampered_notes(note, checkpoint).items():
        with pytest.raises(NoteError):
            open_checkpoint(bad, [verifier])
        assert what  # every case is named for the report


def test_tampered_cosignatures_are_refused() -> None:
    witness = Cosigner(WITNESS_NAME, WITNESS_KEY)
    checkpoint = _checkpoint(9)
    text = format_checkpoint(checkpoint)
    line = witness.cosign(text, 1_772_416_800)
    assert verify_cosignature(line, text, witness.vkey) == 1_772_416_800
    other_text = format_checkpoint(Checkpoint(checkpoint.origin, 10, checkpoint.root_hash))
    with pytest.raises(NoteError):
        verify_cosignature(line, other_text, witness.vkey)
    impostor = Cosigner(WITNESS_NAME, _key("impostor"))
    with pytest.raises(NoteError, match="is not by"):
        verify_cosignature(impostor.cosign(text, 1_772_416_800), text, witness.vkey)
    # Another timestamp spliced into a genuine signature.
    raw = base64.b64decode(line.split(" ")[2])
    forged = raw[:4] + struct.pack(">Q", 1_772_416_801) + raw[12:]
    with pytest.raises(NoteError, match="invalid cosignature"):
        verify_cosignature(Signature(WITNESS_NAME, raw[:4], forged[4:]), text, witness.vkey)
    # A plain note signature by the same key is not a cosignature, and the other way round.
    plain = NoteSigner(WITNESS_NAME, WITNESS_KEY)
    with pytest.raises(NoteError):
        verify_cosignature(plain.signature_line(text), text, witness.vkey)
    with pytest.raises(NoteError):
        verify_note(text + "\n" + line, [plain.verifier()])
    with pytest.raises(NoteError):
        verify_cosignature(line[:-20], text, witness.vkey)


def test_cosigner_refuses_what_is_not_a_checkpoint() -> None:
    witness = Cosigner(WITNESS_NAME, WITNESS_KEY)
    text = format_checkpoint(_checkpoint(3))
    for bad_time in (-1, 2**63):
        with pytest.raises(NoteError):
            witness.cosign(text, bad_time)
    with pytest.raises(NoteError):
        witness.cosign("just a note\n", 1)
    assert verify_cosignature(witness.cosign(text, 2**63 - 1), text, witness.verifier()) == 2**63 - 1


# ------------------------------------------------------------------------------------------------
# Checkpoint syntax
# ------------------------------------------------------------------------------------------------

ROOT64 = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"log\n01\n{ROOT64}\n",
        f"log\n+1\n{ROOT64}\n",
        f"log\n 1\n{ROOT64}\n",
        f"log\n1 \n{ROOT64}\n",
        f"log\n1.0\n{ROOT64}\n",
        f"log\n1_000\n{ROOT64}\n",
        f"log\n\u0661\n{ROOT64}\n",  # ARABIC-INDIC DIGIT ONE: int() takes it, the spec does not
        f"log\n-1\n{ROOT64}\n",
        f"log\n{2**64}\n{ROOT64}\n",
        f"log\n\n{ROOT64}\n",
        f"\n1\n{ROOT64}\n",
        f"log\n1\n{base64.b64encode(bytes(31)).decode()}\n",
        f"log\n1\n{base64.b64encode(bytes(33)).decode()}\n",
        f"log\n1\n{ROOT64.rstrip('=')}\n",
        f"log\n1\n{ROOT64}",
        f"log\n1\n{ROOT64}\n\n",
        f"log\n1\n{ROOT64}\next\n\n",
        f"log\n1\n{ROOT64}\r\n",
        "log\n1\n",
        "",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_checkpoint_formatting_is_strict() -> None:
    root = bytes(32)
    assert format_checkpoint(Checkpoint("log", 0, root)) == f"log\n0\n{base64.b64encode(root).decode()}\n"
    for bad in (
        Checkpoint("", 1, root),
        Checkpoint("a\nb", 1, root),
        Checkpoint("log", -1, root),
        Checkpoint("log", 2**64, root),
        Checkpoint("log", 1, bytes(31)),
        Checkpoint("log", 1, root, ("",)),
        Checkpoint("log", 1, root, ("a\nb",)),
        Checkpoint("log\t", 1, root),
    ):
        with pytest.raises(NoteError):
            format_checkpoint(bad)


_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n", min_codepoint=0x20), min_size=1
)


@settings(max_examples=200, deadline=None)
@given(
    origin=_line,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_line, max_size=3),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    text = format_checkpoint(checkpoint)
    assert parse_checkpoint(text) == checkpoint
    assert spec_read_checkpoint(text.encode()) == (origin, size, root, extensions)


_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="+"), min_size=1
).filter(lambda s: not any(c.isspace() for c in s))
_text = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), min_size=1, max_size=5
).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=100, deadline=None)
@given(name=_name, text=_text, seed=st.binary(min_size=32, max_size=32))
def test_note_round_trip(name: str, text: str, seed: bytes) -> None:
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))
    note = signer.sign(text)
    assert verify_note(note, [NoteVerifier.from_vkey(signer.vkey)]) == text
    assert spec_verify(note, name, signer.public_key) == text.encode()
    parsed_text, [signature] = parse_note(note)
    assert parsed_text == text and signature.line() == note[len(text) + 1 :]
    other = NoteSigner(name, _key("other"))
    with pytest.raises(NoteError):
        verify_note(note, [other.verifier()])  # same name, different key: unknown key, so nothing verified


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\u3000b", "a\tb", "a\nb"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner(name, LOG_KEY)
    with pytest.raises(NoteError):
        Cosigner(name, LOG_KEY)


def test_signing_refuses_texts_that_are_not_note_texts() -> None:
    signer = NoteSigner(LOG_NAME, LOG_KEY)
    for text in ("no newline", "", "bell\x07\n", "tab\there\n"):
        with pytest.raises(NoteError):
            signer.sign(text)


class _Colliding:
    """A key crafted to collide with PeterNeumann's name and 32-bit key ID (cheap to find, says the spec)."""

    name = "PeterNeumann"
    key_id = bytes.fromhex("c74f20a3")
    public_key = _raw(_key("collider"))

    def verify(self, text: str, signature: bytes) -> bool:
        return False


def test_two_different_keys_under_one_name_and_id_are_refused() -> None:
    note = GO_TEXT + "\n" + PETER_SIG
    assert verify_note(note, [NoteVerifier.from_vkey(PETER_VKEY), NoteVerifier.from_vkey(PETER_VKEY)]) == GO_TEXT
    with pytest.raises(NoteError, match="two different keys"):
        verify_note(note, [NoteVerifier.from_vkey(PETER_VKEY), _Colliding()])


def test_text_may_hold_blank_lines_and_ends_at_the_last_one() -> None:
    signer = NoteSigner(LOG_NAME, LOG_KEY)
    text = "first\n\nsecond\n\n"
    note = signer.sign(text)
    assert verify_note(note, [signer.verifier()]) == text


def test_invalid_ed25519_signature_bytes_do_not_verify() -> None:
    verifier = NoteVerifier.from_vkey(PETER_VKEY)
    assert not verifier.verify(GO_TEXT, b"\x00" * 63)
    assert not verifier.verify(GO_TEXT, b"\x00" * 64)
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(b"\x00" * 64, GO_TEXT.encode())
