"""The ASGI entry point for production servers: ``uvicorn --factory trading.asgi:app_factory``."""

from __future__ import annotations

import gc

from litestar import Litestar

from trading import draining
from trading.app import create_app
from trading.settings import load_settings
from trading.workers import watch_supervisor


def app_factory() -> Litestar:
    app = create_app(load_settings())
    # A process of its own under a server: SIGTERM drains its uploads before the server stops (trading.draining).
    app.on_startup.append(draining.install(app))
    app.on_startup.append(freeze_heap)
    watch_supervisor()  # (a worker of several: it stops with its supervisor)
    return app


async def freeze_heap() -> None:
    """The startup hook that sets what the process holds once started — modules, the app, its routes and
    statements, some 160,000 objects — aside from the garbage collector's full collections (``gc.freeze``),
    after collecting what is garbage already. Python's collector otherwise walks all of it now and then while
    requests allocate: in a deadline storm (bench/bids.py) each worker paused about 80 ms for one such walk, an
    eighth of the storm's CPU. Those objects live as long as the process: setting them aside frees nothing
    that would have been freed."""
    gc.collect()
    gc.freeze()
