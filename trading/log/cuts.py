"""Deadline cuts: the platform's signed statement of which checkpoint closed a section's bidding, and when.

A checkpoint carries no time. At a section's bid deadline the integrator signs a checkpoint holding
exactly the entries created up to the deadline; the cut names that checkpoint (its size and root), the
section, the deadline and the moment the cut was made, as a signed note under the log's own key
(docs/log.md §6). The cut is itself logged, so the platform cannot later show another one, and a witness
cosignature on a later checkpoint bounds when it existed.

Pure: formatting and parsing only.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from msgspec import Struct

from trading.log.entries import instant

HEADER = "trading-deadline-cut/v1"
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_FIELDS = ("origin", "section", "section-code", "deadline", "tree-size", "root", "cut-at")


class CutError(ValueError):
    pass


class DeadlineCut(Struct, frozen=True):
    origin: str
    section_id: int
    section_code: str
    deadline: datetime
    tree_size: int
    root_hash: bytes
    cut_at: datetime


def _one_line(value: str, what: str) -> str:
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise CutError(f"{what} must be one non-empty line without control characters")
    return value


def format_cut(cut: DeadlineCut) -> str:
    """The cut's note text (sign it with the log's NoteSigner)."""
    if len(cut.root_hash) != 32:
        raise CutError("the root hash must be 32 bytes")
    if cut.cut_at < cut.deadline:
        raise CutError("a cut cannot be made before its deadline")
    values = (
        _one_line(cut.origin, "origin"),
        str(cut.section_id),
        _one_line(cut.section_code, "section code"),
        instant(cut.deadline),
        str(cut.tree_size),
        base64.b64encode(cut.root_hash).decode(),
        instant(cut.cut_at),
    )
    return HEADER + "\n" + "".join(f"{name} {value}\n" for name, value in zip(_FIELDS, values, strict=True))


def parse_cut(text: str) -> DeadlineCut:
    """Read a cut's note text (already verified as signed by the log's key), strictly: the same bytes must
    come back from :func:`format_cut`."""
    lines = text.split("\n")
    if len(lines) != len(_FIELDS) + 2 or lines[0] != HEADER or lines[-1] != "":
        raise CutError(f"a deadline cut is {HEADER!r} and {len(_FIELDS)} lines, each ending in a newline")
    values: dict[str, str] = {}
    for name, line in zip(_FIELDS, lines[1:-1], strict=True):
        prefix = name + " "
        if not line.startswith(prefix):
            raise CutError(f"expected the line {name!r}, got {line[:40]!r}")
        values[name] = line[len(prefix) :]
    for name in ("section", "tree-size"):
        if not _DECIMAL.fullmatch(values[name]) or int(values[name]) >= 2**63:
            raise CutError(f"{name} is not a decimal integer without leading zeros")
    try:
        root = base64.b64decode(values["root"], validate=True)
        deadline = datetime.fromisoformat(values["deadline"])
        cut_at = datetime.fromisoformat(values["cut-at"])
    except (ValueError, binascii.Error) as exc:
        raise CutError(f"a field does not parse: {exc}") from exc
    if deadline.tzinfo is None or cut_at.tzinfo is None:
        raise CutError("times must carry their UTC offset")
    cut = DeadlineCut(
        origin=values["origin"],
        section_id=int(values["section"]),
        section_code=values["section-code"],
        deadline=deadline,
        tree_size=int(values["tree-size"]),
        root_hash=root,
        cut_at=cut_at,
    )
    if format_cut(cut) != text:
        raise CutError("the cut is not in its one canonical form")
    return cut
