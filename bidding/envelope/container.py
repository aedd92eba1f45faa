"""The sealed bid file (``*.bid``): a strict POSIX tar of five members, written and read as streams.

Members, in this order and nothing else: ``manifest.json`` (the exact signed bytes), ``manifest.sig`` (64 raw
bytes of Ed25519 signature), ``shares.json`` (the HPKE-sealed key shares), ``price.bin`` and ``documents.bin``
(the envelopes' ciphertexts). Every member is a regular file (mode 0644, mtime 0, uid/gid 0); the archive ends
with two zero blocks. ``tar tvf bid.bid`` lists it.

:func:`read_sealed_bid` indexes a file on disk (seeking past the ciphertexts); :class:`SealedBidParser` is a
sans-I/O parser for an upload arriving in pieces (sync or async): feed it bytes, act on its events — check the
head before the gigabytes arrive, store ciphertext as it passes, compare hashes at the end.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .context import ENVELOPE_DOCUMENTS, ENVELOPE_PRICE
from .errors import Malformed
from .manifest import (
    MAX_MANIFEST_BYTES,
    MAX_PRICE_CIPHERTEXT,
    MAX_SHARES_JSON_BYTES,
    Manifest,
    decode_sealed_shares,
    parse_manifest,
)
from .tarformat import (
    BLOCK,
    END_OF_ARCHIVE,
    TarFormatError,
    member_header,
    padding,
    parse_pax_records,
    parse_ustar_header,
)

MEMBER_MANIFEST = "manifest.json"
MEMBER_SIGNATURE = "manifest.sig"
MEMBER_SHARES = "shares.json"
MEMBER_PRICE = "price.bin"
MEMBER_DOCUMENTS = "documents.bin"
MEMBERS = (MEMBER_MANIFEST, MEMBER_SIGNATURE, MEMBER_SHARES, MEMBER_PRICE, MEMBER_DOCUMENTS)
CIPHERTEXT_MEMBERS = {ENVELOPE_PRICE: MEMBER_PRICE, ENVELOPE_DOCUMENTS: MEMBER_DOCUMENTS}
SIGNATURE_SIZE = 64
COPY_BLOCK = 1 << 20
_MAX_PAX_HEADER = 4096


def member_limits(max_documents_size: int | None = None) -> dict[str, tuple[int, int]]:
    """(minimum, maximum) size of each member."""
    return {
        MEMBER_MANIFEST: (2, MAX_MANIFEST_BYTES),
        MEMBER_SIGNATURE: (SIGNATURE_SIZE, SIGNATURE_SIZE),
        MEMBER_SHARES: (2, MAX_SHARES_JSON_BYTES),
        MEMBER_PRICE: (16, MAX_PRICE_CIPHERTEXT),
        MEMBER_DOCUMENTS: (16, max_documents_size if max_documents_size is not None else 2**62),
    }


def _malformed(why: str) -> Malformed:
    return Malformed(f"投标文件（.bid）结构不正确：{why}", f"The sealed bid file is malformed: {why}")


def container_head(
    *, manifest_bytes: bytes, signature: bytes, shares_json: bytes, price_ciphertext: bytes, documents_size: int
) -> bytes:
    """Everything before the documents ciphertext: the four small members and the header of ``documents.bin``."""
    if len(signature) != SIGNATURE_SIZE:
        raise ValueError("an Ed25519 signature is 64 bytes")
    head = bytearray()
    for name, data in (
        (MEMBER_MANIFEST, manifest_bytes),
        (MEMBER_SIGNATURE, signature),
        (MEMBER_SHARES, shares_json),
        (MEMBER_PRICE, price_ciphertext),
    ):
        head += member_header(name, len(data)) + data + padding(len(data))
    return bytes(head + member_header(MEMBER_DOCUMENTS, documents_size))


def container_tail(documents_size: int) -> bytes:
    """Everything after the documents ciphertext: its padding and the end of the archive."""
    return padding(documents_size) + END_OF_ARCHIVE


def write_container(
    out: BinaryIO,
    *,
    manifest_bytes: bytes,
    signature: bytes,
    shares_json: bytes,
    price_ciphertext: bytes,
    documents_ciphertext: BinaryIO,
    documents_size: int,
) -> int:
    """Write the five members; ``documents_ciphertext`` is copied in blocks. Returns the bytes written."""
    head = container_head(
        manifest_bytes=manifest_bytes,
        signature=signature,
        shares_json=shares_json,
        price_ciphertext=price_ciphertext,
        documents_size=documents_size,
    )
    out.write(head)
    remaining = documents_size
    while remaining:
        block = documents_ciphertext.read(min(COPY_BLOCK, remaining))
        if not block:
            raise ValueError("the documents ciphertext is shorter than announced")
        out.write(block)
        remaining -= len(block)
    tail = container_tail(documents_size)
    out.write(tail)
    return len(head) + documents_size + len(tail)


# --- reading a file on disk ----------------------------------------------------------------------------------


@dataclass
class SealedBid:
    """A sealed bid file, indexed: the small members in memory, the ciphertexts as (offset, size) to stream."""

    manifest_bytes: bytes
    signature: bytes
    shares_json: bytes
    sealed_shares: dict[str, tuple[bytes, ...]]
    members: dict[str, tuple[int, int]]
    source: Path | BinaryIO
    _manifest: Manifest | None = field(default=None, repr=False)

    @property
    def manifest(self) -> Manifest:
        """The parsed manifest (checked against the v1 rules, not yet against any section or key)."""
        if self._manifest is None:
            self._manifest = parse_manifest(self.manifest_bytes)
        return self._manifest

    def ciphertext_size(self, envelope: str) -> int:
        return self.members[CIPHERTEXT_MEMBERS[envelope]][1]

    def iter_ciphertext(self, envelope: str, block_size: int = COPY_BLOCK) -> Iterator[bytes]:
        """The envelope's ciphertext in blocks, read from the file as they are consumed."""
        return self.iter_member(CIPHERTEXT_MEMBERS[envelope], block_size)

    def iter_member(self, name: str, block_size: int = COPY_BLOCK) -> Iterator[bytes]:
        offset, size = self.members[name]
        if isinstance(self.source, Path):
            with open(self.source, "rb") as fh:
                yield from _read_range(fh, offset, size, block_size)
        else:
            yield from _read_range(self.source, offset, size, block_size)


