"""The HTTP client behind the ``bidding`` command (投标/开标客户端): one method per API endpoint it uses.

It speaks to the platform over plain HTTP(S) with a bearer token and turns the platform's refusals —
``{"error": {"code", "message_zh", "message_en", "details"}}`` — into :class:`ApiError`, so the command line
can show them as they were written. Network failures become an ``ApiError`` with ``status_code`` 0.
Nothing here is cryptographic: sealing, opening shares and checking receipts happen in the command line
with the pure code of :mod:`bidding.envelope` and :mod:`trading.log`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import httpx

USER_AGENT = "trading-bidding-cli/0.1"
#: A PUT carries one slice of a ciphertext, streamed from the file; the server keeps what reached it and makes it
#: durable (fsync) at the end of each slice, so a slice is the stretch between two durable points.
DEFAULT_UPLOAD_CHUNK = 64 * 1024 * 1024
#: A 503 with Retry-After (the database restarting or failing over, the file store away for a moment) is
#: waited out and the request sent again, this many times: every bidding step is safe to repeat.
UNAVAILABLE_RETRIES = 6
#: The longest wait for one Retry-After, whatever the server asks.
MAX_RETRY_AFTER = 30.0
#: A connection refused, reset or closed without an answer (a server worker restarting, a proxy reloading) is
#: sent again after these waits (seconds), then reported: the request may not have reached the platform at all,
#: and every bidding step is safe to repeat (the same sealed file gives the same bid). A timeout is not retried:
#: the server may still be working on the request, and the bidder hears of it.
DROPPED_RETRY_WAITS = (0.5, 1.0, 2.0, 4.0)
_DROPPED = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class ApiError(Exception):
    """A refusal from the platform (or no answer at all: ``status_code`` 0), with both messages."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        details: dict[str, Any] | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status_code = status_code
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details or {}
        self.rule = rule

    @property
    def is_network(self) -> bool:
        return self.status_code == 0

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(
                response.status_code,
                str(error.get("code", "http_error")),
                str(error.get("message_zh") or error.get("message") or ""),
                str(error.get("message_en") or error.get("message") or ""),
                details=error.get("details") if isinstance(error.get("details"), dict) else None,
                rule=error.get("rule"),
            )
        return cls(
            response.status_code,
            "http_error",
            f"服务器返回 HTTP {response.status_code}",
            f"The server answered HTTP {response.status_code}",
        )

    @classmethod
    def from_transport(cls, server: str, exc: httpx.HTTPError) -> ApiError:
        return cls(
            0,
            "network_error",
            f"无法连接服务器 {server}（{type(exc).__name__}）",
            f"Cannot reach {server} ({type(exc).__name__}: {exc})",
        )


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before sending again, for a 503 that names them; else None (do not retry)."""
    if response.status_code != 503:
        return None
    try:
        seconds = float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None  # (no Retry-After, or an HTTP date: a proxy's answer, not the platform's)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


#: The largest sealed bid file sent in one request (the server's bidding.submission.ONE_REQUEST_LIMIT); a
#: bigger one goes in resumable pieces.
ONE_REQUEST_LIMIT = 16 * 1024**2


class BiddingClient:
    """The bidding API over HTTP. ``token`` is an API token from ``POST /api/tokens``."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        unavailable_retries: int = UNAVAILABLE_RETRIES,
        on_unavailable: Callable[[ApiError, float], None] | None = None,
        dropped_waits: tuple[float, ...] = DROPPED_RETRY_WAITS,
    ) -> None:
        """*on_unavailable* hears each 503 that is waited out, and each dropped connection that is tried again
        (the refusal or the network error, and the seconds it waits)."""
        self.server = server.rstrip("/")
        self.unavailable_retries = unavailable_retries
        self.dropped_waits = dropped_waits
        self.on_unavailable = on_unavailable
        # The token goes to the API only: the log (/log/) is the public's, and a token that has expired since must
        # not stand in the way of checking a receipt there.
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.server,
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=15.0),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BiddingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return self.server + path

    # ---------------------------------------------------------------------------------------------
    # plumbing

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A ``content`` given as a function is called for each try (a streamed body is read again)."""
        dropped = 0
        attempt = 0
        if self._auth and path.startswith("/api/"):
            kwargs["headers"] = self._auth | kwargs.get("headers", {})
        while True:
            content = kwargs.get("content")
            try:
                response = self._http.request(
                    method, path, **(kwargs | {"content": content()} if callable(content) else kwargs)
                )
            except _DROPPED as exc:
                error = ApiError.from_transport(self.server, exc)
                if dropped == len(self.dropped_waits):
                    raise error from exc
                if self.on_unavailable is not None:
                    self.on_unavailable(error, self.dropped_waits[dropped])
                time.sleep(self.dropped_waits[dropped])
                dropped += 1
                continue
            except httpx.HTTPError as exc:
                raise ApiError.from_transport(self.server, exc) from exc
            if response.status_code < 400:
                return response
            error = ApiError.from_response(response)
            wait = _retry_after(response)
            if wait is None or attempt == self.unavailable_retries:
                raise error
            if self.on_unavailable is not None:
                self.on_unavailable(error, wait)
            time.sleep(wait)
            attempt += 1

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                response.status_code,
                "bad_response",
                "服务器的应答不是 JSON",
                "The server's answer is not JSON",
            ) from exc

    # ---------------------------------------------------------------------------------------------
    # accounts

    def create_token(self, username: str, password: str, label: str) -> dict[str, Any]:
        """POST /api/tokens — sign in; the token in the answer is shown once."""
        return self._json("POST", "/api/tokens", json={"username": username, "password": password, "label": label})

    def revoke_token(self, token_id: int) -> None:
        self._send("DELETE", f"/api/tokens/{token_id}")

    def me(self) -> dict[str, Any]:
        return self._json("GET", "/api/me")

    # ---------------------------------------------------------------------------------------------
    # keys

    def register_bidder_key(self, public_key_b64: str, label: str, certificate_pem: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"public_key": public_key_b64, "label": label}
        if certificate_pem:
            body["certificate_pem"] = certificate_pem
        return self._json("POST", "/api/bidding/keys", json=body)

    def register_opener_key(self, suite: str, public_key_b64: str, signing_key_b64: str) -> dict[str, Any]:
        return self._json(
            "POST",
            "/api/openers/keys",
            json={"suite": suite, "public_key": public_key_b64, "signing_key": signing_key_b64},
        )

    def register_centre_key(self, public_key_b64: str, label: str) -> dict[str, Any]:
        return self._json("POST", "/api/centre-keys", json={"public_key": public_key_b64, "label": label})

    # ---------------------------------------------------------------------------------------------
    # reserve and control prices (staff)

    def submit_reserve(self, section_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/api/sections/{section_id}/reserve-price", json=body)

    def reserve_prices(self, section_id: int) -> list[dict[str, Any]]:
        return self._json("GET", f"/api/sections/{section_id}/reserve-price")

    # ---------------------------------------------------------------------------------------------
    # sections and notices (public)

    def section_bidding(self, section_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/sections/{section_id}/bidding")

    def notice_version_document(self, notice_id: int, version: int) -> bytes:
        """The exact bytes published as one notice version (their SHA-256 is its content hash)."""
        return self._send("GET", f"/api/notices/{notice_id}/versions/{version}/document").content

    def notice(self, notice_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/notices/{notice_id}")

    # ---------------------------------------------------------------------------------------------
    # submission

    def begin_submission(
        self, section_id: int, manifest_b64: str, signature_b64: str, sealed_shares: dict[str, list[str]]
    ) -> dict[str, Any]:
        """POST the signed manifest and sealed shares; a replayed manifest returns the same upload."""
        return self._json(
            "POST",
            f"/api/sections/{section_id}/bids",
            json={"manifest": manifest_b64, "signature": signature_b64, "sealed_shares": sealed_shares},
        )

    def submit_file(self, section_id: int, data: bytes) -> dict[str, Any]:
        """POST a whole sealed bid file (at most ONE_REQUEST_LIMIT bytes); the answer is the bid with its
        receipt. The same file again gives the same bid, so a retry is safe."""
        return self._json(
            "POST",
            f"/api/sections/{section_id}/bids/file",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def upload_status(self, upload_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/uploads/{quote(upload_id)}")

    def put_ciphertext(
        self,
        upload_id: str,
        envelope: str,
        offset: int,
        data: bytes | Callable[[], Iterable[bytes]],
        size: int | None = None,
    ) -> int:
        """Append ``data`` at ``offset``; returns how many bytes the server now holds. ``data`` is the bytes, or
        a function giving them as pieces (``size`` bytes in all), which are streamed and never held together.

        (httpx keeps a request's body alive with its response in a reference cycle until the cyclic garbage
        collector runs, which it does by object counts, not bytes: bodies of many megabytes, sent one after
        another, pile up. Pieces of a stream are dropped as soon as they are sent.)"""
        headers = {"Content-Type": "application/octet-stream"}
        if callable(data):
            if size is None:
                raise ValueError("a streamed body needs its size")
            headers["Content-Length"] = str(size)  # not chunked: the server knows the length up front
        body = self._json(
            "PUT",
            f"/api/uploads/{quote(upload_id)}/{quote(envelope)}",
            params={"offset": offset},
            content=data,
            headers=headers,
        )
        return int(body["received"])

    def complete_upload(self, upload_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/uploads/{quote(upload_id)}/complete")

    def my_bid(self, section_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/sections/{section_id}/bids/mine")

    def withdraw(self, section_id: int, document_b64: str, signature_b64: str) -> dict[str, Any]:
        return self._json(
            "POST",
            f"/api/sections/{section_id}/bids/mine/withdraw",
            json={"withdrawal": document_b64, "signature": signature_b64},
        )

    # ---------------------------------------------------------------------------------------------
    # opening

    def opening_status(self, section_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/sections/{section_id}/opening")

    def my_sealed_shares(self, section_id: int) -> dict[str, Any]:
        return self._json("GET", f"/api/sections/{section_id}/opening/shares")

    def upload_shares(self, section_id: int, document_b64: str, signature_b64: str) -> dict[str, Any]:
        return self._json(
            "POST",
            f"/api/sections/{section_id}/opening/shares",
            json={"document": document_b64, "signature": signature_b64},
        )

    # ---------------------------------------------------------------------------------------------
    # transparency log (public)

    def log_key(self) -> str:
        return self._send("GET", "/log/key").text.strip()

    def log_checkpoint(self) -> str:
        return self._send("GET", "/log/checkpoint").text

    def inclusion_proof(
        self, tree_size: int, *, index: int | None = None, leaf_hash_hex: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"tree_size": tree_size}
        if index is not None:
            params["index"] = index
        if leaf_hash_hex is not None:
            params["leaf_hash"] = leaf_hash_hex
        return self._json("GET", "/log/proof/inclusion", params=params)

    def consistency_proof(self, first: int, second: int) -> dict[str, Any]:
        return self._json("GET", "/log/proof/consistency", params={"first": first, "second": second})
