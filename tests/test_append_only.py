"""Published versions and the audit trail cannot be changed, even by a statement sent around the app."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories import build_world, published_tender

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE notice_versions SET body = '篡改后的正文'",
        "DELETE FROM notice_versions",
        "UPDATE audit_entries SET actor_name = '某人'",
        "DELETE FROM audit_entries",
    ],
)
async def test_append_only_tables_refuse_updates_and_deletes(app, client, clock, statement):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    async with app.state.sessionmaker() as s:
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(text(statement))
        await s.rollback()
    r = await client.get(notice["versions"][0]["document_url"])
    assert r.status_code == 200
    import hashlib

    assert hashlib.sha256(r.content).hexdigest() == notice["content_hash"]
