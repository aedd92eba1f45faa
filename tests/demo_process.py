"""`trading demo` as a newcomer starts it — the real command in a subprocess, in a folder of its own, on a free
port — for the tests that need the whole demo running: the demo command's own test and the README's examples.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.processes import free_port

TRADING = str(Path(sys.executable).parent / "trading")


def wait_for(url: str, seconds: float) -> httpx.Response | None:
    """The first 200 answer from *url* within *seconds*, else None."""
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


#: Password hashing at the tests' cost (as tests/conftest.py's settings have it): the demo creates some seventy
#: accounts, and at the production cost (64 MiB, 3 passes: about 0.3 s each) hashing their passwords took some
#: 20 s of the demo's start. What the demo and the README's examples do is the same at either cost.
TEST_PASSWORD_COST = {"TRADING_PASSWORD_MEMORY_COST": "1024", "TRADING_PASSWORD_ITERATIONS": "1"}


def clean_environment() -> dict[str, str]:
    """This process's environment without the TRADING_* settings a test run may carry."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}


@dataclass
class Demo:
    url: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return (self.folder / "demo.out").read_text(encoding="utf-8", errors="replace")

    def witness_vkey(self) -> str:
        """The vkey of the demo's own witness, as the demo prints it for `trading verify --witness`."""
        found = re.search(r"--witness (\S+)", self.output())
        assert found, self.output()[-2000:]
        return found.group(1)


@contextmanager
def running_demo(folder: Path, *, env: dict[str, str] | None = None, seconds: float = 240) -> Iterator[Demo]:
    """`trading demo --port P` run in *folder* (its data lands in folder/var), served within *seconds*;
    stopped on leaving, as Ctrl+C would. Its environment: *env* (default: this one's less TRADING_*), with the
    tests' password hashing cost."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "demo.out").open("w") as log:
        process = subprocess.Popen(
            [TRADING, "demo", "--port", str(port)],
            cwd=folder,
            env=(env if env is not None else clean_environment()) | TEST_PASSWORD_COST,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        demo = Demo(url=url, port=port, folder=folder, process=process)
        try:
            started = time.monotonic()
            assert wait_for(url + "/healthz", seconds), demo.output()[-3000:]
            print(f"trading demo served after {time.monotonic() - started:.0f} s")
            yield demo
        finally:
            process.terminate()
            process.wait(timeout=30)
