"""A server's worker settles its startup heap (trading.heap): set aside from the garbage collector's full
collections, after its garbage is collected; the opening job's pause of the collector leaves it settled."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from trading import asgi

#: Each check runs in a fresh interpreter: a collection of the test process's own heap (everything the suite has
#: made so far) took half a minute, and freezing it would reach into every other test.
_PRELUDE = """
import gc, weakref
from trading import heap

class Cycle:
    def __init__(self):
        self.me = self

def cyclic_garbage():
    garbage = Cycle()
    return weakref.ref(garbage)  # (garbage once this returns: only its own cycle holds it)
"""


def _run(check: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(check)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_settling_collects_the_garbage_then_sets_the_rest_aside():
    _run("""
        gone = cyclic_garbage()
        heap.settle()
        assert gone() is None  # collected, not set aside with the rest
        assert gc.get_freeze_count() > 0 and heap._settled
    """)  # fmt: skip


def test_the_collector_paused_for_a_job_is_back_and_the_heap_settled_again():
    _run("""
        heap.settle()
        with heap.collector_paused():
            assert not gc.isenabled()
            with heap.collector_paused():  # (a second opening at once shares the pause)
                pass
            assert not gc.isenabled()
            during = cyclic_garbage()  # made while paused: not collected yet
            assert during() is not None
        assert gc.isenabled()
        assert during() is None  # collected when the heap was settled again
        assert gc.get_freeze_count() > 0  # the startup heap is set aside still (the job's unfreeze undid it)
    """)  # fmt: skip


def test_an_unsettled_heap_is_left_unsettled_after_a_pause():
    _run("""
        with heap.collector_paused():
            assert gc.get_freeze_count() > 0
        assert gc.isenabled() and gc.get_freeze_count() == 0
    """)  # fmt: skip


def test_the_production_app_settles_its_heap_once_started(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADING_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("TRADING_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("TRADING_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    app = asgi.app_factory()
    assert app.on_startup[-1] is asgi.freeze_heap
