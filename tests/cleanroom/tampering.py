"""A tampered site for the clean-room tests: the honest app behind a transport that changes its answers, as a
dishonest platform would serve them (an outsider cannot tell this from rows changed behind its back)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

#: (the request, the honest status, the honest body) → the status and body served instead.
Rewrite = Callable[[httpx.Request, int, bytes], tuple[int, bytes]]


class Rewriting(httpx.AsyncBaseTransport):
    """A site that serves what the honest app serves, except where *rewrite* changes an answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rewrite: Rewrite) -> None:
        self.inner, self.rewrite = inner, rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        status, changed = self.rewrite(request, response.status_code, body)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(status, headers=headers, content=changed)


def tampered_site(app: object, rewrite: Rewrite) -> httpx.AsyncClient:
    inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=Rewriting(inner, rewrite), base_url="http://testserver.local")
