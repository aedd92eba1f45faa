"""The app's HTTP routes as the tests that walk every one of them see them: each path with each of its handlers
(tests/api/test_route_matrix.py, tests/api/test_event_loop.py, tests/bidding/test_bidding_secrecy.py)."""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler


def http_routes(app: Litestar) -> list[tuple[str, HTTPRouteHandler]]:
    return [
        (route.path, handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
    ]
