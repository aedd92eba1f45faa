"""No request hops to a worker thread for the app's own hooks, guards or dependencies.

Litestar runs a synchronous hook (before_request, after_request, after_response), guard or dependency in its
thread pool: a thread hop and a hand-over of the GIL on every request it applies to. The app's after_request
hook was such a one, and in a deadline storm each bid paid that hop (about 4% of the app's CPU in a py-spy
profile of bench/bids.py). Every hook, guard and dependency here is a coroutine, run on the event loop.
"""

from __future__ import annotations

import pytest
from litestar.utils.sync import AsyncCallable

from tests.routes import http_routes

pytestmark = pytest.mark.asyncio


async def test_no_hook_guard_or_dependency_runs_in_a_thread(app):
    threaded = set()
    for _path, handler in http_routes(app):
        hooks = [
            (hook_name, getattr(layer, hook_name))
            for layer in handler.ownership_layers
            for hook_name in ("before_request", "after_request", "after_response")
        ]
        hooks += [("guard", guard) for guard in handler.resolve_guards()]
        for what, hook in hooks:
            if isinstance(hook, AsyncCallable):
                threaded.add(f"{what} {getattr(hook.func, '__qualname__', hook.func)}")
        for name, provide in handler.resolve_dependencies().items():
            if provide.sync_to_thread:
                threaded.add(f"dependency {name}")
    assert threaded == set()
