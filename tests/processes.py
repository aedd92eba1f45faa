"""Servers the tests start as processes of their own (SeaweedFS, `trading serve`, nginx): waiting until one
answers, and stopping it with every process it started. Each process runs in its own session, so its group
is the server and its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import httpx


def wait_ready(url: str, process: subprocess.Popen[bytes], log_tail: Callable[[], str], timeout: float = 60) -> None:
    """Poll *url* until it answers 200; fail with the log's tail if the process exits or *timeout* passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process exited: {log_tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {timeout} s: {log_tail()}")


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """kill -9 the process and everything in its group, at once."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def stop_group(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM to the group; after *grace* seconds, kill -9."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            kill_group(process)
