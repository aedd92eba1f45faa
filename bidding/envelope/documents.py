"""The documents envelope's plaintext: the bidder's files as a deterministic POSIX tar, streamed, and read back.

Names are relative POSIX paths in UTF-8 (``商务标/报价说明.pdf``); members are sorted by name, regular files
only (no directories, links or devices), mode 0644, mtime 0. The tar is produced piece by piece, so a folder of
gigabytes never sits in memory.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import InvalidDocuments
from .tarformat import END_OF_ARCHIVE, member_header, padding

READ_BLOCK = 1 << 20
MAX_NAME_BYTES = 1024
MAX_FILES = 100_000


def check_document_name(name: str) -> str:
    """A member name: relative, '/'-separated, no empty, '.' or '..' component, no control characters."""
    problem = None
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        encoded = b""
        problem = "not valid UTF-8"
    if problem is None:
        if not name or len(encoded) > MAX_NAME_BYTES:
            problem = "empty or too long"
        elif name.startswith("/") or "\\" in name:
            problem = "must be a relative path with '/' separators"
        elif any(part in ("", ".", "..") for part in name.split("/")):
            problem = "has an empty, '.' or '..' component"
        elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
            problem = "has a control character"
    if problem is not None:
        raise InvalidDocuments(
            f"文件名不可用：{name!r}（{problem}）",
            f"Unusable file name {name!r}: {problem}",
            details={"name": repr(name)},
        )
    return name


def collect_documents(documents: Sequence[tuple[str, Path | str]] | Path | str) -> list[tuple[str, Path, int]]:
    """The files to pack as ``(name, path, size)``, sorted by name; a folder is walked (regular files only)."""
    entries: list[tuple[str, Path]] = []
    if isinstance(documents, str | os.PathLike):
        root = Path(documents)
        if not root.is_dir():
            raise InvalidDocuments(f"不是文件夹：{root}", f"Not a folder: {root}")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for entry in [*dirnames, *filenames]:
                full = Path(dirpath) / entry
                if full.is_symlink():
                    raise InvalidDocuments(
                        f"文件夹中有符号链接：{full}",
                        f"The folder holds a symbolic link: {full}",
                        details={"path": str(full)},
                    )
            for filename in sorted(filenames):
                full = Path(dirpath) / filename
                entries.append((full.relative_to(root).as_posix(), full))
    else:
        entries = [(name, Path(path)) for name, path in documents]
    if len(entries) > MAX_FILES:
        raise InvalidDocuments(f"文件过多（超过 {MAX_FILES} 个）", f"Too many files (more than {MAX_FILES})")
    result = []
    seen = set()
    for name, path in sorted(entries, key=lambda item: item[0].encode("utf-8", "surrogateescape")):
        check_document_name(name)
        if name in seen:
            raise InvalidDocuments(f"文件名重复：{name}", f"Duplicate file name: {name}", details={"name": name})
        seen.add(name)
        try:
            info = path.lstat()
        except OSError as exc:
            raise InvalidDocuments(f"无法读取 {path}：{exc.strerror}", f"Cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise InvalidDocuments(
                f"只能封装普通文件：{path}", f"Only regular files can be sealed: {path}", details={"path": str(path)}
            )
        result.append((name, path, info.st_size))
    for name in seen:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in seen:
                raise InvalidDocuments(
                    f"文件名与文件夹名冲突：{name}",
                    f"A file name is also used as a folder: {name}",
                    details={"name": name},
                )
    return result


def documents_tar_size(files: Iterable[tuple[str, Path, int]]) -> int:
    """The length of the tar :func:`write_documents_tar` makes of ``files``, known before reading any of them."""
    return sum(len(member_header(name, size)) + size + len(padding(size)) for name, _, size in files) + len(
        END_OF_ARCHIVE
    )


def write_documents_tar(
    files: Iterable[tuple[str, Path, int]],
    write: Callable[[bytes], object],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream the tar of ``files`` (from :func:`collect_documents`) into ``write``; returns the tar's length.

    ``progress`` is called with the number of file bytes read so far, after every block.
    """
    total = 0
    done = 0
    for name, path, size in files:
        head = member_header(name, size)
        write(head)
        total += len(head)
        remaining = size
        try:
            with open(path, "rb") as fh:
                while remaining:
                    block = fh.read(min(READ_BLOCK, remaining))
                    if not block:
                        break
                    write(block)
                    remaining -= len(block)
                    done += len(block)
                    if progress is not None:
                        progress(done)
                extra = fh.read(1)
        except OSError as exc:
            raise InvalidDocuments(f"无法读取 {path}：{exc.strerror}", f"Cannot read {path}: {exc.strerror}") from None
        if remaining or extra:
            raise InvalidDocuments(
                f"文件在封装过程中被修改：{path}",
                f"The file changed while it was being sealed: {path}",
                details={"path": str(path)},
            )
        pad = padding(size)
        write(pad)
        total += size + len(pad)
    write(END_OF_ARCHIVE)
    return total + len(END_OF_ARCHIVE)


def documents_tar_bytes(files: Iterable[tuple[str, bytes]]) -> bytes:
    """The tar of in-memory files (for tests and vectors); same bytes as :func:`write_documents_tar`."""
    out = bytearray()
    for name, data in sorted(files, key=lambda item: item[0].encode("utf-8")):
        check_document_name(name)
        out += member_header(name, len(data)) + data + padding(len(data))
    return bytes(out + END_OF_ARCHIVE)


class _IterableReader:
    """A minimal read()-able view of an iterable of byte pieces, for tarfile's stream mode."""

    def __init__(self, pieces: Iterable[bytes]):
        self._pieces: Iterator[bytes] = iter(pieces)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def extract_documents(plaintext: BinaryIO | Iterable[bytes], destination: Path | str) -> list[str]:
    """Unpack an opened documents envelope into an empty folder; returns the member names.

    Refuses anything but regular files with safe relative names, and never overwrites. Call it only on a
    plaintext whose decryption completed (the tar of a truncated envelope must not be trusted).
    """
    dest = Path(destination)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise InvalidDocuments(f"目标文件夹不是空的：{dest}", f"The destination folder is not empty: {dest}")
    source = plaintext if hasattr(plaintext, "read") else _IterableReader(plaintext)  # type: ignore[arg-type]
    names = []
    try:
        with tarfile.open(fileobj=source, mode="r|", encoding="utf-8", errors="strict") as archive:  # type: ignore[call-overload]
            for member in archive:
                # Typeflag 0 or NUL only: tarfile also counts contiguous and sparse members as regular.
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise InvalidDocuments(
                        f"文件包中有非普通文件：{member.name}", f"The archive holds a non-regular member: {member.name}"
                    )
                name = check_document_name(member.name)
                target = dest.joinpath(*name.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                reader = archive.extractfile(member)
                assert reader is not None
                with open(target, "xb") as fh:
                    while block := reader.read(READ_BLOCK):
                        fh.write(block)
                names.append(name)
    except (tarfile.TarError, OSError, UnicodeError) as exc:
        raise InvalidDocuments(f"文件包无法解开：{exc}", f"The documents archive cannot be unpacked: {exc}") from None
    return names
