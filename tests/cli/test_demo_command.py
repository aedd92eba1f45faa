"""`trading demo` as a newcomer runs it: the portal comes up within about half a minute, its independent witness
cosigns the log, and `trading verify --witness` checks every opening record — each one a sealed-bid opening
whose figures it re-decrypts — against that witness, and passes."""

from __future__ import annotations

import json
import subprocess
import time

from tests.demo_process import TRADING, clean_environment, running_demo, wait_for


def test_the_demo_runs_its_own_witness_and_verifies_against_it(tmp_path):
    with running_demo(tmp_path) as demo:
        url = demo.url
        vkey = demo.witness_vkey()
        assert wait_for(url + "/log/witnessed/witness.demo.hunan.example", 60), "the witness never cosigned"
        verify = subprocess.run(
            [TRADING, "verify", url, "--json", "--witness", vkey, "--state", str(tmp_path / "verify.json")],
            env=clean_environment(),
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
    # ...and its witness goes with it, however the demo was stopped (within a round of its interval)
    for _ in range(40):
        witnesses = subprocess.run(["pgrep", "-f", f"witness run {url}"], capture_output=True, text=True).stdout
        if not witnesses.strip():
            break
        time.sleep(0.5)
    assert not witnesses.strip(), f"the demo's witness outlived it: {witnesses}"
