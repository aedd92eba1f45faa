"""The README's examples run as written against a live `trading demo`, in order, as one reader in one terminal
would run them (issue 13): a README example that breaks fails here.

The examples are the fenced ```sh blocks and the `curl …` commands of the "Seeing it work" table. Each runs
under `bash -euo pipefail` in the demo's own folder (so `var/demo-openers/…` and `.venv/bin/…` are where the
README says), with the demo's port for 8000, HOME and XDG_CONFIG_HOME in a scratch folder (the bidding
command line's sign-ins and keys land there), the venv's bin first on PATH, no terminal, `BIDDING_PASSPHRASE`
set as the README tells a script to, and `VKEY` the witness key the demo prints. Variables a block sets are
there for the next, as in one shell session. `curl` answers an HTTP error with a failure (--fail-with-body),
as a reader would see the error.

An HTML comment right before a block says how the test treats it, for a reader to see:

- `<!-- readme-test: skip: why -->`: not run (installing, the test suite itself, a production set-up);
- `<!-- readme-test: after the deadline of section N -->`: the block needs section N's bid deadline passed.
  The demo sets that deadline about six minutes after it starts; rather than wait, the test runs the demo
  under libfaketime with a clock file (as .ci/shifted-dates moves the suite's clock) and moves the demo's
  system clock — the one the platform reads, SQLite's 'now' — just past the deadline before the block. No
  endpoint or setting moves a running platform's clock.
"""

from __future__ import annotations

import glob
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.demo_process import Demo, clean_environment, running_demo

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->")
AFTER_DEADLINE = re.compile(r"after the deadline of section (\d+)")
#: What a bidder types when `bidding keygen` asks for a passphrase for the new key.
BIDDER_PASSPHRASE = "readme-bidder-2026"
#: Skipping is for what cannot run against a demo; a longer list means examples going untested.
MOST_SKIPPED = 5


@dataclass
class Example:
    line: int
    text: str
    marker: str = ""

    @property
    def skipped(self) -> bool:
        return self.marker.startswith("skip")


def examples(readme: str) -> list[Example]:
    """The README's shell examples in order: fenced ```sh blocks, each with the readme-test comment right
    before it, and inline `curl …` commands (a table's `\\|` is a pipe)."""
    found: list[Example] = []
    lines = readme.splitlines()
    marker, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if line.strip() == "```sh":
                found.append(Example(i + 1, "\n".join(lines[i + 1 : end]) + "\n", marker))
            marker, i = "", end + 1
            continue
        if m := MARKER.fullmatch(line.strip()):
            marker = m.group(1)
        elif line.strip():
            assert not marker, f"README.md:{i}: a readme-test comment must come right before a ```sh block"
            found += [Example(i + 1, span.replace("\\|", "|") + "\n") for span in re.findall(r"`(curl [^`]+)`", line)]
        i += 1
    return found


def test_the_readme_examples_are_found_and_their_comments_understood():
    found = examples(README.read_text(encoding="utf-8"))
    assert len([e for e in found if not e.skipped]) >= 10
    for e in found:
        assert not e.marker or e.skipped or AFTER_DEADLINE.fullmatch(e.marker), f"README.md:{e.line}: {e.marker}"
        if e.skipped:
            assert len(e.marker.split(":", 1)[-1].strip()) > 10, f"README.md:{e.line}: say why the block is skipped"
    assert sum(e.skipped for e in found) <= MOST_SKIPPED, [e.line for e in found if e.skipped]


def test_examples_are_read_with_their_comments_and_a_tables_pipes():
    # A table's escaped pipe, a comment that marks a block, and one that is only named in the prose.
    got = examples(
        "| a | `curl http://127.0.0.1:8000/x \\| sha256sum` |\n\n<!-- readme-test: skip: installs things -->\n"
        "```sh\npip install x\n```\n\nA `<!-- readme-test: skip: why -->` in the prose.\n\n```sh\necho hi\n```\n"
    )
    assert [(e.line, e.text, e.marker) for e in got] == [
        (1, "curl http://127.0.0.1:8000/x | sha256sum\n", ""),
        (4, "pip install x\n", "skip: installs things"),
        (10, "echo hi\n", ""),
    ]


