"""HTTP API for trading-centre staff: draft, edit, attach, publish and amend notices."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from sqlalchemy import select

from notices import schemas, services
from notices.models import Notice
from notices.reads import attachment_read, notice_detail, summaries
from trading.errors import InvalidInput
from trading.projects.models import Project
from trading.web import DB, make_act, request_actor

# Attachments stream to the blob store; this is the ceiling the framework enforces before our own limit.
ATTACHMENT_ROUTE_LIMIT = 4 * 1024**3


class StaffNoticeController(Controller):
    path = "/api/staff/notices"
    tags = ["staff"]

    @post("/", operation_id="createNoticeDraft")
    async def create_draft(
        self, request: Request, db: DB, data: JSONBody[schemas.NoticeDraftCreate]
    ) -> schemas.NoticeDetail:
        """Draft a notice for a project of my centre."""
        notice = await services.create_draft(db, await make_act(request, db), data)
        return await notice_detail(db, notice, include_drafts=True)

    @get("/", operation_id="listNoticeDrafts")
    async def list_drafts(
        self, request: Request, db: DB, limit: int = Parameter(default=50, ge=1, le=200)
    ) -> list[schemas.NoticeSummary]:
        """Drafts of my centre's projects, newest first."""
        actor = request_actor(request)
        assert actor is not None
        query = select(Notice).join(Project, Project.id == Notice.project_id).where(Notice.status == "draft")
        if not actor.has_role("admin"):
            query = query.where(Project.centre_id == actor.centre_id)
        rows = await db.scalars(query.order_by(Notice.id.desc()).limit(limit))
        return summaries(list(rows))

    @get("/{notice_id:int}", operation_id="getNoticeDraft")
    async def get_draft(self, request: Request, db: DB, notice_id: FromPath[int]) -> schemas.NoticeDetail:
        """A notice of my centre, drafts included."""
        actor = request_actor(request)
        assert actor is not None
        notice = await services.notice_for_staff(db, actor, notice_id)
        return await notice_detail(db, notice, include_drafts=True)

    @patch("/{notice_id:int}", operation_id="updateNoticeDraft")
    async def update_draft(
        self, request: Request, db: DB, notice_id: FromPath[int], data: JSONBody[schemas.NoticeDraftUpdate]
    ) -> schemas.NoticeDetail:
        """Edit a draft. A published notice is refused: publish an amendment instead."""
        notice = await services.update_draft(db, await make_act(request, db), notice_id, data)
        return await notice_detail(db, notice, include_drafts=True)

    @post("/{notice_id:int}/publish", operation_id="publishNotice", status_code=200)
    async def publish(self, request: Request, db: DB, notice_id: FromPath[int]) -> schemas.NoticeDetail:
        """Publish a draft after the rules (required fields, statutory periods, state) have passed."""
        settings = request.app.state.settings
        notice = await services.publish(db, await make_act(request, db), notice_id, tz=ZoneInfo(settings.time_zone))
        return await notice_detail(db, notice, include_drafts=True)

    @post(
        "/{notice_id:int}/attachments",
        operation_id="uploadNoticeAttachment",
        request_max_body_size=ATTACHMENT_ROUTE_LIMIT,
    )
    async def upload_attachment(
        self,
        request: Request,
        db: DB,
        notice_id: FromPath[int],
        filename: str = Parameter(min_length=1, max_length=255),
    ) -> schemas.AttachmentRead:
        """Attach a file to a draft: the raw body is streamed to the blob store and hashed (SHA-256).

        Its Content-Type is one of PDF, Word, Excel, PowerPoint, OpenDocument, OFD, ZIP, RAR, 7z, PNG, JPEG,
        TIFF, GIF, BMP, DWG, text/plain or text/csv (with its charset: utf-8, gbk, gb18030, gb2312, big5 …), or
        application/octet-stream for any other format; the file's first bytes must agree with it. Else 415:
        unsupported_media_type, media_type_mismatch, charset_mismatch or unknown_charset. A name ending in what
        would run or render as a page (.html, .svg, .exe, .js …) is a 400 filename_not_allowed."""
        settings = request.app.state.settings
        media_type = request.headers.get("content-type", "application/octet-stream")
        if media_type.strip().lower().startswith("multipart/"):
            raise InvalidInput(
                "请直接上传文件内容（非 multipart 表单）",
                "Send the file as the raw request body, not as a multipart form",
                code="raw_body_expected",
            )
        attachment = await services.add_attachment(
            db,
            await make_act(request, db),
            notice_id,
            filename=filename,
            media_type=media_type,
            body=request.stream(),
            blobs=request.app.state.blobs,
            max_bytes=settings.max_attachment_bytes,
        )
        return attachment_read(attachment)
