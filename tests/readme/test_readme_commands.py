"""The README's shell examples stay true to the command lines: every block is valid shell, and every
`bidding` and `trading` command in it parses with the real argument parsers (a renamed verb or option fails
here rather than in a reader's terminal). test_readme_runs.py runs them against a live demo.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from bidding.cli import build_parser as bidding_parser
from trading.cli import build_parser as trading_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def shell_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def commands(block: str) -> list[list[str]]:
    """Each bidding or trading invocation in a block, as words ($B is the bidding command)."""
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line.replace("$n", "1"), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        simple: list[list[str]] = [[]]
        for token in lexer:
            if token and set(token) <= set("();<>|&"):
                simple.append([])
            else:
                simple[-1].append(token)
        for words in simple:
            words = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w) and w not in ("do", "then")]
            if words and words[0] in ("$B", ".venv/bin/bidding"):
                found.append(["bidding", *words[1:]])
            elif words and words[0] == ".venv/bin/trading":
                found.append(["trading", *words[1:]])
    return found


def test_the_readme_has_shell_examples():
    blocks = shell_blocks()
    assert len(blocks) >= 5
    assert sum(len(commands(b)) for b in blocks) >= 20


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_each_block_is_valid_shell(block):
    out = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_every_command_parses(capsys):
    parsers = {"bidding": bidding_parser(), "trading": trading_parser()}
    for block in shell_blocks():
        for words in commands(block):
            try:
                args = parsers[words[0]].parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"README: {' '.join(words)}\n{capsys.readouterr().err}")
            assert isinstance(args, argparse.Namespace)
