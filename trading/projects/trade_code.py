"""The platform's trade code (交易编号), which identifies one trade from registration to archive.

The national data specifications (《公共资源交易平台系统数据规范》 V2.0, 发改办法规〔2018〕1156号, and its
companions such as the 2020 林权交易数据规范, whose chapter 4 is a 统一交易标识码编码方案) give every trade a
unified trade identifier. The text of that encoding scheme was not available when this was written, so the
layout below is **the platform's own**, not the national one: when trades are reported upward, the national
identifier belongs in its own field beside this code.

Layout, 18 characters, no separators::

    430723 2025 A 0000042
    │      │    │ └ serial, 7 digits, 0000001-9999999, unique per (region, year, kind)
    │      │    └── trade kind: A 工程建设 works, B 土地使用权和矿业权出让 land,
    │      │                    C 国有产权 property, D 政府采购 procurement
    │      └─────── year the trade was registered (2000-2099)
    └────────────── administrative division the trade belongs to (行政区划代码, see :mod:`trading.regions`)

The letters are the platform's choice; A and D match the prefixes provincial platforms use in their notice
category codes (A… 工程建设, D… 政府采购).
"""

from __future__ import annotations

import unicodedata
from typing import Literal, get_args

from msgspec import Struct

from trading.errors import InvalidInput
from trading.regions import REGIONS, get_region

TradeKind = Literal["works", "procurement", "land", "property"]

TRADE_KINDS: tuple[TradeKind, ...] = get_args(TradeKind)
KIND_LETTERS: dict[TradeKind, str] = {"works": "A", "land": "B", "property": "C", "procurement": "D"}
KIND_NAMES_ZH: dict[TradeKind, str] = {
    "works": "工程建设",
    "land": "土地使用权和矿业权出让",
    "property": "国有产权交易",
    "procurement": "政府采购",
}
_KINDS_BY_LETTER: dict[str, TradeKind] = {letter: kind for kind, letter in KIND_LETTERS.items()}
_LETTERS_BY_KIND: dict[str, str] = {kind: letter for kind, letter in KIND_LETTERS.items()}

LENGTH = 18
FIRST_YEAR = 2000
LAST_YEAR = 2099
MAX_SERIAL = 9_999_999
_ERROR_CODE = "invalid_trade_code"


class TradeCode(Struct, frozen=True):
    """The parts of a trade code (交易编号)."""

    region_code: str
    year: int
    trade_kind: TradeKind
    serial: int

    def __str__(self) -> str:
        return make_trade_code(self.region_code, self.year, self.trade_kind, self.serial)


def _refuse(message_zh: str, message_en: str, **details: object) -> InvalidInput:
    return InvalidInput(message_zh, message_en, code=_ERROR_CODE, details=dict(details))


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def make_trade_code(region_code: str, year: int, trade_kind: str, serial: int) -> str:
    """Assemble the code for a trade; refuses an unknown region, kind, or an out-of-range year or serial."""
    region = get_region(region_code)
    letter = _LETTERS_BY_KIND.get(trade_kind) if isinstance(trade_kind, str) else None
    if letter is None:
        raise _refuse(
            f"交易类别“{trade_kind}”无效，应为 works（工程建设）、procurement（政府采购）、land（土地矿产）"
            "或 property（国有产权）",
            f"Unknown trade kind '{trade_kind}'; expected one of works, procurement, land, property",
            trade_kind=str(trade_kind),
        )
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise _refuse(
            f"年份应在{FIRST_YEAR}至{LAST_YEAR}之间，收到的是 {year}",
            f"The year must be between {FIRST_YEAR} and {LAST_YEAR}; got {year}",
            year=str(year),
        )
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise _refuse(
            f"流水号应在1至{MAX_SERIAL}之间，收到的是 {serial}",
            f"The serial number must be between 1 and {MAX_SERIAL}; got {serial}",
            serial=str(serial),
        )
    return f"{region.code}{year:04d}{letter}{serial:07d}"


def parse_trade_code(code: str) -> TradeCode:
    """Split a trade code into its parts, or raise :class:`InvalidInput` (``invalid_trade_code``)."""
    text = "".join(unicodedata.normalize("NFKC", code).split()).upper() if isinstance(code, str) else ""
    if len(text) != LENGTH:
        raise _refuse(
            f"交易编号应为{LENGTH}位，实际为{len(text)}位",
            f"A trade code has {LENGTH} characters; this one has {len(text)}",
            length=len(text),
        )
    region_code, year_text, letter, serial_text = text[:6], text[6:10], text[10], text[11:]
    if not _is_digits(region_code) or region_code not in REGIONS:
        raise _refuse(
            f"交易编号前6位应为本平台的行政区划代码，“{region_code}”不是",
            f"The first six characters must be one of the platform's division codes; '{region_code}' is not",
            region_code=region_code,
        )
    if not _is_digits(year_text) or not FIRST_YEAR <= int(year_text) <= LAST_YEAR:
        raise _refuse(
            f"交易编号第7至10位应为{FIRST_YEAR}至{LAST_YEAR}之间的年份，实际为“{year_text}”",
            f"Characters 7 to 10 must be a year from {FIRST_YEAR} to {LAST_YEAR}; got '{year_text}'",
            year=year_text,
        )
    if letter not in _KINDS_BY_LETTER:
        raise _refuse(
            f"交易编号第11位应为交易类别字母 A（工程建设）、B（土地矿产）、C（国有产权）或 D（政府采购），"
            f"实际为“{letter}”",
            "Character 11 must be a trade kind letter, A (works), B (land), C (property) or "
            f"D (procurement); got '{letter}'",
            letter=letter,
        )
    if not _is_digits(serial_text) or int(serial_text) == 0:
        raise _refuse(
            f"交易编号最后7位应为流水号（0000001至{MAX_SERIAL}），实际为“{serial_text}”",
            f"The last seven characters must be a serial number from 0000001 to {MAX_SERIAL}; got '{serial_text}'",
            serial=serial_text,
        )
    return TradeCode(
        region_code=region_code,
        year=int(year_text),
        trade_kind=_KINDS_BY_LETTER[letter],
        serial=int(serial_text),
    )


def validate_trade_code(code: str) -> str:
    """Return the code in canonical form (upper case, no spaces) or raise :class:`InvalidInput` saying why."""
    return str(parse_trade_code(code))
