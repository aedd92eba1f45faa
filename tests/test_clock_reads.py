"""Every place the code reads the wall clock or the database's clock is one of the few that must.

Everything that decides a rule takes the platform's Clock (trading.clock), so that tests and the demo can
fix it and no result depends on the day the code runs. This test finds every other read — Python's
clocks, and SQL asking the database for its time — and fails on one that is not listed here with its
reason, or on a listed one that is gone (so the list stays true).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trading", "bidding", "notices", "evaluation")

#: (file, enclosing function) -> why it must be real time.
ALLOWED = {
    ("trading/clock.py", "DatabaseClock.column"): "the production clock itself: the database's, one for every worker",
    ("trading/cli.py", "cmd_verify.run"): "a verifier measures a pending entry's age on its own clock, not the site's",
    (
        "trading/cli.py",
        "cmd_witness_run",
    ): "a witness timestamps its cosignature with its own clock (C2SP tlog-cosignature)",
    ("bidding/cli.py", "cmd_fetch"): "the bidder's own note of when it fetched the section",
    ("bidding/cli.py", "warn_if_deadline_passed"): "sealing is offline: a warning on the bidder's machine clock",
    (
        "bidding/cli.py",
        "_promise_pending",
    ): "a receipt's promise is judged on the verifier's own clock (docs/log.md §10)",
    ("bidding/envelope/seal.py", "seal_bid"): "the sealer's statement of when it sealed; never trusted for time",
    (
        "trading/blobs/gc.py",
        "collect_garbage",
    ): "a blob's age is its file's or object's time in the store (the wall clock); the grace period is too",
    ("trading/blobs/s3.py", "S3BlobStore.fresh"): "compared with the object's time in the bucket (wall clock)",
}

WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("func", "now"),
    ("func", "current_timestamp"),
    ("func", "localtimestamp"),
    ("func", "clock_timestamp"),
    ("func", "statement_timestamp"),
    ("func", "transaction_timestamp"),
}
SQL_CLOCKS = ("now()", "'now'", "current_timestamp", "clock_timestamp", "statement_timestamp", "localtimestamp")


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[str, int, str]] = []

    def _visit_scope(self, node: ast.AST, name: str) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_scope(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_scope(node, node.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_scope(node, node.name)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in WALL_CLOCK_CALLS:
                self.found.append((".".join(self.scope), node.lineno, f"{func.value.id}.{func.attr}()"))
            if func.value.id == "func" and func.attr == "strftime":  # SQLite's strftime(…, 'now')
                if any(isinstance(a, ast.Constant) and a.value == "now" for a in node.args):
                    self.found.append((".".join(self.scope), node.lineno, "SQL strftime(…, 'now')"))
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant):
            return  # a docstring may name a clock without reading it
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            lowered = node.value.lower()
            for marker in SQL_CLOCKS:
                if marker in lowered:
                    self.found.append((".".join(self.scope), node.lineno, f"SQL {marker}"))


def _clock_reads() -> dict[tuple[str, str], list[str]]:
    reads: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue  # migrations write fixed reference data, and run before any clock matters
            finder = _Finder()
            finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=relative))
            for scope, line, what in finder.found:
                reads.setdefault((relative, scope), []).append(f"line {line}: {what}")
    return reads


def test_the_finder_sees_each_kind_of_clock_read():
    finder = _Finder()
    finder.visit(
        ast.parse(
            "def f():\n    datetime.now(UTC)\n    time.time()\n    date.today()\n"
            "    text('SELECT now()')\n    func.now()\n    func.clock_timestamp()\n"
            "    func.strftime('%s', 'now')\n    func.strftime('%s', column)\n"
        )
    )
    assert [what for _scope, _line, what in finder.found] == [
        "datetime.now()",
        "time.time()",
        "date.today()",
        "SQL now()",
        "func.now()",
        "func.clock_timestamp()",
        "SQL strftime(…, 'now')",
    ]


def test_only_the_listed_places_read_the_real_clock():
    reads = _clock_reads()
    unexpected = {where: lines for where, lines in reads.items() if where not in ALLOWED}
    assert not unexpected, (
        "these read the wall clock or the database's clock; take the platform's Clock (trading.clock) instead, "
        f"or list the place with the reason it must be real time: {unexpected}"
    )
    gone = sorted(set(ALLOWED) - set(reads))
    assert not gone, f"listed as reading the clock, but no longer do: {gone}"
