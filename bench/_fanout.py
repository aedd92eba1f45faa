"""The floor of bench/hall.py: a bare fan-out server with nothing but asyncio and asyncpg — one LISTEN connection,
and on each notification the same event bytes written to every connected event stream (no framework, no read of
the state). Run by the bench as a process of its own:

    python bench/_fanout.py DSN CHANNEL PORT PAYLOAD_FILE...

A viewer is sent the first payload when it connects; a notification whose payload is "k" sends the k-th file.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import asyncpg

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


async def main(dsn: str, channel: str, port: int, payloads: list[bytes]) -> None:
    chunks = [f"{len(payload):x}\r\n".encode() + payload + b"\r\n" for payload in payloads]
    streams: set[asyncio.StreamWriter] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        writer.write(HEAD + chunks[0])  # the current state first, as the app sends it
        streams.add(writer)
        try:
            await reader.read()  # until the viewer goes
        finally:
            streams.discard(writer)
            writer.close()

    def heard(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        chunk = chunks[int(payload)]
        for writer in list(streams):
            writer.write(chunk)

    connection = await asyncpg.connect(dsn)
    await connection.add_listener(channel, heard)
    server = await asyncio.start_server(accept, "127.0.0.1", port, backlog=4096)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for writer in list(streams):
        writer.close()
    await asyncio.sleep(0.2)  # the viewers' tasks end with their connections
    await connection.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), [Path(f).read_bytes() for f in sys.argv[4:]]))
