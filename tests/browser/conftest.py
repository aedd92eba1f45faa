"""The demo world served for the browser journeys, under uvicorn in its own process: seeded once per run (or a
copy of the same world seeded earlier in the run for other tests, tests/demo_snapshot.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.browser.test_public_journey import require_chromium, serving
from tests.demo_snapshot import seeded_demo_files
from tests.inprocess import sqlite_settings
from tests.processes import free_port
from trading.clock import FixedClock

TODAY = datetime(2026, 11, 21, 3, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("demo-browser")
    port = free_port()
    settings = sqlite_settings(tmp, base_url=f"http://127.0.0.1:{port}", clock=TODAY.isoformat())
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, seeded_demo_files(settings, FixedClock(TODAY))).result()
    with serving(settings, tmp) as url:
        yield url
