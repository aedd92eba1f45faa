"""C2SP signed notes, transparency-log checkpoints and witness cosignatures, with Ed25519 keys.

The formats, as specified (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint,
https://c2sp.org/tlog-cosignature) and as golang.org/x/mod/sumdb/note reads them:

- A signed note is a text ending in a newline, a blank line, then one or more signature lines
  ``"— <key name> <base64(4-byte key ID || signature)>\\n"`` (em dash U+2014, then a space). The whole note is
  UTF-8 without ASCII control characters other than newline; the text is separated from the signatures by
  the *last* blank line. Key names are non-empty, without Unicode spaces or ``+``.
- A key ID is ``SHA-256(key name || 0x0A || signature type || public key)[:4]``; Ed25519 note signatures
  are type ``0x01`` and sign the note text, timestamped Ed25519 cosignatures are type ``0x04``.
- A verifier key ("vkey") is ``<name>+<8 hex digits of the key ID>+<base64(type || public key)>``.
- A checkpoint's note text is ``origin\\nsize\\nbase64(root hash)\\n`` then optional non-empty extension
  lines; the size is decimal without leading zeros (``0`` for the empty tree).
- A cosignature/v1 is a note signature line whose signature is ``timestamp (8 bytes, big-endian) ||
  Ed25519(message)``, the message being ``"cosignature/v1\\ntime <timestamp>\\n" + checkpoint text``.

Verifiers ignore signatures from unknown keys, reject the note when a known key's signature fails, and
reject it when no known key signed it (signed-note, "Signatures").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from msgspec import Struct

#: signed-note signature type of plain Ed25519 note signatures.
ED25519 = 0x01
#: signed-note signature type of timestamped Ed25519 witness cosignatures (tlog-cosignature).
COSIGNATURE_V1 = 0x04

#: The most signature lines a note may carry (the spec asks for at least 16; Go's verifier stops at 100).
MAX_SIGNATURES = 100

EM_DASH = "\u2014"
_SIGNATURE_PREFIX = EM_DASH + " "
_COSIGNATURE_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, key, checkpoint or cosignature that is malformed or does not verify."""


# --------------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------------


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4) with padding, in its one canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise NoteError(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and contain neither Unicode spaces nor ``+`` (signed-note, "Format")."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name) and _no_controls(name)


def _no_controls(text: str) -> bool:
    return not any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def _check_note_chars(text: str, what: str) -> None:
    if not _no_controls(text):
        raise NoteError(f"{what} contains an ASCII control character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError(f"{what} is not valid UTF-8") from exc


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4] (signed-note, "Signatures")."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _format_vkey(name: str, signature_type: int, public_key: bytes) -> str:
    kid = key_id(name, signature_type, public_key)
    return f"{name}+{kid.hex()}+{_b64encode(bytes([signature_type]) + public_key)}"


def _parse_vkey(vkey: str, signature_type: int) -> tuple[str, bytes, Ed25519PublicKey]:
    """Split ``name+keyid+base64(type || key)``, checking the type, the key's size and the key ID."""
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key is not name+keyid+key")
    name, hex_id, key64 = parts
    if not is_valid_key_name(name) or not _HEX_KEY_ID.fullmatch(hex_id):
        raise NoteError("malformed verifier key")
    raw = _b64decode(key64, "verifier key")
    if len(raw) != 33 or raw[0] != signature_type:
        raise NoteError(f"verifier key is not an Ed25519 key of signature type {signature_type:#04x}")
    public_key = raw[1:]
    kid = bytes.fromhex(hex_id)
    if kid != key_id(name, signature_type, public_key):
        raise NoteError("verifier key ID does not match its name and key")
    try:
        return name, kid, Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise NoteError("verifier key is not an Ed25519 public key") from exc


# --------------------------------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------------------------------


class Signature(Struct, frozen=True):
    """One signature line of a note: who claims to have signed, and the signature bytes after the key ID."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


class Verifier(Protocol):
    """What :func:`verify_note` needs of a key: its name, key ID, and a check of a signature over a text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: str, signature: bytes) -> bool: ...


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    _check_note_chars(text, "note text")


