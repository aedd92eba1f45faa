"""A server's worker settles its startup heap (trading.heap): set aside from the garbage collector's full
collections, after its garbage is collected; the opening job's pause of the collector leaves it settled."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from trading import asgi, heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _cyclic_garbage() -> weakref.ref[_Cycle]:
    garbage = _Cycle()
    return weakref.ref(garbage)  # (garbage once this returns: only its own cycle holds it)


@pytest.fixture
def unsettled(monkeypatch) -> Iterator[None]:
    """The test's process as a worker before it settled, and so again afterwards."""
    monkeypatch.setattr(heap, "_settled", False)
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_settling_collects_the_garbage_then_sets_the_rest_aside(unsettled):
    gone = _cyclic_garbage()
    heap.settle()
    assert gone() is None  # collected, not set aside with the rest
    assert gc.get_freeze_count() > 0 and heap._settled


def test_the_collector_paused_for_a_job_is_back_and_the_heap_settled_again(unsettled):
    heap.settle()
    with heap.collector_paused():
        assert not gc.isenabled()
        with heap.collector_paused():  # (a second opening at once shares the pause)
            pass
        assert not gc.isenabled()
        during = _cyclic_garbage()  # made while paused: not collected yet
        assert during() is not None
    assert gc.isenabled()
    assert during() is None  # collected when the heap was settled again
    assert gc.get_freeze_count() > 0  # the startup heap is set aside still (the job's unfreeze undid it)


def test_an_unsettled_heap_is_left_unsettled_after_a_pause(unsettled):
    with heap.collector_paused():
        assert gc.get_freeze_count() > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_production_app_settles_its_heap_once_started(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADING_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("TRADING_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("TRADING_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    app = asgi.app_factory()
    assert app.on_startup[-1] is asgi.freeze_heap