def libfaketime() -> str:
    """The libfaketime preload library; skipped on a developer's machine without it, a failure in CI."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        reason = "libfaketime is not installed (Debian: apt-get install faketime): the README's opening needs it"
        if os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (CI: TRADING_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return found[0]


class DemoClock:
    """The running demo's system clock, ahead of the real one by what a libfaketime clock file says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("+0\n")

    def environment(self, library: str) -> dict[str, str]:
        # Re-read every second; the monotonic clock moves with the wall clock (libfaketime's default), as
        # .ci/shifted-dates needs it to for Python's sleeps. The demo's witness, its child, runs ahead too: at
        # most the six minutes to the deadline, inside the ten `trading verify` allows a cosignature.
        return {"LD_PRELOAD": library, "FAKETIME_TIMESTAMP_FILE": str(self.path), "FAKETIME_CACHE_DURATION": "1"}

    def pass_deadline(self, demo: Demo, section: int) -> None:
        bidding = httpx.get(f"{demo.url}/api/sections/{section}/bidding").json()
        deadline = datetime.fromisoformat(bidding["deadline_at"]).timestamp()
        # time.time() is this process's clock, which libfaketime does not move.
        ahead = max(0, math.ceil(deadline - time.time()) + 2)
        self.path.write_text(f"+{ahead}\n")
        for _ in range(40):
            if not httpx.get(f"{demo.url}/api/sections/{section}/bidding").json()["accepts_bids"]:
                print(f"the demo's clock moved {ahead} s ahead: section {section}'s deadline has passed")
                return
            time.sleep(0.5)
        pytest.fail(f"section {section} still accepts bids with the demo's clock {ahead} s ahead")


def curl_failing_on_http_errors(folder: Path) -> Path:
    real = shutil.which("curl")
    assert real, "the README's examples need curl"
    folder.mkdir()
    (folder / "curl").write_text(f'#!/bin/sh\nexec {real} --fail-with-body "$@"\n')
    (folder / "curl").chmod(0o755)
    return folder


def run(example: Example, port: int, cwd: Path, env: dict[str, str], env_out: Path) -> dict[str, str]:
    """Run one example as the reader would; the environment it leaves for the next."""
    text = re.sub(r"\b(?:localhost|127\.0\.0\.1):8000\b", f"127.0.0.1:{port}", example.text)
    # set -a: what the block assigns is exported, so `env -0` hands it on to the next block.
    script = f"set -a\n{text}\nenv -0 > {shlex.quote(str(env_out))}\n"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=180,
    )
    if done.returncode != 0:
        pytest.fail(
            f"README.md:{example.line}: this example exits {done.returncode}\n{text}\n"
            f"--- stdout ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}",
            pytrace=False,
        )
    pairs = (item.split("=", 1) for item in env_out.read_text(errors="replace").split("\0") if "=" in item)
    return {k: v for k, v in pairs if k not in ("_", "SHLVL", "PWD", "OLDPWD")}


def test_every_readme_example_runs_against_the_demo(tmp_path):
    library = libfaketime()
    folder = tmp_path / "demo"
    home = tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    # The README's `.venv/bin/…` commands are run from the clone: here the demo's folder stands for it.
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    clock = DemoClock(tmp_path / "faketime.rc")
    unshifted = {k: v for k, v in clean_environment().items() if not k.startswith("FAKETIME") and k != "LD_PRELOAD"}
    with running_demo(folder, env=unshifted | clock.environment(library)) as demo:
        env = unshifted | {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "PATH": os.pathsep.join(
                [
                    str(curl_failing_on_http_errors(tmp_path / "bin")),
                    str(Path(sys.executable).parent),
                    os.environ["PATH"],
                ]
            ),
            "BIDDING_PASSPHRASE": BIDDER_PASSPHRASE,
            "VKEY": demo.witness_vkey(),
        }
        ran = 0
        for example in examples(README.read_text(encoding="utf-8")):
            if example.skipped:
                continue
            if m := AFTER_DEADLINE.fullmatch(example.marker):
                clock.pass_deadline(demo, int(m.group(1)))
            started = time.monotonic()
            env = run(example, demo.port, folder, env, tmp_path / "env")
            print(f"README.md:{example.line}: ran in {time.monotonic() - started:.1f} s")
            ran += 1
        assert ran >= 10