class NoteSigner:
    """Signs notes with an Ed25519 key under a key name (signature type 0x01)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self._private_key = private_key
        self.public_key = _raw_public_key(private_key.public_key())
        self.key_id = key_id(name, ED25519, self.public_key)
        self._vkey = _format_vkey(self.name, ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key to publish: ``name+hex(key ID)+base64(0x01 || public key)`` (formatted once: every
        receipt names it)."""
        return self._vkey

    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_vkey(self.vkey)

    def signature_line(self, text: str) -> str:
        """The signature line for ``text``, to append to a note that already carries other signatures."""
        _check_text(text)
        signature = self._private_key.sign(text.encode("utf-8"))
        return Signature(self.name, self.key_id, signature).line()

    def sign(self, text: str) -> str:
        """The signed note: ``text``, a blank line, and this key's signature line."""
        return text + "\n" + self.signature_line(text)


class NoteVerifier:
    """Checks Ed25519 note signatures (type 0x01) of one key, known from its verifier key."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self._public_key = public_key
        self.public_key = _raw_public_key(public_key)
        self.key_id = key_id(name, ED25519, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        name, _, public_key = _parse_vkey(vkey, ED25519)
        return cls(name, public_key)

    @property
    def vkey(self) -> str:
        return _format_vkey(self.name, ED25519, self.public_key)

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._public_key.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            return False
        return True


def parse_note(note: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and its signature lines, refusing anything malformed.

    Nothing is verified: the text must not be trusted until :func:`verify_note` says so.
    """
    _check_note_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note has no signature lines, or they do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("signature line does not start with an em dash and a space")
    name, space, sig64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not space or not is_valid_key_name(name) or not sig64:
        raise NoteError("signature line is not '— name signature'")
    raw = _b64decode(sig64, "signature")
    if len(raw) < 5:
        raise NoteError("signature is shorter than a key ID and one byte")
    return Signature(name=name, key_id=raw[:4], signature=raw[4:])


def _key_of(verifier: Verifier) -> object:
    return getattr(verifier, "public_key", verifier)


def verify_note(note: str, verifiers: Iterable[Verifier]) -> str:
    """The note's text, once at least one known key's signature verifies.

    Signatures from unknown keys (name and key ID not both known) are ignored; a known key whose signature
    does not verify makes the whole note rejected, and so do two different keys given under one name and ID.
    """
    text, signatures = parse_note(note)
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and _key_of(known[slot]) != _key_of(verifier):
            raise NoteError(f"two different keys claim {verifier.name}+{verifier.key_id.hex()}")
        known[slot] = verifier
    verified = False
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text, signature.signature):
            raise NoteError(f"invalid signature for key {signature.name}+{signature.key_id.hex()}")
        verified = True
    if not verified:
        raise NoteError("note has no signature from a known key")
    return text


# --------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------


