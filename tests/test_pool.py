"""The app's connection pool as the settings shape it (PostgreSQL; configured, never connected here)."""

from __future__ import annotations

import pytest

from trading.db import make_engine
from trading.settings import Settings

pytestmark = pytest.mark.asyncio


async def test_pool_overflow_is_a_checked_setting_the_engine_takes() -> None:
    """``pool_overflow``: 0 holds a worker to its pool (the default), -1 lets it open as many again in a burst;
    anything else below 0 is refused when the settings are read."""
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # never connected: the pool is only configured
    for overflow, expected in ((-1, 7), (0, 0), (3, 3)):
        engine = make_engine(Settings(database_url=url, pool_size=7, pool_overflow=overflow))
        assert engine.sync_engine.pool._max_overflow == expected  # type: ignore[attr-defined]
        await engine.dispose()
    assert Settings().pool_overflow == 0
    with pytest.raises(ValueError, match="pool_overflow"):
        Settings(pool_overflow=-2)
