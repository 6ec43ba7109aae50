"""Drive an ASGI app with a body we control, to see how much of it the app reads before answering."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field


@dataclass
class Probe:
    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    bytes_read: int = 0  # of the request body, by the app

    def json(self):
        return json.loads(self.body)


async def _request(app, method: str, path: str, headers: dict, chunks, query: str = "",
                   stall: float | None = None) -> Probe:
    probe = Probe()
    chunks = list(chunks) or [b""]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 1234),
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()]}

    async def receive():
        if chunks:
            chunk = chunks.pop(0)
            probe.bytes_read += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks) or stall is not None}
        if stall is not None:  # a client that stays connected and never sends the rest
            await asyncio.sleep(stall)
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            probe.status = message["status"]
            probe.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            probe.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), 60)
    return probe


def request(app, method: str, path: str, headers: dict | None = None, chunks=(), query: str = "",
            stall: float | None = None) -> Probe:
    """One request; ``chunks`` is the body as the client would send it (a list of bytes)."""
    return asyncio.run(_request(app, method, path, headers or {}, chunks, query, stall))
