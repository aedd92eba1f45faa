"""What a clean-room check found: its problems (a code, a message, where) and its notes, shared by the opening
verifier (verifier.py) and the receipt checker (receipts.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    code: str
    message: str
    where: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.where}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def codes(self) -> list[str]:
        return [x.code for x in self.problems]

    def add(self, code: str, message: str, **where: Any) -> None:
        self.problems.append(Problem(code, message, where))
