"""The headers every response carries so that a browser keeps the platform's pages to themselves: no script
but the platform's own files, no framing, no sniffing, no full URLs leaked to other sites.

Pages are server-rendered and work without JavaScript; the little script there is (the opening hall, the
API explorer) is served as files from /static, so the policy needs no 'unsafe-inline' and no hashes.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: For HTML pages: everything from the platform itself, nothing inline, never in a frame.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: For everything else (JSON, CSV, feeds, SVG charts, files): nothing to run, nothing to load.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


def headers_for(content_type: str) -> dict[str, str]:
    """The headers for a response of *content_type* (error responses built outside any route use this)."""
    policy = PAGE_POLICY if content_type.startswith("text/html") else DATA_POLICY
    return {name.decode(): value.decode() for name, value in COMMON} | {"content-security-policy": policy}


def _is_page(named: dict[bytes, bytes]) -> bool:
    """Whether a response with these headers (lower-cased names) is the platform's own HTML page. A file given out
    as an attachment is not one, whatever its type: a published HTML attachment gets the data policy (sandboxed,
    nothing runs), not the pages' script-src 'self'."""
    if named.get(b"content-disposition", b"").lower().startswith(b"attachment"):
        return False
    return named.get(b"content-type", b"").startswith(b"text/html")


class SecurityHeadersMiddleware:
    """Add the headers to every HTTP response, whatever produced it (handlers, static files, error pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower(): value for name, value in headers}
                policy = PAGE_POLICY if _is_page(present) else DATA_POLICY
                extra = [*COMMON, (b"content-security-policy", policy.encode())]
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
