"""Clean-room primitives, written from docs/log.md and docs/envelope.md only.

Nothing here imports the platform (trading/, bidding/, notices/, evaluation/): only the standard library and
``cryptography``. Each function names the section of the documents it implements.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import struct
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# --- encodings (log.md §1, envelope.md §2) ---------------------------------------------------------------------


class NotCanonical(ValueError):
    """Bytes that are not the one canonical JSON encoding of what they hold."""


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise NotCanonical("lone surrogate")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):  # code-point order (log.md §1)
            if not isinstance(key, str):
                raise NotCanonical("non-string key")
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise NotCanonical(f"no canonical form for {type(value).__name__}")  # floats among them


def canonical_json(value: object) -> bytes:
    """log.md §1 / envelope.md §2: sorted keys, no whitespace, UTF-8 as itself, no floats."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise NotCanonical(f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject(token: str) -> object:
    raise NotCanonical(f"not allowed in canonical JSON: {token}")


def parse_canonical(data: bytes) -> object:
    """Parse *data* and refuse it unless re-encoding gives the same bytes (envelope.md §2)."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_reject, parse_constant=_reject)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotCanonical(str(exc)) from exc
    if canonical_json(value) != data:
        raise NotCanonical("bytes differ from the canonical encoding")
    return value


def b64decode(text: str) -> bytes:
    """RFC 4648 §4 with padding, strict (canonical trailing bits too: re-encoding must give the text back)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from exc
    if base64.b64encode(raw).decode() != text:
        raise ValueError("non-canonical base64")
    return raw


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEX64 = re.compile(r"[0-9a-f]{64}")  # (fullmatch: "$" would let a trailing newline through)


def parse_instant(text: object) -> datetime:
    """log.md §1: UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, the fraction only when not zero."""
    if not isinstance(text, str) or not _INSTANT.match(text) or text.endswith(".000000+00:00"):
        raise ValueError(f"not an instant in the log's form: {text!r}")
    return datetime.fromisoformat(text)


def is_instant(text: object) -> bool:
    try:
        parse_instant(text)
    except ValueError:
        return False
    return True


def is_date(text: object) -> bool:
    return isinstance(text, str) and bool(_DATE.match(text))


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the Merkle tree (log.md §2, RFC 9162 §2.1) ------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaves: list[bytes], size: int | None = None) -> bytes:
    """MTH of the first *size* leaf hashes (RFC 9162 §2.1.1), computed bottom-up without recursion depth."""
    size = len(leaves) if size is None else size
    if size == 0:
        return sha256(b"")
    # The RFC's left-balanced tree equals pairing level by level and carrying an odd node up unchanged.
    level = list(leaves[:size])
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), tree_root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), tree_root(leaves[:k])]


def consistency_proof(leaves: list[bytes], first: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n])."""

    def sub(m: int, d: list[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [tree_root(d)]
        k = _split(n)
        if m <= k:
            return [*sub(m, d[:k], b), tree_root(d[k:])]
        return [*sub(m - k, d[k:], False), tree_root(d[:k])]

    return sub(first, leaves, True) if 0 < first < len(leaves) else []


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's implied first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# --- signed notes, checkpoints, cosignatures (log.md §3, C2SP) ----------------------------------------------------

DASH = "\u2014 "  # "— ", the signature line's prefix


@dataclass(frozen=True)
class NoteKey:
    name: str
    key_id: bytes
    alg: int
    public: bytes

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([alg]) + public)[:4]


def parse_vkey(vkey: str) -> NoteKey:
    """``name+hex(key ID)+base64(type ‖ public key)``; the key ID must be the one the name and key give."""
    name, hex_id, blob = vkey.strip().split("+", 2)  # base64 may hold "+"
    raw = b64decode(blob)
    alg, public = raw[0], raw[1:]
    if len(public) != 32 or alg not in (0x01, 0x04):
        raise ValueError("not an Ed25519 or cosignature/v1 verifier key")
    kid = bytes.fromhex(hex_id)
    if kid != key_id(name, alg, public):
        raise ValueError("the key ID does not follow from the name and key")
    return NoteKey(name, kid, alg, public)


def make_vkey(name: str, alg: int, public: bytes) -> str:
    return f"{name}+{key_id(name, alg, public).hex()}+{b64(bytes([alg]) + public)}"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[tuple[str, bytes], ...]  # (key name, key ID ‖ signature bytes)


def split_note(note: str) -> SignedNote:
    """The text (ending in a newline), a blank line, then ``— name base64`` lines, each ending in a newline."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise ValueError("not a signed note")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    sigs = []
    for line in sig_block.split("\n")[:-1]:
        if not line.startswith(DASH):
            raise ValueError(f"not a signature line: {line!r}")
        name, _, blob = line[len(DASH) :].rpartition(" ")
        sigs.append((name, b64decode(blob)))
    if not sigs:
        raise ValueError("a note without signatures")
    return SignedNote(text, tuple(sigs))


