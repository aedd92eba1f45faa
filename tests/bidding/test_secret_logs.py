"""No secret in a log line: with the database failing in the middle of each bidding request, the server's
error log names the route and where the error happened — never a credit code, a manifest hash, a sealed
share, a salt, a token or its hash, or a price (the values a failing statement would otherwise quote).

The failures are real database errors: a table the request writes to is renamed away for the request.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text

from bidding.envelope import read_sealed_bid
from tests.bidding.harness import (
    begin,
    begun,
    ciphertexts,
    complete,
    make_bidder,
    manifest_sha256_of,
    open_section,
    put,
    seal,
    withdraw,
)
from tests.factories import build_world

pytestmark = pytest.mark.asyncio

PRICE = 4_517_654_300


@asynccontextmanager
async def broken(app, table: str):
    """The table is gone for a moment, as if the database failed under the request."""
    async with app.state.engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        async with app.state.engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def _secrets(bidder, path, upload_id: str | None = None) -> dict[str, str]:
    sealed = read_sealed_bid(path)
    share = base64.b64encode(sealed.sealed_shares["price"][0]).decode()
    found = {
        "credit code": bidder.credit_code,
        "manifest hash": manifest_sha256_of(path),
        "sealed share": share[:40],
        "token": bidder.token,
        "token hash": hashlib.sha256(bidder.token.encode()).hexdigest(),
        "price": str(PRICE),
    }
    if upload_id:
        found["upload id"] = upload_id
    return found


def _assert_clean(caplog: pytest.LogCaptureFixture, secrets: dict[str, str]) -> None:
    # What the server logged (the test's own HTTP client logs the URLs it calls: not the server's lines).
    logged = "\n".join(caplog.handler.format(r) for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "internal error on" in logged, "the failure should be logged (by type and place)"
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == [], f"the log carries: {leaked}\n{logged[-3000:]}"


async def test_database_failures_on_the_bidding_routes_log_no_secret(app, client, clock, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    path = seal(section, bidder, tmp_path, price=PRICE)

    async with broken(app, "uploads"):  # beginning: the manifest and the sealed shares are the values
        r = await begin(client, bidder, section, path)
    assert r.status_code == 500 and "Internal server error" in r.text
    assert bidder.credit_code not in r.text  # nor in the answer
    _assert_clean(caplog, _secrets(bidder, path))

    caplog.clear()
    upload = await begun(client, bidder, section, path)
    data = ciphertexts(path)
    for envelope in ("price", "documents"):
        assert (await put(client, bidder, upload["upload_id"], envelope, data[envelope])).status_code == 200
    async with broken(app, "log_entries"):  # completing: the bid event and the receipt are logged
        r = await complete(client, bidder, upload["upload_id"])
    assert r.status_code == 500
    _assert_clean(caplog, _secrets(bidder, path, upload["upload_id"]))

    caplog.clear()
    # The failed completion had already stored the ciphertexts; the upload's own files are still there, so
    # the bidder's retry completes without sending them again.
    r = await complete(client, bidder, upload["upload_id"])
    assert r.status_code == 201, r.text
    async with broken(app, "log_entries"):  # withdrawing: a signed withdrawal and its event
        r = await withdraw(client, bidder, section.id, manifest_sha256_of(path))
    assert r.status_code == 500
    _assert_clean(caplog, _secrets(bidder, path, upload["upload_id"]))

    caplog.clear()
    async with broken(app, "api_tokens"):  # signing in by token: the token's hash is the value
        r = await client.get(f"/api/sections/{section.id}/bids/mine", headers=bidder.headers)
    assert r.status_code == 500
    _assert_clean(caplog, _secrets(bidder, path, upload["upload_id"]))
