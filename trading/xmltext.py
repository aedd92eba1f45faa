"""The characters XML 1.0 cannot carry, which no text on the platform may hold: the C0 controls but tab, line
feed and carriage return, and the noncharacters U+FFFE and U+FFFF. Requests holding one are refused
(trading.input_checks); text written into XML (the Atom feeds, the SVG charts) has any older one replaced, so
that one title never makes a whole feed unreadable."""

from __future__ import annotations

import re

UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """*text* with each character XML cannot carry replaced by U+FFFD."""
    return UNWRITABLE.sub("\ufffd", text)