class Checkpoint(Struct, frozen=True):
    """A signed tree head (tlog-checkpoint): the log's origin, its size and the RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint's note text: ``origin\\nsize\\nbase64(root)\\n`` then the extension lines."""
    if not checkpoint.origin or "\n" in checkpoint.origin:
        raise NoteError("checkpoint origin must be one non-empty line")
    if not 0 <= checkpoint.size < 2**64:
        raise NoteError("checkpoint size must be a uint64")
    if len(checkpoint.root_hash) != 32:
        raise NoteError("checkpoint root hash must be 32 bytes")
    for line in checkpoint.extensions:
        if not line or "\n" in line:
            raise NoteError("checkpoint extension lines must be non-empty single lines")
    lines = [checkpoint.origin, str(checkpoint.size), _b64encode(checkpoint.root_hash), *checkpoint.extensions]
    text = "\n".join(lines) + "\n"
    _check_note_chars(text, "checkpoint")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's note text (not the signed note: see :func:`open_checkpoint`), strictly."""
    _check_note_chars(text, "checkpoint")
    if not text.endswith("\n"):
        raise NoteError("checkpoint must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint has fewer than three lines")
    origin, size_line, root64, *extensions = lines
    if not origin:
        raise NoteError("checkpoint origin is empty")
    if not _DECIMAL.fullmatch(size_line) or int(size_line) >= 2**64:
        raise NoteError("checkpoint size is not a decimal uint64 without leading zeros")
    root_hash = _b64decode(root64, "checkpoint root hash")
    if len(root_hash) != 32:
        raise NoteError("checkpoint root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise NoteError("checkpoint extension lines must be non-empty")
    return Checkpoint(origin=origin, size=int(size_line), root_hash=root_hash, extensions=tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a signed note."""
    return signer.sign(format_checkpoint(checkpoint))


def open_checkpoint(note: str, verifiers: Iterable[Verifier]) -> Checkpoint:
    """The checkpoint a signed note carries, once a known key's signature verifies."""
    return parse_checkpoint(verify_note(note, verifiers))


# --------------------------------------------------------------------------------------------------
# Cosignatures (tlog-cosignature, Ed25519 cosignature/v1)
# --------------------------------------------------------------------------------------------------


def _cosigned_message(timestamp: int, checkpoint_text: str) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` then the whole checkpoint text (tlog-cosignature,
    "Ed25519 signed message").
    """
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}".encode()


class Cosigner:
    """A witness: cosigns checkpoints with an Ed25519 key (signature type 0x04).

    The Ed25519 cosigned message does not commit to the cosigner's name, so one key must serve one cosigner.
    """

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self._private_key = private_key
        self.public_key = _raw_public_key(private_key.public_key())
        self.key_id = key_id(name, COSIGNATURE_V1, self.public_key)

    @property
    def vkey(self) -> str:
        """``name+hex(key ID)+base64(0x04 || public key)``."""
        return _format_vkey(self.name, COSIGNATURE_V1, self.public_key)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier.from_vkey(self.vkey)

    def cosign(self, checkpoint_text: str, timestamp: int) -> str:
        """The cosignature line for a checkpoint's note text at ``timestamp`` (POSIX seconds).

        Appending the line to the log's signed note gives the cosigned checkpoint.
        """
        parse_checkpoint(checkpoint_text)
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise NoteError("cosignature timestamp must be in [0, 2**63 - 1]")
        signature = self._private_key.sign(_cosigned_message(timestamp, checkpoint_text))
        return Signature(self.name, self.key_id, struct.pack(">Q", timestamp) + signature).line()


class CosignatureVerifier:
    """Checks one witness's cosignature/v1 signatures; usable with :func:`verify_note` as well."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        self.name = name
        self._public_key = public_key
        self.public_key = _raw_public_key(public_key)
        self.key_id = key_id(name, COSIGNATURE_V1, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        name, _, public_key = _parse_vkey(vkey, COSIGNATURE_V1)
        return cls(name, public_key)

    @property
    def vkey(self) -> str:
        return _format_vkey(self.name, COSIGNATURE_V1, self.public_key)

    def timestamp(self, text: str, signature: bytes) -> int | None:
        """The cosignature's timestamp if it verifies over ``text``, else ``None``."""
        if len(signature) != 8 + 64:
            return None
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > _MAX_TIMESTAMP:
            return None
        try:
            self._public_key.verify(signature[8:], _cosigned_message(timestamp, text))
        except InvalidSignature:
            return None
        return timestamp

    def verify(self, text: str, signature: bytes) -> bool:
        return self.timestamp(text, signature) is not None


def verify_cosignature(
    line_or_signature: str | Signature, checkpoint_text: str, vkey: str | CosignatureVerifier
) -> int:
    """The timestamp of a witness's cosignature over a checkpoint's note text; ``NoteError`` otherwise."""
    verifier = CosignatureVerifier.from_vkey(vkey) if isinstance(vkey, str) else vkey
    if isinstance(line_or_signature, Signature):
        signature = line_or_signature
    else:
        signature = _parse_signature_line(line_or_signature.removesuffix("\n"))
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise NoteError(f"cosignature is not by {verifier.name}+{verifier.key_id.hex()}")
    parse_checkpoint(checkpoint_text)
    timestamp = verifier.timestamp(checkpoint_text, signature.signature)
    if timestamp is None:
        raise NoteError(f"invalid cosignature for key {verifier.name}+{verifier.key_id.hex()}")
    return timestamp
