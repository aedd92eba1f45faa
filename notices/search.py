"""Search that works for Chinese: CJK text is indexed as overlapping character bigrams.

Chinese has no spaces, so word-based full-text search finds nothing for 道路 inside 城区道路改造. Every
run of CJK characters becomes its bigrams (a single character stays itself); other text becomes
lower-case words. On PostgreSQL the terms are indexed with GIN and a query must contain all its terms;
the candidates are then checked for the exact phrase, so 道路改造 does not match 道路…改造 far apart.
On SQLite (the embedded demo) the phrase check alone is used.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ColumnElement, and_, cast, func, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Text

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _terms(text: str) -> list[str]:
    return [term for run in _TOKEN.findall(normalise(text)) for term in _run_terms(run)]


def _run_terms(run: str) -> list[str]:
    if "\u3400" <= run[0] and not run[0].isascii():
        return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return [run]


def index_terms(*texts: str) -> str:
    """The space-separated, de-duplicated terms stored with a notice, in the order they first appear."""
    seen: dict[str, None] = {}
    for text in texts:
        # A run met before adds no new term: an opening record's body repeats the same runs for thousands of bids.
        for run in dict.fromkeys(_TOKEN.findall(normalise(text))):
            seen.update(dict.fromkeys(_run_terms(run)))
    return " ".join(seen)


def query_phrases(q: str) -> list[str]:
    """The phrases of a query: whitespace separates phrases, all of which must match."""
    return [p for p in (normalise(part) for part in q.split()) if p][:10]


def search_condition(
    dialect: str, q: str, title: ColumnElement[str], body: ColumnElement[str], terms: ColumnElement[str]
) -> ColumnElement[bool] | None:
    phrases = query_phrases(q)
    if not phrases:
        return None
    haystack = func.lower(title + literal("\n") + body)
    exact = (
        and_(*[func.instr(haystack, p) > 0 for p in phrases])
        if dialect == "sqlite"
        else and_(*[func.strpos(haystack, p) > 0 for p in phrases])
    )
    if dialect != "postgresql":
        return exact
    # The index narrows by CJK bigrams only; single characters and Latin words are matched as substrings
    # by the phrase check, so both engines give the same answers.
    wanted = sorted({t for p in phrases for t in _terms(p) if len(t) == 2 and not t.isascii()})
    if not wanted:
        return exact
    indexed = func.string_to_array(terms, literal(" "))
    return and_(indexed.op("@>")(cast(wanted, ARRAY(Text))), exact)
