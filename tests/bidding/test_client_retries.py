"""The bidding client sends a request again when its connection was refused or dropped without an answer (a
server worker restarting, a proxy reloading), a few times with growing waits, and then says it cannot reach the
server. Against real sockets on 127.0.0.1: a server that drops its first connections unanswered."""

from __future__ import annotations

import socket
import threading

import pytest

from bidding.client import ApiError, BiddingClient


class DroppingServer:
    """Answers HTTP on 127.0.0.1, after closing the first *drop* connections without a word."""

    def __init__(self, drop: int) -> None:
        self.drop = drop
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                self.requests.append(request)
                if len(self.requests) <= self.drop:
                    continue  # closed unanswered
                body = b'{"username": "toubiao1"}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def close(self) -> None:
        self.sock.close()


def test_a_dropped_connection_is_tried_again_and_the_bidder_hears_of_each_wait() -> None:
    server = DroppingServer(drop=2)
    heard: list[tuple[str, float]] = []
    try:
        with BiddingClient(
            f"http://127.0.0.1:{server.port}",
            "tp_token",
            dropped_waits=(0.01, 0.02, 0.04),
            on_unavailable=lambda error, wait: heard.append((error.code, wait)),
        ) as client:
            assert client.me() == {"username": "toubiao1"}
    finally:
        server.close()
    assert len(server.requests) == 3 and all(r.startswith(b"GET /api/me ") for r in server.requests)
    assert heard == [("network_error", 0.01), ("network_error", 0.02)]


def test_a_server_that_never_answers_is_reported_after_the_last_wait() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    heard: list[float] = []
    with BiddingClient(
        f"http://127.0.0.1:{port}", "tp_token", dropped_waits=(0.01, 0.01), on_unavailable=lambda e, w: heard.append(w)
    ) as client:
        with pytest.raises(ApiError) as refused:
            client.me()
    assert refused.value.is_network and "无法连接服务器" in refused.value.message_zh
    assert heard == [0.01, 0.01]
