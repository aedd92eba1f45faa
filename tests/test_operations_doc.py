"""docs/operations.md lists every setting and every metric the platform has, so that an operator reading it
misses nothing: a setting or metric added without a line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from trading.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_setting_has_a_line_in_the_settings_table() -> None:
    table = "\n".join(line for line in DOC.splitlines() if line.startswith("| `"))
    missing = [f.name for f in msgspec.structs.fields(Settings) if f"`{f.name}`" not in table]
    assert not missing, f"docs/operations.md's settings table lacks: {missing}"


def test_every_metric_is_described() -> None:
    source = (ROOT / "trading" / "metrics.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(trading_[a-z0-9_]+)"', source))
    assert len(names) > 10
    missing = sorted(n for n in names if n not in DOC)
    assert not missing, f"docs/operations.md does not describe: {missing}"
