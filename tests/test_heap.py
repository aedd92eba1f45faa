"""A server's worker sets its startup heap aside from the garbage collector's full collections
(trading.asgi.freeze_heap), having collected the garbage first."""

from __future__ import annotations

import gc
import weakref

import pytest

from trading import asgi


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.asyncio
async def test_the_startup_heap_is_frozen_after_its_garbage_is_collected():
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    del garbage
    before = gc.get_freeze_count()
    try:
        await asgi.freeze_heap()
        assert gone() is None  # collected, not frozen with the rest
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_the_production_app_freezes_its_heap_once_started(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADING_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("TRADING_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("TRADING_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    app = asgi.app_factory()
    assert app.on_startup[-1] is asgi.freeze_heap
