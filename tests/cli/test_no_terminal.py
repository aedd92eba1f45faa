"""Without a terminal (CI, a pipe, </dev/null) the bidding commands that need a secret say how to give it.

They used to die with an EOFError traceback from getpass; now they refuse in both languages, naming
BIDDING_PASSPHRASE and --passphrase-file (or --password for login), and the same commands work with those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trading.accounts.credit_code import make_credit_code

BIDDING = str(Path(sys.executable).parent / "bidding")
CREDIT_CODE = make_credit_code("9", "1", "430723", "MA4L0023")


def run(tmp: Path, *args: str, passphrase: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BIDDING_PASSPHRASE"}
    if passphrase is not None:
        env["BIDDING_PASSPHRASE"] = passphrase
    return subprocess.run(
        # An address nothing listens on: every refusal here comes before the server is asked.
        [BIDDING, "--server", "http://127.0.0.1:9", "--config", str(tmp / "config"), *args],
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused_for_want_of_a_terminal(out: subprocess.CompletedProcess[str], *hints: str) -> None:
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr and "EOFError" not in out.stderr, out.stderr
    assert "没有可输入" in out.stderr and "No terminal" in out.stderr and "[no_terminal]" in out.stderr
    for hint in hints:
        assert hint in out.stderr, out.stderr


def test_keygen_register_and_seal_without_a_terminal_name_the_ways_to_give_a_passphrase(tmp_path):
    out = run(tmp_path, "keygen", "--out", "key.pem")
    assert_refused_for_want_of_a_terminal(out, "BIDDING_PASSPHRASE", "--passphrase-file")
    assert not (tmp_path / "key.pem").exists()

    assert run(tmp_path, "keygen", "--out", "key.pem", passphrase="湘中路桥-2026").returncode == 0
    out = run(tmp_path, "register", "--key", "key.pem")
    assert_refused_for_want_of_a_terminal(out, "BIDDING_PASSPHRASE", "--passphrase-file")

    (tmp_path / "section.json").write_text(json.dumps({"section": {"members": [{}], "price_fields": []}}))
    (tmp_path / "price.toml").write_text('total_price_fen = 1899000000\nduration_days = 200\nquality = "合格"\n')
    (tmp_path / "docs").mkdir()
    out = run(
        tmp_path,
        "seal",
        *("--section", "section.json", "--key", "key.pem", "--price", "price.toml"),
        *("--documents", "docs", "--out", "bid.bid", "--credit-code", CREDIT_CODE),
    )
    assert_refused_for_want_of_a_terminal(out, "BIDDING_PASSPHRASE", "--passphrase-file")
    assert not (tmp_path / "bid.bid").exists()


def test_a_passphrase_file_takes_the_place_of_the_terminal(tmp_path):
    (tmp_path / "passphrase.txt").write_text("湘中路桥-2026\n", encoding="utf-8")
    out = run(tmp_path, "keygen", "--out", "key.pem", "--passphrase-file", "passphrase.txt")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "key.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_login_without_a_terminal_asks_for_password_on_the_command_line(tmp_path):
    out = run(tmp_path, "login", "--username", "bidder_xiangzhong_luqiao")
    assert_refused_for_want_of_a_terminal(out, "--password")
