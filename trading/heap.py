"""A worker's heap and Python's cyclic garbage collector.

Once started, a server's worker holds some 160,000 objects for the rest of its life — modules, the app, its
routes, the ORM's mappers — and the collector's full collections walk all of them while requests allocate: in a
deadline storm each worker paused about 80 ms for one such walk, an eighth of its CPU. :func:`settle` sets them
aside (``gc.freeze``, after a collection: nothing that is garbage is kept). Work that allocates hundreds of
thousands of objects at once — the opening job — turns the collector off while it runs
(:func:`collector_paused`); afterwards the heap is settled again if it was.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_settled = False
_paused = 0
_collecting = True


def settle() -> None:
    """Collect what is garbage, then set everything still held aside from the collector's full collections.
    Objects without cycles among them are still freed by their reference counts when they are let go."""
    global _settled
    gc.collect()
    gc.freeze()
    _settled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """While the block runs, the cyclic collector is off and leaves alone the objects held when it began (an
    opening of 10,000 bids allocates hundreds of thousands of rows, dicts and results, which set off collections,
    and each full one walked the whole heap again: 0.8 s of the worker's CPU, as much as the rest of its share of
    the job). At the end — the last of several such blocks at once — the collector is on again; the objects set
    aside for the block go back to it and anything among them that is garbage is collected; a settled heap is
    settled again. Nested and concurrent blocks share one pause."""
    global _paused, _collecting
    if _paused == 0:
        _collecting = gc.isenabled()
        gc.freeze()
        gc.disable()
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0:
            if _collecting:
                gc.enable()
            gc.unfreeze()
            if _settled:
                settle()
