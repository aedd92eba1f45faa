"""`trading demo` as a newcomer runs it: the portal comes up within about a minute, its independent witness
cosigns the log, and `trading verify --witness` checks every opening record — each one a sealed-bid opening
whose figures it re-decrypts — against that witness, and passes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.test_trading_command import _free_port

TRADING = str(Path(sys.executable).parent / "trading")


def _wait(url: str, seconds: float) -> httpx.Response | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == 200:
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return None


def test_the_demo_runs_its_own_witness_and_verifies_against_it(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    log = (tmp_path / "demo.out").open("w")
    demo = subprocess.Popen(
        [TRADING, "demo", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    started = time.monotonic()
    try:
        assert _wait(url + "/healthz", 240), (tmp_path / "demo.out").read_text()[-3000:]
        print(f"trading demo served after {time.monotonic() - started:.0f} s")
        output = (tmp_path / "demo.out").read_text()
        vkey = re.search(r"--witness (\S+)", output)
        assert vkey, output[-2000:]
        assert _wait(url + "/log/witnessed/witness.demo.hunan.example", 60), "the witness never cosigned"
        verify = subprocess.run(
            [TRADING, "verify", url, "--json", "--witness", vkey.group(1), "--state", str(tmp_path / "verify.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        report = json.loads(verify.stdout)
        assert [w["witness"] for w in report["witnessed"]] == ["witness.demo.hunan.example"]
        assert report["offline_openings"] == 0 and report["openings"] >= 61 and report["bids"] >= 300, report
        # the witness is its own process, with its own key beside the demo's data
        assert (tmp_path / "var" / "demo-witness" / "witness.pem").stat().st_mode & 0o077 == 0
    finally:
        demo.terminate()
        demo.wait(timeout=30)
        log.close()
    # ...and its witness goes with it, however the demo was stopped (within a round of its interval)
    for _ in range(40):
        witnesses = subprocess.run(["pgrep", "-f", f"witness run {url}"], capture_output=True, text=True).stdout
        if not witnesses.strip():
            break
        time.sleep(0.5)
    assert not witnesses.strip(), f"the demo's witness outlived it: {witnesses}"
