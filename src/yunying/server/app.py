"""The web application: capture endpoints, the query API and the dashboard in one FastAPI app.

``create_app(["ws1", "ws2"])`` serves those workspaces (one project each); the
lifespan opens them (taking their databases over, replaying the capture log)
and on shutdown stores everything accepted and puts each database back.
"""
from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import SpecError, YunyingError
from .errors import InvalidKey, MissingKey, NotFound, WrongKeyKind
from .project import Project
from .settings import ServerSettings

log = logging.getLogger("yunying.server")
TOKEN_COOKIE = "yy_token"
PROJECT_HEADER = "x-yunying-project"


class Server:
    """The projects this process serves and who may do what with them."""

    def __init__(self, workspaces: list[str | Path], settings: ServerSettings | None = None,
                 admin_token: str | None = None):
        self.settings = settings or ServerSettings()
        self.projects: dict[str, Project] = {}
        for path in workspaces:
            project = Project(path, self.settings)
            if project.name in self.projects:
                raise YunyingError(f"two workspaces are both named {project.name!r}; a project is named after its "
                                   f"folder, so give them different folder names")
            self.projects[project.name] = project
        if not self.projects:
            raise YunyingError("no workspace to serve")
        # A token for this machine's own command line (written to server.json, mode 0600).
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self.started = False

    def start(self) -> None:
        started = []
        try:
            for project in self.projects.values():
                project.start()
                started.append(project)
        except BaseException:
            for project in started:
                project.stop()
            raise
        self.started = True

    def stop(self) -> None:
        errors = []
        for project in self.projects.values():
            try:
                project.stop()
            except Exception as exc:  # noqa: BLE001 - stop the others anyway
                log.exception("stopping %s failed", project.name)
                errors.append(exc)
        self.started = False
        if errors:
            raise errors[0]

    # -- auth -----------------------------------------------------------------------
    def writer(self, secret: str | None) -> Project:
        """The project a write key belongs to."""
        if not secret:
            raise MissingKey("no API key: send the project's write key (PostHog: api_key; Segment: writeKey or "
                             "HTTP Basic user; or the header Authorization: Bearer KEY)")
        for project in self.projects.values():
            info = project.keys.check(secret)
            if info is not None:
                if info.kind != "write":
                    raise WrongKeyKind("this is a read token: it can query but not send events; capture needs a "
                                       "write key (`yunying keys create --kind write`)")
                return project
        raise InvalidKey("unknown or revoked API key (`yunying keys list` shows the keys of a workspace)")

    def reader(self, request: Request) -> Project:
        """The project a read token (header, cookie) or this machine's admin token gives access to."""
        token = bearer_token(request) or request.cookies.get(TOKEN_COOKIE)
        if not token:
            raise MissingKey("no read token: send Authorization: Bearer TOKEN (`yunying keys create --kind read`)")
        if hmac.compare_digest(token, self.admin_token):
            return self.named_project(request.headers.get(PROJECT_HEADER) or request.query_params.get("project"))
        for project in self.projects.values():
            info = project.keys.check(token)
            if info is not None:
                if info.kind != "read":
                    raise WrongKeyKind("this is a write key: it can only send events; the query API and the "
                                       "dashboard need a read token (`yunying keys create --kind read`)")
                return project
        raise InvalidKey("unknown or revoked token (`yunying keys list` shows the keys of a workspace)")

    def named_project(self, name: str | None) -> Project:
        if name is None:
            if len(self.projects) == 1:
                return next(iter(self.projects.values()))
            raise NotFound(f"this server has several projects ({', '.join(self.projects)}); "
                           f"name one with the {PROJECT_HEADER} header")
        try:
            return self.projects[name]
        except KeyError:
            raise NotFound(f"no project {name!r} (projects: {', '.join(self.projects)})") from None


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, credentials = auth.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return credentials.strip() or None
    if scheme == "basic":  # Segment: the write key is the user name
        try:
            return base64.b64decode(credentials.strip()).decode("utf-8").split(":", 1)[0] or None
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def error_response(exc: YunyingError) -> JSONResponse:
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if errors and tuple(errors[0].get("loc", ())) == ("body",) and errors[0].get("type") in (
            "model_attributes_type", "dict_type", "json_invalid", "missing"):
        return "the request body must be a JSON object, sent with Content-Type: application/json"
    parts = []
    for err in errors[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        msg = err.get("msg", "invalid")
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Every error is ``{ok: false, error, code, status}`` — never an HTML page or a bare 500."""

    @app.exception_handler(YunyingError)
    async def _yunying(request: Request, exc: YunyingError):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(SpecError(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        err = YunyingError(str(exc.detail))
        err.status, err.code = exc.status_code, codes.get(exc.status_code, "http_error")
        if exc.status_code == 404:
            err.message = f"no such endpoint: {request.method} {request.url.path}"
        return error_response(err)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        err = YunyingError(f"internal error ({type(exc).__name__}); the server log has the details")
        err.status, err.code = 500, "internal_error"
        return error_response(err)


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


def create_app(workspaces: list[str | Path] | Server, settings: ServerSettings | None = None) -> FastAPI:
    """The ASGI app serving ``workspaces`` (or an existing :class:`Server`)."""
    from . import api, capture, dashboard

    server = workspaces if isinstance(workspaces, Server) else Server(workspaces, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if not server.started:
            server.start()
        try:
            yield
        finally:
            server.stop()

    app = FastAPI(
        title="yunying",
        version=__version__,
        summary="Event capture (PostHog- and Segment-compatible), query API and dashboard.",
        description="See docs/server.md. Errors are always JSON: `{ok: false, error, code, status}`.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.server = server
    install_error_handlers(app)
    capture.register(app)
    api.register(app)
    dashboard.register(app)
    app.add_middleware(CaptureCORS, paths=capture.CAPTURE_PATHS)
    return app
