"""The bare endpoint: the least a Python HTTP service on this machine does to take a bid, for bench/bids.py's
second floor. A raw ASGI app (no framework, no checks) under uvicorn with the same workers, parser and event loop
as `trading serve`: it reads the request's body and, unless BARE_DSN is empty, stores it with one INSERT +
COMMIT through an asyncpg pool of BARE_POOL connections, then answers 201 with a small JSON body.

    BARE_DSN=postgresql://… BARE_POOL=10 uvicorn bench._bare:app --workers 2
"""

from __future__ import annotations

import os
import time
from typing import Any

import asyncpg

_pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if dsn := os.environ.get("BARE_DSN"):
                    size = int(os.environ.get("BARE_POOL", "10"))
                    _pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _pool is not None:
                    await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    if _pool is not None and scope["method"] == "POST":
        async with _pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bench_floor (key, data) VALUES ($1, $2)", f"bare-{os.getpid()}-{time.time_ns()}", body
            )
    answer = b'{"ok":true}'
    await send(
        {
            "type": "http.response.start",
            "status": 201 if scope["method"] == "POST" else 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})
