"""The ASGI entry point for production servers: ``uvicorn --factory trading.asgi:app_factory``."""

from __future__ import annotations

from litestar import Litestar

from trading import db, draining, heap
from trading.app import create_app
from trading.settings import load_settings
from trading.workers import watch_supervisor


def app_factory() -> Litestar:
    app = create_app(load_settings())
    # A process of its own under a server: SIGTERM drains its uploads before the server stops (trading.draining).
    app.on_startup.append(draining.install(app))
    app.on_startup.append(warm_pool)
    app.on_startup.append(freeze_heap)
    watch_supervisor()  # (a worker of several: it stops with its supervisor)
    return app


async def warm_pool(app: Litestar) -> None:
    """The startup hook that opens the worker's pool and prepares and plans the deadline storm's statements on
    each connection (trading.db.warm_pool): the first storm after a restart meets a warm worker."""
    await db.warm_pool(app.state.engine)


async def freeze_heap() -> None:
    """The startup hook that settles the worker's heap (trading.heap): what it holds once started is set aside
    from the garbage collector's full collections, which otherwise walk it in the middle of a deadline storm."""
    heap.settle()
