"""A small, exact POSIX tar (ustar + pax) writer and a strict reader, for the bid documents and the container.

Only regular files are written, each with mode 0644, uid/gid 0, empty owner names and mtime 0, so the same files
always give the same bytes. A name that is not ASCII or is longer than 100 bytes, and a size of 8 GiB or more,
go into a pax extended header (typeflag ``x``) just before the member; the archive ends with two zero blocks and
no record padding. Any tar reader (GNU tar, bsdtar, Python's ``tarfile``) reads the result.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK = 512
MAX_USTAR_SIZE = 8**11 - 1  # 11 octal digits
END_OF_ARCHIVE = bytes(2 * BLOCK)
PAX_HEADER_NAME = b"././@PaxHeader"


def _octal(value: int, width: int) -> bytes:
    """``width-1`` zero-padded octal digits and a NUL."""
    digits = format(value, "o").encode("ascii")
    if len(digits) > width - 1:
        raise ValueError("value too large for the field")
    return digits.rjust(width - 1, b"0") + b"\0"


def _ustar_header(name: bytes, size: int, typeflag: bytes) -> bytes:
    header = bytearray(BLOCK)
    header[0:100] = name[:100].ljust(100, b"\0")
    header[100:108] = _octal(0o644, 8)
    header[108:116] = _octal(0, 8)
    header[116:124] = _octal(0, 8)
    header[124:136] = _octal(size, 12)
    header[136:148] = _octal(0, 12)
    header[148:156] = b" " * 8
    header[156:157] = typeflag
    header[257:263] = b"ustar\0"
    header[263:265] = b"00"
    header[329:337] = _octal(0, 8)
    header[337:345] = _octal(0, 8)
    checksum = sum(header)
    header[148:156] = format(checksum, "o").encode("ascii").rjust(6, b"0") + b"\0 "
    return bytes(header)


def pax_record(key: str, value: bytes) -> bytes:
    """``"<length> <key>=<value>\\n"`` where length counts the whole record, its own digits included."""
    body = b" " + key.encode("ascii") + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode("ascii") + body


def padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def member_header(name: str, size: int) -> bytes:
    """The header block(s) of a regular file: a pax header when needed, then the ustar header."""
    encoded = name.encode("utf-8")
    records = b""
    if len(encoded) > 100 or not encoded.isascii():
        records += pax_record("path", encoded)
    if size > MAX_USTAR_SIZE:
        records += pax_record("size", str(size).encode("ascii"))
    head = b""
    if records:
        head = _ustar_header(PAX_HEADER_NAME, len(records), b"x") + records + padding(len(records))
    return head + _ustar_header(_name_prefix(name), 0 if size > MAX_USTAR_SIZE else size, b"0")


def _name_prefix(name: str) -> bytes:
    """The ustar name field: the longest prefix of the UTF-8 name that fits in 100 bytes, whole characters only.

    When the name is longer the pax ``path`` record carries it; the prefix stays valid UTF-8 for strict readers.
    """
    encoded = name.encode("utf-8")
    if len(encoded) <= 100:
        return encoded
    return encoded[:100].decode("utf-8", "ignore").encode("utf-8")


@dataclass(frozen=True)
class Header:
    name: str
    size: int
    typeflag: bytes


class TarFormatError(ValueError):
    pass


def _parse_octal(field: bytes, what: str) -> int:
    text = field.rstrip(b"\0 ").lstrip(b" ")
    if not text:
        return 0
    # Octal digits only: Python's int() would also take "0o17", "+17" or "1_7", which other readers refuse.
    if text.strip(b"01234567"):
        raise TarFormatError(f"bad {what} field")
    return int(text, 8)


def parse_ustar_header(block: bytes) -> Header | None:
    """A ustar header block, or None for a zero block (end of archive)."""
    if len(block) != BLOCK:
        raise TarFormatError("short header block")
    if block == bytes(BLOCK):
        return None
    if block[257:263] != b"ustar\0" or block[263:265] != b"00":
        raise TarFormatError("not a ustar header")
    expected = _parse_octal(block[148:156], "checksum")
    if sum(block[:148]) + 8 * 0x20 + sum(block[156:]) != expected:
        raise TarFormatError("header checksum mismatch")
    name = block[0:100].split(b"\0", 1)[0]
    if block[345:500].strip(b"\0"):
        raise TarFormatError("the ustar prefix field is not used in this format")
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise TarFormatError("member name is not UTF-8") from None
    return Header(text, _parse_octal(block[124:136], "size"), block[156:157])


def parse_pax_records(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            raise TarFormatError("bad pax record")
        digits = data[pos:space]
        if not digits or digits.strip(b"0123456789"):  # decimal digits only (no sign, "_" or spaces)
            raise TarFormatError("bad pax record length")
        length = int(digits)
        record = data[pos : pos + length]
        if length <= space - pos + 1 or len(record) != length or not record.endswith(b"\n") or b"=" not in record:
            raise TarFormatError("bad pax record")
        key, value = record[space - pos + 1 : -1].split(b"=", 1)
        records[key.decode("ascii", "replace")] = value
        pos += length
    return records
