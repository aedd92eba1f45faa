"""The public portal: server-rendered Chinese pages that work without JavaScript."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from trading.accounts.auth import public


class PortalController(Controller):
    path = "/"
    include_in_schema = False
    guards = [public]

    @get("/", operation_id="portalHome")
    async def home(self) -> Template:
        """Home page."""
        return Template("home.html", context={})


class AccountPortalController(Controller):
    path = "/account"
    include_in_schema = False
    guards = [public]
