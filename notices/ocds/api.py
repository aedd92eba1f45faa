"""OCDS 1.1 over HTTP: release packages for a date range, and a project's record package."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, Parameter, QueryParameter

from notices.ocds import reads
from trading.web import DB


class OcdsController(Controller):
    path = "/api/ocds"
    tags = ["ocds"]

    @get("/releases", operation_id="ocdsReleasePackage")
    async def releases(
        self,
        request: Request,
        db: DB,
        published_from: datetime | None = QueryParameter(name="from", default=None),
        published_to: datetime | None = QueryParameter(name="to", default=None),
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$", description="division; includes its parts"),
        trade_kind: str | None = Parameter(default=None, pattern="^(works|procurement|land|property)$"),
        stage: str = Parameter(default="notices", pattern="^(notices|implementation)$"),
        cursor: str | None = Parameter(default=None, max_length=200),
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> Response[dict[str, Any]]:
        """A release package: one release per published notice version, oldest first (``stage=implementation``:
        one per payment under a contract); the next page's URL is in the ``Link`` header (rel="next")."""
        state = request.app.state
        package, next_cursor = await reads.release_package(
            db,
            state.settings,
            await state.clock.now(db),
            published_from=published_from,
            published_to=published_to,
            region=region,
            trade_kind=trade_kind,
            cursor=cursor,
            limit=limit,
            # The package's own address on the site as configured, never as the caller's Host header names it.
            uri=state.settings.base_url.rstrip("/")
            + request.url.path
            + (f"?{request.url.query}" if request.url.query else ""),
            stage=stage,
        )
        headers = {}
        if next_cursor is not None:
            query = {k: v for k, v in request.query_params.items() if k != "cursor"} | {"cursor": next_cursor}
            following = f"{request.url.path}?{urlencode(query)}"
            headers["Link"] = f'<{following}>; rel="next"'
        return Response(content=package, headers=headers)

    @get("/records/{ocid:str}", operation_id="ocdsRecordPackage")
    async def record(self, request: Request, db: DB, ocid: FromPath[str]) -> dict[str, Any]:
        """A record package: every release of the project's contracting process and the compiled release."""
        state = request.app.state
        return await reads.record_package(db, ocid, state.settings, await state.clock.now(db))
