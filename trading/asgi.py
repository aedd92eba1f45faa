"""The ASGI entry point for production servers: ``uvicorn --factory trading.asgi:app_factory``."""

from __future__ import annotations

from litestar import Litestar

from trading.app import create_app
from trading.settings import load_settings


def app_factory() -> Litestar:
    return create_app(load_settings())
