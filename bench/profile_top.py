"""Summarise a py-spy profile in collapsed-stack form (``py-spy record --format raw``; bench/_app.py writes one
when BENCH_PROFILE is set): the functions where the samples were taken (self) and the functions on the stack
(inclusive), as shares of all samples.

    BENCH_PROFILE=/tmp/bids.txt .venv/bin/python bench/bids.py --workers 2
    .venv/bin/python bench/profile_top.py /tmp/bids.txt --top 30
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def _frame(raw: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = raw.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if parts else file
    return f"{name} ({short})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only stacks through a frame containing this text")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        frames = [f for f in m["stack"].split(";") if not f.startswith("process ")]
        if args.match and not any(args.match in f for f in frames):
            continue
        count = int(m["count"])
        total += count
        named = [_frame(f) for f in frames] or ["(no Python frame)"]
        own[named[-1]] += count
        for f in set(named):
            inclusive[f] += count
    print(f"{total} samples")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"\n{title}:")
        for name, count in counter.most_common(args.top):
            print(f"  {100 * count / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