def verify_note(note: str, key: NoteKey) -> str:
    """The note's text, if *key* (an Ed25519 signed-note key, type 0x01) signed it; else ValueError."""
    parsed = split_note(note)
    for name, blob in parsed.signatures:
        if name == key.name and blob[:4] == key.key_id and len(blob) == 68:
            try:
                key.verifier().verify(blob[4:], parsed.text.encode())
            except InvalidSignature:
                raise ValueError("the log key's signature does not verify") from None
            return parsed.text
    raise ValueError("no signature by the log key")


def sign_note(text: str, name: str, private: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sig = key_id(name, 0x01, public) + private.sign(text.encode())
    return f"{text}\n{DASH}{name} {b64(sig)}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    text: str


def parse_checkpoint(text: str) -> Checkpoint:
    """C2SP tlog-checkpoint: ``origin\\n size\\n base64(root)\\n``; the platform writes no extension lines."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "" or not lines[1].isdigit() or lines[1] != str(int(lines[1])):
        raise ValueError(f"not a three-line checkpoint: {text!r}")
    root = b64decode(lines[2])
    if len(root) != 32:
        raise ValueError("root is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, text)


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text.encode()


def verify_cosignature(checkpoint_text: str, blob: bytes, key: NoteKey) -> int:
    """log.md §3: ``key ID ‖ u64be(T) ‖ signature`` over ``cosignature/v1\\ntime T\\n`` ‖ checkpoint; returns T."""
    if key.alg != 0x04 or len(blob) != 4 + 8 + 64 or blob[:4] != key.key_id:
        raise ValueError("not a cosignature by this witness")
    (timestamp,) = struct.unpack(">Q", blob[4:12])
    try:
        key.verifier().verify(blob[12:], cosignature_message(checkpoint_text, timestamp))
    except InvalidSignature:
        raise ValueError("the cosignature does not verify") from None
    return timestamp


# --- deadline cuts (log.md §6) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineCut:
    origin: str
    section_id: int
    section_code: str
    deadline: str
    tree_size: int
    root: bytes
    cut_at: str


_CUT_KEYS = ("origin", "section", "section-code", "deadline", "tree-size", "root", "cut-at")


def parse_cut(text: str) -> DeadlineCut:
    lines = text.split("\n")
    if len(lines) != 9 or lines[0] != "trading-deadline-cut/v1" or lines[8] != "":
        raise ValueError("not a trading-deadline-cut/v1 text")
    values = {}
    for line, key in zip(lines[1:8], _CUT_KEYS, strict=True):
        if not line.startswith(key + " "):
            raise ValueError(f"expected {key!r}, got {line!r}")
        values[key] = line[len(key) + 1 :]
    for key in ("section", "tree-size"):
        if not values[key].isdigit() or values[key] != str(int(values[key])):
            raise ValueError(f"{key} is not a decimal")
    parse_instant(values["deadline"])
    parse_instant(values["cut-at"])
    root = b64decode(values["root"])
    if len(root) != 32:
        raise ValueError("root is not 32 bytes")
    return DeadlineCut(
        values["origin"],
        int(values["section"]),
        values["section-code"],
        values["deadline"],
        int(values["tree-size"]),
        root,
        values["cut-at"],
    )


# --- bid events, section tags, key owners (log.md §5, §7) ---------------------------------------------------------

EVENT_LABEL = b"trading-bid/v1 event-commitment"
OWNER_LABEL = b"trading-bid/v1 key-owner"


def event_commitment(details: dict, salt: bytes) -> str:
    return sha256_hex(EVENT_LABEL + b"\x00" + salt + canonical_json(details))


def section_tag(tag_key: bytes, commitment_hex: str) -> str:
    return hmac.new(tag_key, bytes.fromhex(commitment_hex), hashlib.sha256).hexdigest()


def owner_commitment(owner: dict, salt: bytes) -> str:
    return sha256_hex(OWNER_LABEL + b"\x00" + salt + canonical_json(owner))


# --- the envelope's price re-check (envelope.md §2, §4, §5, §6.2, §10.4) -----------------------------------------


class EnvelopeError(ValueError):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def lp_str(text: str) -> bytes:
    return lp(text.encode("utf-8"))


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


def context_bytes(
    *,
    role: str,
    suite: str,
    section_id: int,
    trade_code: str,
    section_code: str,
    bidder_credit_code: str,
    k: int,
    n: int,
    opener_key_hashes: list[bytes],
) -> bytes:
    """envelope.md §4: the committee enters as key hashes."""
    return (
        lp(b"trading-bid/v1 context")
        + lp_str(role)
        + lp_str(suite)
        + u64(section_id)
        + lp_str(trade_code)
        + lp_str(section_code)
        + lp_str(bidder_credit_code)
        + u64(k)
        + u64(n)
        + b"".join(lp(h) for h in opener_key_hashes)
    )


def context_from_manifest(manifest: dict) -> bytes:
    committee = manifest["committee"]
    return context_bytes(
        role=manifest["role"],
        suite=manifest["suite"],
        section_id=manifest["section_id"],
        trade_code=manifest["trade_code"],
        section_code=manifest["section_code"],
        bidder_credit_code=manifest["bidder_credit_code"],
        k=committee["k"],
        n=committee["n"],
        opener_key_hashes=[bytes.fromhex(h) for h in committee["opener_keys_sha256"]],
    )


def chunk_ad(context: bytes, envelope: str, chunk_size: int) -> bytes:
    return lp(b"trading-bid/v1 chunk") + lp(context) + lp_str(envelope) + u64(chunk_size)


def chunk_nonce(index: int, final: bool) -> bytes:
    return b"\x00" * 7 + struct.pack(">I", index) + (b"\x01" if final else b"\x00")


def key_commitment(context: bytes, envelope: str, key: bytes) -> str:
    return sha256_hex(lp(b"trading-bid/v1 key-commitment") + lp(context) + lp_str(envelope) + lp(key))


def share_commitment(context: bytes, envelope: str, index: int, share: bytes) -> str:
    return sha256_hex(lp(b"trading-bid/v1 share-commitment") + lp(context) + lp_str(envelope) + u64(index) + lp(share))


def _open(aead: AESGCM, nonce: bytes, piece: bytes, ad: bytes) -> bytes | None:
    try:
        return aead.decrypt(nonce, piece, ad)
    except InvalidTag:
        return None


def decrypt_chunked(key: bytes, ad: bytes, chunk_size: int, stream: bytes) -> bytes:
    """envelope.md §5.3, step by step; raises EnvelopeError with the documented code."""
    aead = AESGCM(key)
    size = chunk_size + 16
    # pieces: full pieces while at least one more byte follows, then the rest
    pieces = []
    pos = 0
    while len(stream) - pos > size:
        pieces.append(stream[pos : pos + size])
        pos += size
    pieces.append(stream[pos:])
    out = []
    for c, piece in enumerate(pieces):
        last = c == len(pieces) - 1
        if not last:
            plain = _open(aead, chunk_nonce(c, False), piece, ad)
            if plain is None:
                if _open(aead, chunk_nonce(c, True), piece, ad) is not None:
                    raise EnvelopeError("envelope.trailing_data", f"chunk {c}")
                raise EnvelopeError("envelope.chunk_tampered", f"chunk {c}")
            out.append(plain)
            continue
        if len(piece) < 16:
            raise EnvelopeError("envelope.truncated", f"chunk {c}")
        plain = _open(aead, chunk_nonce(c, True), piece, ad)
        if plain is None:
            if len(piece) == size and _open(aead, chunk_nonce(c, False), piece, ad) is not None:
                raise EnvelopeError("envelope.truncated", f"chunk {c}")
            raise EnvelopeError("envelope.chunk_tampered", f"chunk {c}")
        if not plain and c > 0:
            raise EnvelopeError("envelope.chunk_tampered", "an empty final chunk after others")
        out.append(plain)
    return b"".join(out)


def encrypt_chunked(key: bytes, ad: bytes, chunk_size: int, plaintext: bytes) -> list[tuple[bytes, bytes]]:
    """(nonce, chunk) for every chunk of §5.2 — for checking the vectors."""
    aead = AESGCM(key)
    pieces = [plaintext[i : i + chunk_size] for i in range(0, len(plaintext), chunk_size)] or [b""]
    return [
        (chunk_nonce(c, c == len(pieces) - 1), aead.encrypt(chunk_nonce(c, c == len(pieces) - 1), p, ad))
        for c, p in enumerate(pieces)
    ]


def possible_ciphertext_size(chunk_size: int, length: int) -> int | None:
    """envelope.md §5.2: the plaintext length of a possible ciphertext length, else None."""
    s = chunk_size + 16
    if length < 16:
        return None
    if length == 16:
        return 0
    r = length % s
    if r == 0 or r > 16:
        return length - 16 * -(-length // s)
    return None


_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_WHITE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def decode_opening_form(data: bytes, role: str = "bidder") -> dict:
    """envelope.md §5.4: a canonical JSON object of strings and integers with the required fields."""
    if len(data) > 16 * 1024:
        raise EnvelopeError("envelope.price_form_invalid", "over 16 KiB")
    try:
        form = parse_canonical(data)
    except NotCanonical as exc:
        raise EnvelopeError("envelope.price_form_invalid", str(exc)) from exc
    if not isinstance(form, dict) or len(form) > 64:
        raise EnvelopeError("envelope.price_form_invalid", "not an object of at most 64 fields")
    for name, value in form.items():
        if not _FIELD.match(name):
            raise EnvelopeError("envelope.price_form_invalid", name)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise EnvelopeError("envelope.price_form_invalid", name)
        if isinstance(value, int) and not 0 <= value <= 2**53 - 1:
            raise EnvelopeError("envelope.price_form_invalid", name)
        if isinstance(value, str) and (
            len(value) > 1000 or any((ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7F for c in value)
        ):
            raise EnvelopeError("envelope.price_form_invalid", name)
    required = {"total_price_fen": int} if role == "reserve" else {"total_price_fen": int, "duration_days": int}
    for name, kind in required.items():
        if not isinstance(form.get(name), kind) or isinstance(form.get(name), bool):
            raise EnvelopeError("envelope.price_form_invalid", name)
    if role != "reserve" and (not isinstance(form.get("quality"), str) or not form["quality"].strip(_WHITE)):
        raise EnvelopeError("envelope.price_form_invalid", "quality")
    return form


def recheck_price(manifest: dict, data_key: bytes, ciphertext: bytes) -> dict:
    """envelope.md §10.4: the key against its commitment (context rebuilt from the manifest), the ciphertext's
    hash and size, decryption, the opening form."""
    price = manifest["envelopes"]["price"]
    context = context_from_manifest(manifest)
    if len(data_key) != 32 or key_commitment(context, "price", data_key) != price["key_commitment"]:
        raise EnvelopeError("envelope.key_commitment_mismatch")
    if len(ciphertext) != price["ciphertext_size"] or sha256_hex(ciphertext) != price["ciphertext_sha256"]:
        raise EnvelopeError("envelope.ciphertext_mismatch")
    plain = decrypt_chunked(data_key, chunk_ad(context, "price", price["chunk_size"]), price["chunk_size"], ciphertext)
    return decode_opening_form(plain, manifest["role"])


def verify_ed25519(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
