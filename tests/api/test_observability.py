"""What the operators see: a JSON log line per request (with its request id, route template, status, duration,
instance and client) and nothing secret in it; the metrics a bid moves; a /readyz that never hangs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import msgspec
import pytest

from bidding import scheduler
from tests.bidding.harness import begun, ciphertexts, complete, make_bidder, open_section, put, seal, submit, upload
from tests.factories import PASSWORD, build_world, integrate_all
from trading.app import create_app
from trading.observability import JsonFormatter

pytestmark = pytest.mark.asyncio


@contextmanager
def json_log(instance: str = "app-host-3") -> Iterator[io.StringIO]:
    """What the service writes in JSON (as `trading serve` logs), for the duration — not the test's own HTTP
    client (httpx logs the URLs it requests)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(instance))
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]  # each line is one JSON object


async def test_each_request_logs_one_json_line_with_its_request_id(app, client, settings):
    with json_log() as out:
        r = await client.get("/api/notices/99999", headers={"X-Request-ID": "lb-7f3a.42"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "lb-7f3a.42"  # a proxy's id, kept and echoed
    [line] = [line for line in _lines(out) if line["logger"] == "trading.request"]
    assert line | {"time": None, "duration_ms": None, "pid": None} == {
        "time": None,
        "level": "info",
        "logger": "trading.request",
        "message": line["message"],
        "instance": settings.instance_name,  # the setting (by default the host's name)
        "pid": None,
        "request_id": "lb-7f3a.42",
        "method": "GET",
        "route": "/api/notices/{notice_id}",  # the template, not /api/notices/99999
        "status": 404,
        "duration_ms": None,
        "client": "127.0.0.1",
    }
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    # An id that is not short and plain (it could forge log lines or carry data) is replaced by one of ours.
    for bad in ("a b", "x" * 200, "<script>", "../../etc"):
        r = await client.get("/healthz", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), bad
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    assert settings.instance_name == socket.gethostname()


async def test_a_bid_submission_logs_nothing_secret(app, client, clock, tmp_path):
    """Sign-in, a sealed bid's whole submission and a receipt: no password, token, bid content, query string
    or body reaches the log — only the requests' routes, statuses and timings."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    marker = "LOG-MARKER-报价-7d1c"
    bid = seal(section, bidder, tmp_path, marker=marker)
    with json_log() as out:
        signed_in = await client.post("/api/tokens", json={"username": "bidder1", "password": PASSWORD})
        assert signed_in.status_code == 201, signed_in.text
        info = await begun(client, bidder, section, bid)
        await upload(client, bidder, bid, info)
        r = await complete(client, bidder, info["upload_id"])
        assert r.status_code == 201, r.text
        await client.get("/api/notices", params={"q": "secret-query-3b9e"}, headers=bidder.headers)
        await client.get("/", headers={"Cookie": "trading_session=cookie-secret-91ac"})
    text = out.getvalue()
    lines = _lines(out)
    routes = {(line.get("method"), line.get("route"), line.get("status")) for line in lines}
    assert ("PUT", "/api/uploads/{upload_id}/{envelope}", 200) in routes
    assert ("POST", "/api/uploads/{upload_id}/complete", 201) in routes
    receipt = r.json()["receipt"]
    secrets = {
        "password": PASSWORD,
        "bidder's token": bidder.token,
        "new token": signed_in.json()["token"],
        "bid marker": marker,
        "query": "secret-query-3b9e",
        "cookie": "cookie-secret-91ac",
        "receipt signature": receipt["signature"],
        "upload id": info["upload_id"],  # a raw path is never logged, only its template
        "ciphertext": ciphertexts(bid)["price"][:24].hex(),
    }
    found = {name: value for name, value in secrets.items() if value and value in text}
    assert found == {}, found


def _sample(text: str, name: str, **labels: str) -> float:
    """A metric's value in Prometheus's text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        got = dict(re.findall(r'(\w+)="([^"]*)"', head.partition("{")[2]))
        if head.partition("{")[0] == name and got == labels:
            return float(value)
    return 0.0


async def test_a_bid_moves_the_metrics(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, n) for n in (1, 2)]
    bid = seal(section, bidders[0], tmp_path)
    backend = app.state.blobs.kind
    before = (await client.get("/metrics")).text

    assert (await submit(client, bidders[0], section, bid)).status_code == 201
    # Refusals, by code: someone else's upload; a second bid too late.
    late = await begun(client, bidders[1], section, seal(section, bidders[1], tmp_path, price=4_600_000_000))
    r = await put(client, bidders[0], late["upload_id"], "price", b"\x00" * 16)
    assert r.status_code in (403, 404), r.text
    refused_code = r.json()["error"]["code"]
    clock.set(section.deadline + timedelta(seconds=3))
    r = await client.post(f"/api/uploads/{late['upload_id']}/complete", headers=bidders[1].headers)
    assert r.status_code >= 400
    late_code = r.json()["error"]["code"]
    assert await scheduler.tick(app.state) == [section.id]
    await integrate_all(app)  # (the receipt does not wait for the log: the integrator's loop takes the entry)

    after = (await client.get("/metrics")).text
    assert after.startswith("# HELP") and "text/plain" in (await client.get("/metrics")).headers["content-type"]

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("trading_bids_receipted_total") == 1
    assert grew("trading_bids_refused_total", code=refused_code) == 1
    assert grew("trading_bids_refused_total", code=late_code) == 1
    sizes = ciphertexts(bid)
    assert grew("trading_upload_bytes_total", kind="bid_ciphertext") == len(sizes["price"]) + len(sizes["documents"])
    assert grew("trading_blob_store_seconds_count", backend=backend, operation="upload_commit") == 2
    assert grew("trading_http_requests_total", method="PUT", route="/api/uploads/{upload_id}/{envelope}", status="200")
    assert grew("trading_scheduler_close_lag_seconds_count") == 1
    assert 2.5 <= grew("trading_scheduler_close_lag_seconds_sum") <= 3.5  # closed 3 s after its deadline
    assert _sample(after, "trading_log_size") >= 1
    assert _sample(after, "trading_database_up") == 1
    assert _sample(after, "trading_openings", state="waiting") == 0
    assert "upload_id=" not in after and late["upload_id"] not in after  # no ids in any label


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a store or a database that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


async def test_readyz_gives_up_on_a_store_that_does_not_answer(settings):
    with silent_server() as port:
        hanging = create_app(
            msgspec.structs.replace(
                settings,
                blob_store="s3",
                s3_endpoint=f"http://127.0.0.1:{port}",
                s3_bucket="trading",
                s3_access_key_id="k",
                s3_secret_access_key="s",
                s3_timeout=30.0,
                ready_timeout=0.5,
            )
        )
        transport = httpx.ASGITransport(app=hanging)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                started = time.monotonic()
                r = await asyncio.wait_for(c.get("/readyz"), 10)
                took = time.monotonic() - started
        finally:
            await hanging.state.engine.dispose()
    assert r.status_code == 503, r.text
    assert r.json()["checks"]["blob_store"] == "no answer within 0.5 s"
    assert took < 3, took
