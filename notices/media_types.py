"""What a notice's attachment may be, and whether its first bytes are what its Content-Type says (pure: no I/O).

A trading centre publishes tender documents (招标文件) as PDF, Word or Excel files, drawings, pictures, archives of
them, plain-text or CSV bills of quantities, and files in the proprietary formats of the bid-preparation tools
(工程量清单 and 电子招标文件 formats), which have no registered media type: those go as
``application/octet-stream``. Anything else — a web page above all, which must never be served from the
platform's own origin as one — is refused with 415, and so is a file whose first bytes contradict the type it
claims (a "PDF" that is not one would reach a member of the public as a broken or misleading download).

The check reads only the head of the file (``HEAD_BYTES``): the format's signature ("magic number"), or, for
text, that the head holds no NUL byte and decodes in the charset named. It is no virus scan and no proof that the
rest of the file is well formed.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

from trading.errors import DomainError

#: How much of the file's start the check looks at.
HEAD_BYTES = 8192

_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # a local file header, an empty archive, a spanned one
_OLE2 = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # the compound file of Word 97–2003, Excel, WPS
_TIFF = (b"II*\x00", b"MM\x00*")


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(signatures)


def _pdf(head: bytes) -> bool:
    # ISO 32000: "%PDF-" opens the file; readers accept it anywhere in the first 1024 bytes, and so does this.
    return b"%PDF-" in head[:1024]


def _text(head: bytes) -> bool:
    return b"\x00" not in head


@dataclass(frozen=True)
class Kind:
    label: str  # what the type is, for the messages: "PDF", "Word 文档"
    looks_right: Callable[[bytes], bool] | None  # None: any bytes (application/octet-stream)
    text: bool = False  # a text type: may name its charset


#: The media types an attachment may have (lower case, without parameters).
KINDS: dict[str, Kind] = {
    "application/pdf": Kind("PDF", _pdf),
    "application/msword": Kind("Word 97–2003", _starts(*_OLE2)),
    "application/vnd.ms-excel": Kind("Excel 97–2003", _starts(*_OLE2)),
    "application/vnd.ms-powerpoint": Kind("PowerPoint 97–2003", _starts(*_OLE2)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": Kind("Word (docx)", _starts(*_ZIP)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": Kind("Excel (xlsx)", _starts(*_ZIP)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": Kind(
        "PowerPoint (pptx)", _starts(*_ZIP)
    ),
    "application/vnd.oasis.opendocument.text": Kind("OpenDocument (odt)", _starts(*_ZIP)),
    "application/vnd.oasis.opendocument.spreadsheet": Kind("OpenDocument (ods)", _starts(*_ZIP)),
    "application/ofd": Kind("OFD 版式文件", _starts(*_ZIP)),  # GB/T 33190: a zip package
    "application/zip": Kind("ZIP", _starts(*_ZIP)),
    "application/x-zip-compressed": Kind("ZIP", _starts(*_ZIP)),
    "application/vnd.rar": Kind("RAR", _starts(b"Rar!\x1a\x07")),
    "application/x-rar-compressed": Kind("RAR", _starts(b"Rar!\x1a\x07")),
    "application/x-7z-compressed": Kind("7z", _starts(b"7z\xbc\xaf\x27\x1c")),
    "image/png": Kind("PNG", _starts(b"\x89PNG\r\n\x1a\n")),
    "image/jpeg": Kind("JPEG", _starts(b"\xff\xd8\xff")),
    "image/tiff": Kind("TIFF", _starts(*_TIFF)),
    "image/gif": Kind("GIF", _starts(b"GIF87a", b"GIF89a")),
    "image/bmp": Kind("BMP", _starts(b"BM")),
    "image/vnd.dwg": Kind("DWG 图纸", _starts(b"AC10")),
    "image/x-dwg": Kind("DWG 图纸", _starts(b"AC10")),  # (the names operating systems give DWG files)
    "application/acad": Kind("DWG 图纸", _starts(b"AC10")),
    "application/x-dwg": Kind("DWG 图纸", _starts(b"AC10")),
    "text/plain": Kind("文本 text", _text, text=True),
    "text/csv": Kind("CSV", _text, text=True),
    "application/octet-stream": Kind("其他格式 other", None),
}

#: The types a caller is told it may use, in the order above.
ALLOWED = tuple(KINDS)


class UnsupportedAttachmentType(DomainError):
    status_code = 415
    code = "unsupported_media_type"

    def __init__(self, given: str) -> None:
        super().__init__(
            f"不接受该类型的附件：{given}。可用类型：PDF、Word、Excel、OFD、图片、图纸、压缩包、文本或 CSV；"
            "其他格式（如计价软件文件）请以 application/octet-stream 上传",
            f"Attachments of type {given} are not accepted. Use one of {', '.join(ALLOWED)}; files of other "
            "formats (a bid-preparation tool's, say) go as application/octet-stream",
        )


class ContentNotAsDeclared(DomainError):
    status_code = 415
    code = "media_type_mismatch"

    def __init__(self, media_type: str, label: str) -> None:
        super().__init__(
            f"文件内容不是所声明的 {label} 格式（Content-Type: {media_type}）：请确认上传的是正确的文件，"
            "或声明其真实类型；真实类型不在可用之列的（如另存为 .xls 的网页），请以 application/octet-stream 上传",
            f"The file's content is not the {label} its Content-Type ({media_type}) says: check that this is the "
            "right file, or declare its real type; a type not on the list (a web page saved as .xls, say) goes as "
            "application/octet-stream",
        )


class NotInCharset(DomainError):
    status_code = 415
    code = "charset_mismatch"

    def __init__(self, charset: str) -> None:
        likely = "gbk" if charset == "utf-8" else "utf-8"
        super().__init__(
            f"文件内容不是 {charset} 编码的文本：如为 {likely.upper()} 编码，请在 Content-Type 中声明 charset={likely}",
            f"The file is not text in {charset}: if it is {likely.upper()}, say so in its Content-Type "
            f"(charset={likely})",
        )


class BadCharset(DomainError):
    status_code = 415
    code = "unknown_charset"

    def __init__(self, charset: str) -> None:
        super().__init__(
            f"不接受的字符集：{charset}（可用 {'、'.join(CHARSETS.values())}）",
            f"Charset {charset!r} is not accepted (use {', '.join(CHARSETS.values())})",
        )


def declared(content_type: str | None) -> tuple[str, Kind]:
    """The attachment's media type as it is kept and served — ``type/subtype`` in lower case, with
    ``; charset=…`` for a text type that names one (other parameters are dropped) — and what it must look like.
    No Content-Type at all is ``application/octet-stream``."""
    if not content_type or not content_type.strip():
        return "application/octet-stream", KINDS["application/octet-stream"]
    essence, _, parameters = content_type.partition(";")
    essence = essence.strip().lower()
    kind = KINDS.get(essence)
    if kind is None:
        raise UnsupportedAttachmentType(essence[:100] or content_type[:100])
    if not kind.text:
        return essence, kind
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return f"{essence}; charset={_charset(value.strip().strip(chr(34)))}", kind
    return essence, kind


#: The charsets a text attachment may name: Python's codec name → the IANA name it is served with.
CHARSETS = {
    "utf-8": "utf-8",
    "gbk": "gbk",
    "gb18030": "gb18030",
    "gb2312": "gb2312",
    "big5": "big5",
    "ascii": "us-ascii",
    "iso8859-1": "iso-8859-1",
    "cp1252": "windows-1252",
}


#: Labels Python's codecs do not know, for charsets they do.
_ALIASES = {"x-gbk": "gbk", "windows-936": "gbk", "x-gb18030": "gb18030"}
#: Charsets whose text a UTF-8 file is often mistaken for.
_NOT_UTF8 = ("gbk", "gb18030", "gb2312", "big5")


def _charset(label: str) -> str:
    try:
        served = CHARSETS.get(codecs.lookup(_ALIASES.get(label.lower(), label)).name)
    except (LookupError, ValueError):  # (ValueError: a name with a NUL in it)
        served = None
    if served is None:
        raise BadCharset(label[:40])
    return served


#: File name endings a browser or an operating system would run or render as a page: never a tender document.
ACTIVE_ENDINGS = frozenset(
    "html htm xhtml shtml mht mhtml svg svgz js mjs hta exe com bat cmd scr msi ps1 vbs vbe wsf jar lnk dll "
    "cpl reg sh".split()
)


class ActiveFileName(DomainError):
    status_code = 400
    code = "filename_not_allowed"

    def __init__(self, ending: str) -> None:
        super().__init__(
            f"不接受以 .{ending} 结尾的附件：网页、脚本和可执行程序不能作为公告附件发布",
            f"Attachments named .{ending} are not accepted: web pages, scripts and programs are not published "
            "as a notice's files",
        )


def check_filename(name: str) -> None:
    """Refuse a name whose ending would be run or rendered (ActiveFileName): 招标文件.pdf.exe, and 说明.html. —
    Windows drops trailing dots and spaces."""
    stem = name.rstrip(". ").lower()
    ending = stem.rpartition(".")[2].strip() if "." in stem else ""
    if ending in ACTIVE_ENDINGS:
        raise ActiveFileName(ending)


def label(media_type: str) -> str:
    """What a reader is told the file is: "PDF", "Word (docx)", "CSV · gbk"; an older attachment's type the
    list does not hold, as it was given."""
    essence, _, parameters = media_type.partition(";")
    kind = KINDS.get(essence.strip().lower())
    if kind is None:
        return media_type
    charset = parameters.partition("charset=")[2].strip()
    return f"{kind.label} · {charset}" if kind.text and charset else kind.label


def check_head(media_type: str, kind: Kind, head: bytes) -> None:
    """Refuse a file whose first bytes contradict *kind* (ContentNotAsDeclared); a text type's head must also
    decode in its charset (an incomplete character cut off at the head's end is allowed)."""
    if kind.looks_right is None:
        return
    if not kind.looks_right(head):
        raise ContentNotAsDeclared(media_type, kind.label)
    if kind.text:
        charset = media_type.partition("charset=")[2] or "utf-8"
        whole = len(head) < HEAD_BYTES
        if not _decodes(head, charset, whole):
            raise NotInCharset(charset)
        if charset in _NOT_UTF8 and not head.isascii() and _decodes(head, "utf-8", whole):
            # Chinese text in UTF-8 often also decodes as GBK — to other characters: served as GBK, it would
            # reach its readers garbled. Real GBK text almost never is valid UTF-8 as well.
            raise NotInCharset(charset)


def _decodes(head: bytes, charset: str, whole: bool) -> bool:
    """Whether *head* is text in *charset* — a character cut off at its end allowed unless it is the whole file."""
    try:
        codecs.getincrementaldecoder(charset)().decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return True
