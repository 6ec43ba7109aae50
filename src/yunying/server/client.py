"""Talking to a running server from this machine (the CLI, scripts, tests) — standard library only.

>>> info = running_server("my-workspace")              # doctest: +SKIP
>>> ServerClient(info).query("trends", {"active": True, "measure": "users"})["series"][:1]  # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..errors import YunyingError
from .layout import WorkspacePaths
from .live import read_server_json, server_lock_held


def running_server(workspace: str | Path) -> dict | None:
    """``server.json`` of the server that owns this workspace, or None when no server runs."""
    paths = WorkspacePaths(Path(workspace).resolve())
    if not server_lock_held(paths):
        return None
    return read_server_json(paths)


def dashboard_link(url: str, token: str) -> str:
    """The address that signs a browser in with ``token`` (it moves into a cookie at once)."""
    return f"{url.rstrip('/')}/?token={urllib.parse.quote(token)}"


class ServerError(YunyingError):
    """An error answer of the server, with its status and code."""

    def __init__(self, data: dict):
        super().__init__(data.get("error", "server error"), details=data.get("details"))
        self.status = data.get("status", 500)
        self.code = data.get("code", "error")


class ServerClient:
    def __init__(self, info: dict, token: str | None = None, timeout: float = 60.0):
        self.url = info["url"].rstrip("/")
        self.token = token or info.get("admin_token")
        self.project = info.get("project")
        self.timeout = timeout

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        if self.project:
            headers["X-Yunying-Project"] = self.project
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                data = json.loads(exc.read())
            except ValueError:
                data = {"error": f"HTTP {exc.code}", "status": exc.code}
            raise ServerError(data) from None

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def post(self, path: str, data) -> dict:
        return self.request("POST", path, json.dumps(data).encode())

    def status(self) -> dict:
        return self.get("/api/status")

    def query(self, kind: str, spec: dict, timeout: float | None = None) -> dict:
        suffix = f"?timeout={timeout}" if timeout else ""
        return self.post(f"/api/query/{kind}{suffix}", spec)

    def import_files(self, kind: str, paths: list[str | Path], mapping: dict | None = None,
                     once: bool = False, read=None) -> dict:
        """``yunying import KIND FILE…`` through the server that owns the workspace: all files in one request
        and one transaction (all or nothing); reports and errors name the paths as given here. ``read``: a
        ``ReadOptions`` (sheet, encoding, delimiter, event)."""
        query = ([("filename", str(p)) for p in paths] + [("size", str(os.path.getsize(p))) for p in paths]
                 + [("map", f"{k}={v}") for k, v in (mapping or {}).items()] + ([("once", "true")] if once else [])
                 + [(k, v) for k, v in (read.__dict__ if read else {}).items() if v is not None])
        body = b"".join(Path(p).read_bytes() for p in paths)
        return self.request("POST", f"/api/import/{kind}?{urllib.parse.urlencode(query)}", body,
                            "application/octet-stream")

    def import_file(self, kind: str, path: str | Path, mapping: dict | None = None) -> dict:
        """One file: :meth:`import_files` with one path."""
        return self.import_files(kind, [path], mapping)

    def wait_published(self, timeout: float = 30.0) -> dict:
        """Wait until everything captured so far is in the snapshot other processes read."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st["published_seq"] >= st["captured_seq"]:
                return st
            if time.monotonic() > deadline:
                raise YunyingError(key="client.events_published_after_s", timeout=timeout, st=st)
            time.sleep(0.2)


async def asgi_get(app, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One GET request to an ASGI app, without a network or an HTTP client library."""
    parsed = urllib.parse.urlsplit(path)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": parsed.path or "/", "raw_path": (parsed.path or "/").encode(),
             "query_string": parsed.query.encode(), "root_path": "", "server": ("yunying", 80),
             "client": ("127.0.0.1", 0),
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "yunying", **headers}.items()]}
    status, chunks = 500, []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
