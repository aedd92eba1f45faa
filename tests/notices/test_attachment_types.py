"""What a notice's attachment may be (notices/media_types.py): the type it declares must be one a trading centre
publishes, and its first bytes must agree with it; a refused file is a 415 that leaves nothing behind — no
attachment, no audit record, nothing in the blob store — on SQLite (local store) and PostgreSQL (S3)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from notices import media_types
from tests.factories import attach, build_world, create_project, draft_tender
from trading.audit.models import AuditEntry

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40


# --- the pure check ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("application/pdf", PDF),
        ("Application/PDF; name=招标文件.pdf", b"\xef\xbb\xbf\n%PDF-1.4"),  # a few bytes before the header
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", DOCX),
        ("application/vnd.ms-excel", XLS),
        ("application/zip", b"PK\x05\x06" + b"\x00" * 18),  # an empty archive
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("image/vnd.dwg", b"AC1032\x00\x00"),
        ("image/x-dwg", b"AC1027\x00\x00"),
        ("image/gif", b"GIF89a\x01\x00"),
        ("image/bmp", b"BM6\x00\x00\x00"),
        ("text/plain; charset=x-gbk", "招标文件".encode("gbk")),
        ("text/plain; charset=gbk", b"plain ASCII is GBK too"),
        ("text/csv; charset=GBK", "序号,材料,数量\n1,沥青混凝土,1200\n".encode("gbk")),
        ("text/plain", "澧县城区道路提质改造工程\n".encode()),
        ("application/octet-stream", b"\x00\x01GZBS proprietary tender file"),
        ("", b"anything at all"),
    ],
)
def test_the_types_a_centre_publishes_are_accepted(content_type, head):
    media_type, kind = media_types.declared(content_type)
    media_types.check_head(media_type, kind, head)


@pytest.mark.parametrize(
    ("content_type", "head", "code"),
    [
        ("text/html", b"<html></html>", "unsupported_media_type"),
        ("image/svg+xml", b"<svg/>", "unsupported_media_type"),
        ("application/javascript", b"alert(1)", "unsupported_media_type"),
        ("application/pdf", "招标文件\n".encode(), "media_type_mismatch"),
        ("application/pdf", b" " * 1024 + b"%PDF-1.7", "media_type_mismatch"),  # past the first 1024 bytes
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", XLS, "media_type_mismatch"),
        ("application/msword", DOCX, "media_type_mismatch"),
        ("image/png", b"\xff\xd8\xff\xe0", "media_type_mismatch"),
        ("text/plain", b"MZ\x90\x00\x03\x00", "media_type_mismatch"),  # a program is no text
        ("text/csv", "序号,数量\n".encode("gbk"), "charset_mismatch"),  # GBK, not the UTF-8 assumed
        ("text/csv; charset=gbk", "序号,材料,数量\n".encode(), "charset_mismatch"),  # UTF-8 sent as GBK
        ("text/plain; charset=big5", "招標文件".encode(), "charset_mismatch"),
        ("text/csv; charset=utf-16", b"\xff\xfe1\x00", "unknown_charset"),
        ("text/plain; charset=base64", b"aGVsbG8=", "unknown_charset"),
    ],
)
def test_a_type_not_published_or_content_not_as_declared_is_refused(content_type, head, code):
    with pytest.raises(media_types.DomainError) as refused:
        media_type, kind = media_types.declared(content_type)
        media_types.check_head(media_type, kind, head)
    assert refused.value.status_code == 415 and refused.value.code == code
    zh, _, en = refused.value.message.partition(" / ")
    assert zh and en, refused.value.message


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("招标文件.pdf", False),
        ("说明.html.pdf", False),
        ("工程量清单", False),
        ("说明.html", True),
        ("说明.HTM", True),
        ("图.svg", True),
        ("招标文件.pdf.exe", True),
        ("招标文件.exe. ", True),  # Windows drops the trailing dot and space
        ("run.js", True),
    ],
)
def test_a_name_that_would_run_or_render_is_refused(name, refused):
    if refused:
        with pytest.raises(media_types.ActiveFileName) as error:
            media_types.check_filename(name)
        assert error.value.status_code == 400 and error.value.code == "filename_not_allowed"
    else:
        media_types.check_filename(name)


def test_the_type_is_kept_in_one_form():
    assert media_types.declared('TEXT/CSV; Charset="GB2312"; header=present')[0] == "text/csv; charset=gb2312"
    assert media_types.declared("text/plain;charset=utf8")[0] == "text/plain; charset=utf-8"
    assert media_types.declared("application/pdf; charset=utf-8")[0] == "application/pdf"
    assert media_types.declared(None)[0] == "application/octet-stream"
    assert max(len(t) for t in media_types.ALLOWED) + len("; charset=windows-1252") <= 100  # the column


@given(st.binary(max_size=600))
def test_utf8_text_cut_anywhere_in_the_head_still_reads_as_text(noise):
    text = ("工程量清单" * 2000).encode()[: media_types.HEAD_BYTES]  # the head ends mid-character
    media_type, kind = media_types.declared("text/plain; charset=utf-8")
    media_types.check_head(media_type, kind, text)
    if b"\x00" in noise:
        with pytest.raises(media_types.DomainError):
            media_types.check_head(media_type, kind, noise)


# --- through the API -----------------------------------------------------------------------------------------------


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


async def _what_is_kept(app, draft_id: int, client: httpx.AsyncClient, world) -> tuple:
    detail = (await client.get(f"/api/staff/notices/{draft_id}", headers=world.headers("staff"))).json()
    async with app.state.sessionmaker() as s:
        audited = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "notice.attach")
        )
    blobs = sorted([b.sha256 async for b in app.state.blobs.list_blobs()])
    debris = await app.state.blobs.debris_before(datetime(2100, 1, 1, tzinfo=UTC))  # any age
    return detail["attachments"], audited, blobs, debris


@pytest.mark.asyncio
async def test_a_refused_attachment_is_a_415_that_leaves_nothing(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    before = await _what_is_kept(app, draft["id"], client, world)

    not_a_pdf = "澧县城区道路提质改造工程招标文件\n".encode() * 5000  # 160 KB, several chunks on the way
    r = await attach(client, world, draft, "招标文件.pdf", not_a_pdf, "application/pdf")
    assert r.status_code == 415, r.text
    error = r.json()["error"]
    assert error["code"] == "media_type_mismatch" and "PDF" in error["message_zh"] and "PDF" in error["message_en"]
    r = await attach(client, world, draft, "说明.dat", b"<svg onload=alert(1)/>", "image/svg+xml")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert "application/octet-stream" in r.json()["error"]["message_en"]
    r = await attach(client, world, draft, "清单.csv", "序号,数量\n".encode("gbk"), "text/csv")
    assert r.status_code == 415 and "charset=gbk" in r.json()["error"]["message"]
    r = await attach(client, world, draft, "说明.htm", b"<p>x</p>", "application/octet-stream")
    assert r.status_code == 400 and r.json()["error"]["code"] == "filename_not_allowed"
    r = await attach(client, world, draft, "空.pdf", b"", "application/pdf")
    assert r.status_code == 400 and r.json()["error"]["code"] == "empty_file"
    assert await _what_is_kept(app, draft["id"], client, world) == before

    # the same file declared as what it is goes in, and is served with that type
    r = await attach(client, world, draft, "招标文件.txt", not_a_pdf, "text/plain; charset=UTF-8")
    assert r.status_code == 201, r.text
    r = await attach(client, world, draft, "清单.csv", "序号,数量\n".encode("gbk"), "text/csv; charset=gbk")
    assert r.status_code == 201, r.text
    published = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert published.status_code == 200, published.text
    served = await client.get(published.json()["attachments"][0]["url"])
    assert served.headers["content-type"] == "text/plain; charset=utf-8" and served.content == not_a_pdf
    page = await client.get(f"/notices/{draft['id']}")  # the public's page says what each file is
    assert page.status_code == 200 and "文本 text · utf-8" in page.text and "CSV · gbk" in page.text


@pytest.mark.asyncio
async def test_the_head_is_checked_across_the_chunks_it_arrives_in(app, client, clock):
    """A PDF whose header arrives a byte at a time is accepted; a body whose start is not a PDF's is refused
    even though "%PDF-" comes later, in another chunk, and the store keeps nothing of it."""
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    url = f"/api/staff/notices/{draft['id']}/attachments"
    headers = world.headers("staff") | {"content-type": "application/pdf"}
    big = PDF + bytes(range(256)) * (3 * media_types.HEAD_BYTES // 256)
    parts = [big[i : i + 1] for i in range(16)] + [big[16:9000], big[9000:]]
    r = await client.post(url, params={"filename": "a.pdf"}, content=_chunks(*parts), headers=headers)
    assert r.status_code == 201 and r.json()["size"] == len(big), r.text
    before = await _what_is_kept(app, draft["id"], client, world)
    late = _chunks(b"\x00" * 5000, b"%PDF-1.7", b"\x00" * 5000)
    r = await client.post(url, params={"filename": "b.pdf"}, content=late, headers=headers)
    assert r.status_code == 415 and r.json()["error"]["code"] == "media_type_mismatch", r.text
    assert await _what_is_kept(app, draft["id"], client, world) == before
