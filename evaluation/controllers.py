"""HTTP API for the expert pool (staff) and each section's expert draw."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, Parameter

from evaluation import draws, experts, schemas
from trading.accounts.auth import public, require_roles
from trading.web import DB, make_act


class ExpertController(Controller):
    path = "/api/experts"
    tags = ["evaluation"]
    guards = [require_roles("staff", "admin")]

    @post("/", operation_id="createExpert")
    async def create(self, request: Request, db: DB, data: JSONBody[schemas.ExpertIn]) -> schemas.ExpertRead:
        """Add an expert to the pool."""
        return experts.read(await experts.create(db, await make_act(request, db), data))

    @put("/{expert_id:int}", operation_id="updateExpert")
    async def update(
        self, request: Request, db: DB, expert_id: FromPath[int], data: JSONBody[schemas.ExpertIn]
    ) -> schemas.ExpertRead:
        """Change an expert's particulars, or take them out of the pool (``active: false``)."""
        return experts.read(await experts.update(db, await make_act(request, db), expert_id, data))

    @get("/", operation_id="listExperts")
    async def listing(
        self, request: Request, db: DB, speciality: str | None = Parameter(default=None, max_length=40)
    ) -> list[schemas.ExpertRead]:
        """The pool, optionally only one speciality."""
        return [experts.read(e) for e in await experts.listing(db, await make_act(request, db), speciality)]


class ExpertDrawController(Controller):
    path = "/api/sections/{section_id:int}/expert-draw"
    tags = ["evaluation"]

    @post("/", operation_id="commitExpertDraw", guards=[require_roles("staff", "admin")])
    async def commit(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.DrawIn]
    ) -> schemas.DrawRead:
        """Before the deadline: fix the draw (a secret seed whose hash is logged, and the pool)."""
        act = await make_act(request, db)
        await draws.commit(db, act, section_id, data, request.app.state.settings.min_evaluators)
        return await draws.public_view(db, section_id)

    @post("/run", operation_id="runExpertDraw", guards=[require_roles("staff", "admin")], status_code=200)
    async def run(self, request: Request, db: DB, section_id: FromPath[int]) -> schemas.DrawRead:
        """After the opening record: draw the panel, passing over the tenderer's and bidders' people."""
        await draws.run(db, await make_act(request, db), section_id)
        return await draws.public_view(db, section_id)

    @post("/conflict", operation_id="declareConflict", guards=[require_roles("evaluator")], status_code=200)
    async def conflict(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ConflictIn]
    ) -> schemas.DrawRead:
        """An expert steps aside (回避); if already drawn, the next in the draw's order takes the place."""
        await draws.declare_conflict(db, await make_act(request, db), section_id, data)
        return await draws.public_view(db, section_id)

    @get("/", operation_id="getExpertDraw", guards=[public])
    async def view(self, db: DB, section_id: FromPath[int]) -> schemas.DrawRead:
        """What was committed and when; after the result, the seed, pool and panel to recompute it."""
        return await draws.public_view(db, section_id)

    @get("/panel", operation_id="getExpertPanel", guards=[require_roles("staff", "admin", "supervisor")])
    async def panel(self, request: Request, db: DB, section_id: FromPath[int]) -> list[dict[str, Any]]:
        """The drawn experts' names, for the centre's staff and supervisors (secret from others until the result)."""
        return await draws.panel(db, await make_act(request, db), section_id)
