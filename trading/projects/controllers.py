"""HTTP API for trading projects."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from sqlalchemy import select

from trading.projects import schemas, services
from trading.projects.models import Project
from trading.regions_sql import within_region
from trading.web import DB, decode_cursor, encode_cursor, make_act, request_actor


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["projects"]

    @post("/", operation_id="createProject")
    async def create_project(
        self, request: Request, db: DB, data: JSONBody[schemas.ProjectCreate]
    ) -> schemas.ProjectRead:
        """Create a trading project with its funding sources and bid sections (staff of its centre)."""
        project = await services.create_project(db, await make_act(request, db), data)
        return await services.project_read(
            db, await services.load_project(db, project.id, viewer=request_actor(request))
        )

    @get("/", operation_id="listProjects")
    async def list_projects(
        self,
        db: DB,
        region: str | None = Parameter(default=None, pattern=r"^\d{6}$"),
        trade_kind: FromQuery[schemas.TradeKind | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> schemas.ProjectPage:
        """Published projects, newest first, with keyset pagination (public)."""
        query = select(Project).where(Project.state != "draft")
        if region:
            query = query.where(within_region(Project.region_code, region))
        if trade_kind:
            query = query.where(Project.trade_kind == trade_kind)
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            query = query.where(Project.id < int(last_id))
        rows = list(await db.scalars(query.order_by(Project.id.desc()).limit(limit + 1)))
        page = rows[:limit]
        return schemas.ProjectPage(
            items=[
                schemas.ProjectSummary(
                    id=p.id,
                    trade_code=p.trade_code,
                    name=p.name,
                    trade_kind=p.trade_kind,
                    procedure=p.procedure,
                    region_code=p.region_code,
                    state=p.state,
                    budget_fen=p.budget_fen,
                )
                for p in page
            ],
            next=encode_cursor([page[-1].id]) if len(rows) > limit else None,
        )

    @get("/{project_id:int}", operation_id="getProject")
    async def get_project(self, request: Request, db: DB, project_id: FromPath[int]) -> schemas.ProjectRead:
        """One project with funding sources and sections (public once published; drafts for its staff)."""
        project = await services.load_project(db, project_id, viewer=request_actor(request))
        return await services.project_read(db, project)