def _read_range(fh: BinaryIO, offset: int, size: int, block_size: int) -> Iterator[bytes]:
    position = offset
    remaining = size
    while remaining:
        fh.seek(position)
        block = fh.read(min(block_size, remaining))
        if not block:
            raise _malformed("the file ends inside a member")
        position += len(block)
        remaining -= len(block)
        yield block


def _read_exact(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise _malformed("the file ends early")
    return data


def _read_member_header(fh: BinaryIO) -> tuple[str, int] | None:
    try:
        header = parse_ustar_header(_read_exact(fh, BLOCK))
        if header is None:
            return None
        records: dict[str, bytes] = {}
        if header.typeflag == b"x":
            if header.size > _MAX_PAX_HEADER:
                raise TarFormatError("pax header too large")
            records = parse_pax_records(_read_exact(fh, header.size))
            _read_exact(fh, len(padding(header.size)))
            header = parse_ustar_header(_read_exact(fh, BLOCK))
            if header is None:
                raise TarFormatError("pax header without a member")
    except TarFormatError as exc:
        raise _malformed(str(exc)) from None
    return _member_from(header.name, header.size, header.typeflag, records)


def _member_from(name: str, size: int, typeflag: bytes, records: dict[str, bytes]) -> tuple[str, int]:
    if typeflag != b"0":
        raise _malformed(f"member {name!r} is not a regular file")
    if set(records) - {"size"}:
        raise _malformed("unexpected pax records")
    if "size" in records:
        value = records["size"]
        if not value or value.strip(b"0123456789"):  # decimal digits only, as in the ustar numeric fields
            raise _malformed("bad pax size")
        size = int(value)
    return name, size


def read_sealed_bid(source: Path | str | BinaryIO, *, max_documents_size: int | None = None) -> SealedBid:
    """Index a sealed bid file: check its structure, load the small members, locate the ciphertexts.

    Nothing here is verified cryptographically: pass the result to
    :func:`~bidding.envelope.submission.check_submission`.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        with open(path, "rb") as fh:
            bid = _index(fh, path, max_documents_size)
        return bid
    return _index(source, source, max_documents_size)


def _index(fh: BinaryIO, source: Path | BinaryIO, max_documents_size: int | None) -> SealedBid:
    limits = member_limits(max_documents_size)
    small: dict[str, bytes] = {}
    members: dict[str, tuple[int, int]] = {}
    for expected in MEMBERS:
        found = _read_member_header(fh)
        if found is None:
            raise _malformed(f"member {expected} is missing")
        name, size = found
        if name != expected:
            raise _malformed(f"expected member {expected}, found {name!r}")
        low, high = limits[name]
        if not low <= size <= high:
            raise _malformed(f"member {name} has an impossible size ({size} bytes)")
        offset = fh.tell()
        if name in (MEMBER_PRICE, MEMBER_DOCUMENTS):
            fh.seek(offset + size + len(padding(size)))
        else:
            small[name] = _read_exact(fh, size)
            _read_exact(fh, len(padding(size)))
        members[name] = (offset, size)
    end = fh.read(2 * BLOCK)
    if end != END_OF_ARCHIVE:
        raise _malformed("the archive does not end after documents.bin")
    while trailer := fh.read(COPY_BLOCK):
        if trailer.count(0) != len(trailer):
            raise _malformed("data after the end of the archive")
    return SealedBid(
        manifest_bytes=small[MEMBER_MANIFEST],
        signature=small[MEMBER_SIGNATURE],
        shares_json=small[MEMBER_SHARES],
        sealed_shares=decode_sealed_shares(small[MEMBER_SHARES]),
        members=members,
        source=source,
    )


# --- parsing an upload as it arrives ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadReceived:
    """The three small members arrived: check them (``check_submission``) before accepting the ciphertexts."""

    manifest_bytes: bytes
    signature: bytes
    shares_json: bytes
    sealed_shares: dict[str, tuple[bytes, ...]]


@dataclass(frozen=True)
class CiphertextData:
    envelope: str
    data: bytes


@dataclass(frozen=True)
class CiphertextEnd:
    envelope: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ArchiveEnd:
    pass


ParseEvent = HeadReceived | CiphertextData | CiphertextEnd | ArchiveEnd


class SealedBidParser:
    """Sans-I/O parser of a sealed bid file arriving in pieces.

    ``feed(data)`` returns the events the new bytes complete, in order; ``close()`` at the end of the stream
    raises :class:`Malformed` unless the archive was complete. Ciphertext data is passed through in the pieces it
    arrived in (never accumulated) and hashed on the way; the head members are bounded (64 KiB, 64 B, 1 MiB).
    """

    def __init__(self, *, max_documents_size: int | None = None):
        self._limits = member_limits(max_documents_size)
        self._buffer = bytearray()
        self._member_index = 0
        self._state = "header"
        self._pax: dict[str, bytes] = {}
        self._name = ""
        self._remaining = 0
        self._size = 0
        self._pad = 0
        self._small: dict[str, bytes] = {}
        self._body = bytearray()
        self._hash = hashlib.sha256()
        self._zero_blocks = 0
        self.finished = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[ParseEvent]:
        events: list[ParseEvent] = []
        view = memoryview(data).cast("B")
        pos = 0
        while pos < len(view):
            if self._state == "body" and not self._buffer:
                take = min(self._remaining, len(view) - pos)
                self._consume_body(bytes(view[pos : pos + take]), events)
                pos += take
                continue
            if self._state == "trailer":
                rest = view[pos:]
                if bytes(rest).count(0) != len(rest):
                    raise _malformed("data after the end of the archive")
                return events
            need = self._need()
            take = min(need - len(self._buffer), len(view) - pos)
            self._buffer += view[pos : pos + take]
            pos += take
            if len(self._buffer) == need:
                block = bytes(self._buffer)
                self._buffer.clear()
                self._step(block, events)
        return events

    def close(self) -> None:
        if not self.finished:
            raise _malformed("the upload ended before the archive did")

    # internals

    def _need(self) -> int:
        if self._state in ("header", "end"):
            return BLOCK
        if self._state == "pax":
            return self._remaining + len(padding(self._remaining))
        if self._state == "pad":
            return self._pad
        raise AssertionError(self._state)

    def _step(self, block: bytes, events: list[ParseEvent]) -> None:
        try:
            if self._state == "pax":
                self._pax = parse_pax_records(block[: self._remaining])
                self._state = "header"
                return
            if self._state == "pad":
                if block.count(0) != len(block):
                    raise TarFormatError("non-zero padding")
                self._after_member(events)
                return
            header = parse_ustar_header(block)
        except TarFormatError as exc:
            raise _malformed(str(exc)) from None
        if self._state == "end":
            if header is not None:
                raise _malformed("the archive does not end after documents.bin")
            self._state = "trailer"
            self.finished = True
            events.append(ArchiveEnd())
            return
        if header is None:
            if self._member_index < len(MEMBERS):
                raise _malformed(f"member {MEMBERS[self._member_index]} is missing")
            self._state = "end"
            return
        if self._member_index >= len(MEMBERS):
            raise _malformed("the archive does not end after documents.bin")
        if header.typeflag == b"x" and not self._pax:
            if header.size > _MAX_PAX_HEADER:
                raise _malformed("pax header too large")
            self._remaining = header.size
            self._state = "pax"
            return
        name, size = _member_from(header.name, header.size, header.typeflag, self._pax)
        self._pax = {}
        expected = MEMBERS[self._member_index]
        if name != expected:
            raise _malformed(f"expected member {expected}, found {name!r}")
        low, high = self._limits[name]
        if not low <= size <= high:
            raise _malformed(f"member {name} has an impossible size ({size} bytes)")
        self._name, self._size, self._remaining = name, size, size
        self._pad = len(padding(size))
        self._hash = hashlib.sha256()
        self._body = bytearray()
        self._state = "body"

    def _consume_body(self, data: bytes, events: list[ParseEvent]) -> None:
        self._remaining -= len(data)
        envelope = _envelope_of(self._name)
        if envelope is None:
            self._body += data
        elif data:
            self._hash.update(data)
            events.append(CiphertextData(envelope, data))
        if self._remaining == 0:
            if self._pad:
                self._state = "pad"
            else:
                self._after_member(events)

    def _after_member(self, events: list[ParseEvent]) -> None:
        envelope = _envelope_of(self._name)
        if envelope is None:
            self._small[self._name] = bytes(self._body)
            self._body = bytearray()
            if self._name == MEMBER_SHARES:
                events.append(
                    HeadReceived(
                        manifest_bytes=self._small[MEMBER_MANIFEST],
                        signature=self._small[MEMBER_SIGNATURE],
                        shares_json=self._small[MEMBER_SHARES],
                        sealed_shares=decode_sealed_shares(self._small[MEMBER_SHARES]),
                    )
                )
        else:
            events.append(CiphertextEnd(envelope, self._size, self._hash.hexdigest()))
        self._member_index += 1
        self._state = "header"


def _envelope_of(member: str) -> str | None:
    for envelope, name in CIPHERTEXT_MEMBERS.items():
        if name == member:
            return envelope
    return None
