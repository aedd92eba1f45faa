"""A platform of a test's own on a SQLite file: its settings, and the app run in the test's process.

For tests that make their world in-process (quickly, through the API over ASGI) and then serve the same files
from a real server (`trading serve`, uvicorn) to a browser or to the `bidding` command line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy.ext.asyncio import create_async_engine

from trading.app import create_app
from trading.clock import FixedClock
from trading.migrate import upgrade
from trading.settings import Settings


def sqlite_settings(folder: Path, **overrides: Any) -> Settings:
    """The settings of a platform whose database, blobs and signing key are under *folder* (made if missing):
    passwords hashed cheaply, cookies over plain HTTP (a server on 127.0.0.1)."""
    folder.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{folder / 'platform.db'}",
        "blob_dir": str(folder / "blobs"),
        "signing_key_path": str(folder / "platform-key.pem"),
        "cookie_secure": False,
        "password_memory_cost": 1024,
        "password_iterations": 1,
    }
    return Settings(**(fields | overrides))


@asynccontextmanager
async def in_process(settings: Settings, clock: FixedClock) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """The app on *settings*' database (migrated first), in this process on *clock*, with a client speaking to it
    over ASGI; its opening job, live listener and connections closed afterwards."""
    from bidding.opening_job import runner_of

    engine = create_async_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield app, client
    finally:
        await runner_of(app.state).settle()
        runner_of(app.state).drop_pool()
        await app.state.live.stop()
        await app.state.engine.dispose()
