"""HTTP API for the expert pool (staff), each section's expert draw, and the panel's reading of the documents."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.response import Stream

from evaluation import documents, draws, experts, schemas
from trading.web import DB, make_act


class ExpertController(Controller):
    path = "/api/experts"
    tags = ["evaluation"]

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

    @post("/", operation_id="commitExpertDraw")
    async def commit(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.DrawIn]
    ) -> schemas.DrawRead:
        """Before the deadline: fix the draw (a secret seed whose hash is logged, and the pool)."""
        act = await make_act(request, db)
        await draws.commit(db, act, section_id, data, request.app.state.settings.min_evaluators)
        return await draws.public_view(db, section_id)

    @post("/run", operation_id="runExpertDraw", status_code=200)
    async def run(self, request: Request, db: DB, section_id: FromPath[int]) -> schemas.DrawRead:
        """After the opening record: draw the panel, passing over the tenderer's and bidders' people."""
        await draws.run(db, await make_act(request, db), section_id)
        return await draws.public_view(db, section_id)

    @post("/conflict", operation_id="declareConflict", status_code=200)
    async def conflict(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ConflictIn]
    ) -> schemas.DrawRead:
        """An expert steps aside (回避); if already drawn, the next in the draw's order takes the place."""
        await draws.declare_conflict(db, await make_act(request, db), section_id, data)
        return await draws.public_view(db, section_id)

    @get("/", operation_id="getExpertDraw")
    async def view(self, db: DB, section_id: FromPath[int]) -> schemas.DrawRead:
        """What was committed and when; after the result, the seed, pool and panel to recompute it."""
        return await draws.public_view(db, section_id)

    @get("/panel", operation_id="getExpertPanel")
    async def panel(self, request: Request, db: DB, section_id: FromPath[int]) -> list[dict[str, Any]]:
        """The drawn experts' names, for the centre's staff and supervisors (secret from others until the result)."""
        return await draws.panel(db, await make_act(request, db), section_id)


def _attachment(filename: str) -> str:
    """A Content-Disposition naming *filename* (UTF-8, RFC 6266), with an ASCII fallback for old clients."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class EvaluationDocumentsController(Controller):
    """The panel reads the bids' documents (评标委员会查阅投标文件); every read is in the audit trail."""

    path = "/api/sections/{section_id:int}/evaluation"
    tags = ["evaluation"]

    @get("/bids", operation_id="listBidsUnderEvaluation")
    async def bids(self, request: Request, db: DB, section_id: FromPath[int]) -> list[documents.BidUnderEvaluation]:
        """For the section's panel: the opened bids, their opening forms and whether their documents can be read."""
        return await documents.bids_under_evaluation(db, await make_act(request, db), section_id)

    # (No media_type on the route: Litestar would send it instead of the Stream's own, tar or a file's.)
    @get("/bids/{bid_id:int}/documents", operation_id="readBidDocuments")
    async def read(
        self,
        request: Request,
        db: DB,
        section_id: FromPath[int],
        bid_id: FromPath[int],
        file: str | None = QueryParameter(name="file", default=None, min_length=1, max_length=1024),
    ) -> Stream:
        """For the section's panel: a bid's documents decrypted as they stream (the tar, or one ``file`` of it)."""
        act = await make_act(request, db)
        blobs = request.app.state.blobs
        expert, opened = await documents.open_documents(db, act, section_id, bid_id, blobs)
        if file is None:
            await documents.record_read(db, act, expert, section_id, bid_id, "whole")
            size = opened.plaintext_size
            return Stream(
                documents.in_thread(documents.plaintext(opened)),
                media_type="application/x-tar",
                headers={
                    "Content-Disposition": _attachment(f"bid-{bid_id}-documents.tar"),
                    "X-Content-Type-Options": "nosniff",
                    "Cache-Control": "no-store",
                    **({"Content-Length": str(size)} if size is not None else {}),
                },
            )
        size, content = await anyio.to_thread.run_sync(documents.member, opened, file)
        await documents.record_read(db, act, expert, section_id, bid_id, "file", file)
        return Stream(
            documents.in_thread(content),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": _attachment(file.rsplit("/", 1)[-1]),
                "Content-Length": str(size),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    @get("/bids/{bid_id:int}/documents/index", operation_id="getBidDocumentsIndex")
    async def index(
        self, request: Request, db: DB, section_id: FromPath[int], bid_id: FromPath[int]
    ) -> documents.DocumentsIndex:
        """For the section's panel: the files in a bid's documents, names and sizes (read through once)."""
        act = await make_act(request, db)
        blobs = request.app.state.blobs
        expert, opened = await documents.open_documents(db, act, section_id, bid_id, blobs)
        files = await anyio.to_thread.run_sync(documents.index, opened)
        await documents.record_read(db, act, expert, section_id, bid_id, "index")
        return documents.DocumentsIndex(bid_id=bid_id, files=files)

    @get("/reads", operation_id="listDocumentReads")
    async def reads(self, request: Request, db: DB, section_id: FromPath[int]) -> list[documents.DocumentsRead]:
        """For the centre's staff and the supervisors: every read of this section's documents, who and when."""
        return await documents.reads(db, await make_act(request, db), section_id)
