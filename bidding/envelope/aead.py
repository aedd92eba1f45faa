"""The chunked AEAD of an envelope: AES-256-GCM over fixed-size chunks with a counter-and-final-flag nonce.

The plaintext is cut into chunks of ``chunk_size`` bytes; only the last may be shorter, and it is empty only
when the whole plaintext is (then the ciphertext is one empty final chunk, 16 bytes of tag). Chunk i (from 0) is
sealed with nonce ``00×7 ‖ u32be(i) ‖ flag`` where flag is 0x01 on the final chunk and 0x00 before it, and with
the envelope's associated data. The data key is fresh for every envelope, so a (key, nonce) pair never repeats.

Reordered, swapped or altered chunks fail their tag; a stream cut after a non-final chunk has no final chunk and
is refused as truncated; data after the final chunk is refused as trailing. Decryption releases each chunk's
plaintext as soon as it authenticates: a consumer must discard what it got if :meth:`ChunkDecryptor.finish`
(or a later chunk) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ChunkAuthenticationFailed, Malformed, TrailingCiphertext, TruncatedCiphertext

DATA_KEY_SIZE = 32
TAG_SIZE = 16
DEFAULT_CHUNK_SIZE = 65536
MIN_CHUNK_SIZE = 1
MAX_CHUNK_SIZE = 1 << 24
MAX_CHUNKS = 1 << 32
_FINAL = b"\x01"
_NOT_FINAL = b"\x00"


def chunk_nonce(counter: int, final: bool) -> bytes:
    """``00×7 ‖ u32be(counter) ‖ (0x01 if final else 0x00)``."""
    if not 0 <= counter < MAX_CHUNKS:
        raise ValueError("chunk counter out of range")
    return bytes(7) + counter.to_bytes(4, "big") + (_FINAL if final else _NOT_FINAL)


def check_chunk_size(chunk_size: int) -> int:
    if not (isinstance(chunk_size, int) and MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE):
        raise Malformed(
            f"分块大小应在 {MIN_CHUNK_SIZE} 到 {MAX_CHUNK_SIZE} 字节之间",
            f"The chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes",
            details={"chunk_size": chunk_size},
        )
    return chunk_size


def ciphertext_size(plaintext_size: int, chunk_size: int) -> int:
    """The ciphertext length for a plaintext length: one tag per chunk, at least one chunk."""
    chunks = max(1, -(-plaintext_size // chunk_size))
    return plaintext_size + TAG_SIZE * chunks


def plaintext_size(ciphertext_size_: int, chunk_size: int) -> int | None:
    """The plaintext length a ciphertext length implies, or None if no plaintext gives that length."""
    if ciphertext_size_ == TAG_SIZE:
        return 0
    full, rest = divmod(ciphertext_size_, chunk_size + TAG_SIZE)
    if rest == 0:
        return full * chunk_size if full else None
    if rest <= TAG_SIZE:  # a final chunk must carry at least one byte once there are earlier chunks
        return None
    return full * chunk_size + rest - TAG_SIZE


class ChunkEncryptor:
    """Encrypt a plaintext written piecewise; ciphertext goes to ``sink`` chunk by chunk.

    A full chunk is held back until more data arrives, because only then is it known not to be the final one.
    """

    def __init__(self, data_key: bytes, associated_data: bytes, chunk_size: int, sink: Callable[[bytes], object]):
        if len(data_key) != DATA_KEY_SIZE:
            raise ValueError("the data key is 32 bytes")
        self._aead = AESGCM(data_key)
        self._ad = associated_data
        self._chunk_size = check_chunk_size(chunk_size)
        self._sink = sink
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.plaintext_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write after close")
        size = self._chunk_size
        with memoryview(data) as whole:
            view = whole.cast("B")
            self.plaintext_size += len(view)
            if self._buffer:  # complete the chunk held back, if this data goes past it
                need = size - len(self._buffer)
                if len(view) <= need:
                    self._buffer += view
                    return len(view)
                self._buffer += view[:need]
                view = view[need:]
                self._emit(bytes(self._buffer), final=False)
                self._buffer.clear()
            # Whole chunks are encrypted straight from the caller's data; the last one is held back.
            start = 0
            while len(view) - start > size:
                self._emit(view[start : start + size], final=False)
                start += size
            self._buffer += view[start:]
            return len(view)

    def close(self) -> None:
        if self._closed:
            return
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._closed = True

    def _emit(self, chunk: bytes | memoryview, *, final: bool) -> None:
        self._sink(self._aead.encrypt(chunk_nonce(self._counter, final), chunk, self._ad))
        self._counter += 1


def encrypt_bytes(data_key: bytes, associated_data: bytes, chunk_size: int, plaintext: bytes) -> bytes:
    out: list[bytes] = []
    encryptor = ChunkEncryptor(data_key, associated_data, chunk_size, out.append)
    encryptor.write(plaintext)
    encryptor.close()
    return b"".join(out)


class ChunkDecryptor:
    """Decrypt a ciphertext fed in pieces of any size; :meth:`finish` must be called at the end of the stream."""

    def __init__(self, data_key: bytes, associated_data: bytes, chunk_size: int):
        if len(data_key) != DATA_KEY_SIZE:
            raise ValueError("the data key is 32 bytes")
        self._aead = AESGCM(data_key)
        self._ad = associated_data
        self._chunk_size = check_chunk_size(chunk_size)
        self._sealed_size = self._chunk_size + TAG_SIZE
        self._buffer = bytearray()
        self._counter = 0
        self._done = False
        self.plaintext_size = 0

    def _open(self, chunk: bytes, final: bool) -> bytes | None:
        try:
            return self._aead.decrypt(chunk_nonce(self._counter, final), chunk, self._ad)
        except InvalidTag:
            return None

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Authenticated plaintext of every chunk known to be complete and non-final."""
        if self._done:
            if len(data):
                raise TrailingCiphertext(details={"chunk": self._counter})
            return []
        self._buffer += data
        out = []
        start = 0
        while len(self._buffer) - start > self._sealed_size:
            chunk = bytes(self._buffer[start : start + self._sealed_size])
            plain = self._open(chunk, final=False)
            if plain is None:
                if self._open(chunk, final=True) is not None:
                    raise TrailingCiphertext(details={"chunk": self._counter})
                raise ChunkAuthenticationFailed(details={"chunk": self._counter})
            out.append(plain)
            self.plaintext_size += len(plain)
            self._counter += 1
            start += self._sealed_size
        del self._buffer[:start]
        return out

    def finish(self) -> bytes:
        """The final chunk's plaintext; raises unless the stream ended exactly after a valid final chunk."""
        if self._done:
            return b""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if len(rest) < TAG_SIZE:
            raise TruncatedCiphertext(details={"chunk": self._counter})
        plain = self._open(rest, final=True)
        if plain is None:
            if len(rest) == self._sealed_size and self._open(rest, final=False) is not None:
                raise TruncatedCiphertext(details={"chunk": self._counter + 1})
            raise ChunkAuthenticationFailed(details={"chunk": self._counter})
        if not plain and self._counter:
            # An empty final chunk after others is never written by a v1 sealer: one plaintext, one ciphertext.
            raise ChunkAuthenticationFailed(
                "解密失败：多余的空分块",
                "Decryption failed: an empty final chunk after other chunks",
                details={"chunk": self._counter},
            )
        self._done = True
        self._counter += 1
        self.plaintext_size += len(plain)
        return plain


def iter_decrypt(
    data_key: bytes, associated_data: bytes, chunk_size: int, ciphertext: Iterable[bytes]
) -> Iterator[bytes]:
    """Plaintext pieces of a whole ciphertext stream; raises (a :class:`DecryptionFailed`) on the first problem."""
    decryptor = ChunkDecryptor(data_key, associated_data, chunk_size)
    for piece in ciphertext:
        yield from decryptor.feed(piece)
    last = decryptor.finish()
    if last:
        yield last


def decrypt_bytes(data_key: bytes, associated_data: bytes, chunk_size: int, ciphertext: bytes) -> bytes:
    return b"".join(iter_decrypt(data_key, associated_data, chunk_size, [ciphertext]))
