"""ASGI wrappers around the app: what must happen before an endpoint reads a body, and the headers
every answer carries.

:class:`Guard` (outermost)
  * adds the security headers (Content-Security-Policy, X-Frame-Options …) to every answer;
  * answers 408 when a client stops sending a request body for ``read_timeout`` seconds;
  * on the query API and saved analyses, checks the read token *before* reading the body, then reads
    at most ``max_request_bytes`` (413 beyond) and refuses a body that is not UTF-8 or holds a lone
    surrogate (400) — FastAPI would otherwise read and parse any body first;
  * answers an unexpected exception with the JSON 500, logged once in one line.
:class:`CaptureCORS`
  CORS on the capture paths only, so browser SDKs can send events from any site.
"""
from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from ..errors import YunyingError
from .errors import RequestTimeout
from .handlers import error_response, internal_error
from .ingest import check_api_body, read_body

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # a /?token= address never leaks through a Referer
]
# Paths under /api/ that do not take a read token (or check their own key before reading a body).
_UNGUARDED = ("/api/health", "/api/import/", "/api/docs")


def guarded(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith(_UNGUARDED)


async def body_chunks(receive):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def timed_receive(receive, timeout: float):
    """``receive`` that raises :class:`RequestTimeout` when the body stalls for ``timeout`` seconds."""
    done = False

    async def receive_in_time():
        nonlocal done
        if done:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except asyncio.TimeoutError:
            raise RequestTimeout(key="middleware.no_part_request_body", timeout=timeout) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            done = True
        return message

    return receive_in_time


def replay(body: bytes, receive):
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class Guard:
    def __init__(self, app, server):
        self.app = app
        self.server = server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_secured(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        receive = timed_receive(receive, self.server.settings.read_timeout)
        try:
            if guarded(scope["path"]):
                receive = await self._checked(scope, receive)
            await self.app(scope, receive, send_secured)
        except YunyingError as exc:  # raised here, or by the app outside an endpoint
            if not started:
                await error_response(exc, Request(scope))(scope, receive, send_secured)
        except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes a JSON 500
            response = internal_error(scope["method"], scope["path"], exc)
            if not started:
                await response(scope, receive, send_secured)

    async def _checked(self, scope, receive):
        """Token first, then the body within its limit; the app gets the body replayed."""
        request = Request(scope)
        self.server.reader(request)
        settings = self.server.settings
        body = await read_body(body_chunks(receive), settings.max_request_bytes,
                               request.headers.get("content-length"), "max_request_bytes")
        if body:
            check_api_body(body)
        return replay(body, receive)


class CaptureCORS:
    """Browsers may send events from any site (posthog-js): CORS on the capture paths only."""

    def __init__(self, app, paths: set[str]):
        self.app = app
        self.paths = paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        cors = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"POST, OPTIONS"),
                (b"access-control-allow-headers", b"content-type, content-encoding, authorization"),
                (b"access-control-max-age", b"86400")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": cors})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, send_with_cors)
