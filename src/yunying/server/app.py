"""The web application: capture endpoints, the query API and the dashboard in one FastAPI app.

``create_app(["ws1", "ws2"])`` serves those workspaces (one project each); the
lifespan opens them (taking their databases over, replaying the capture log)
and on shutdown stores everything accepted and puts each database back.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI

from .. import __version__
from ..errors import YunyingError
from . import api, apidocs, campaigns_page, capture, dashboard, segments_api, view
from .auth import Access
from .handlers import install_error_handlers
from .middleware import CaptureCORS, Guard
from .project import Project
from .settings import ServerSettings

log = logging.getLogger("yunying.server")


class Server(Access):
    """The projects this process serves, who may do what with them (:class:`.auth.Access`), and the
    threads that decode capture requests."""

    def __init__(self, workspaces: list[str | Path], settings: ServerSettings | None = None,
                 admin_token: str | None = None):
        self.settings = settings or ServerSettings()
        projects: dict[str, Project] = {}
        for path in workspaces:
            project = Project(path, self.settings)
            if project.name in projects:
                raise YunyingError(key="app.two_workspaces_are_both", name=project.name)
            projects[project.name] = project
        if not projects:
            raise YunyingError(key="app.no_workspace_serve")
        # A token for this machine's own command line (written to server.json, mode 0600).
        super().__init__(projects, admin_token or secrets.token_urlsafe(32))
        self.capture_pool: ThreadPoolExecutor | None = None
        self.started = False
        self._info_files: list[Path] = []

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
        self.capture_pool = ThreadPoolExecutor(self.settings.capture_workers, thread_name_prefix="capture")
        self.started = True

    def write_info(self, host: str, port: int, url: str) -> None:
        """``server.json`` (mode 0600) in each workspace: where this server listens, and the admin token
        for this machine's command line. :meth:`stop` removes it, whatever stops the server (SIGTERM too)."""
        info = {"pid": os.getpid(), "host": host, "port": port, "url": url, "version": __version__,
                "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "projects": list(self.projects), "admin_token": self.admin_token}
        for project in self.projects.values():
            path = project.paths.server_json
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({**info, "project": project.name}, out, indent=2)
            os.replace(tmp, path)
            self._info_files.append(path)

    def remove_info(self) -> None:
        while self._info_files:
            self._info_files.pop().unlink(missing_ok=True)

    def stop(self) -> None:
        self.remove_info()
        errors = []
        if self.capture_pool is not None:
            self.capture_pool.shutdown(wait=True)
            self.capture_pool = None
        for project in self.projects.values():
            try:
                project.stop()
            except Exception as exc:  # noqa: BLE001 - stop the others anyway
                log.exception("stopping %s failed", project.name)
                errors.append(exc)
        self.started = False
        if errors:
            raise errors[0]


def create_app(workspaces: list[str | Path] | Server, settings: ServerSettings | None = None) -> FastAPI:
    """The ASGI app serving ``workspaces`` (or an existing :class:`Server`)."""
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
        docs_url=None,  # apidocs serves /api/docs with a local Swagger UI
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.server = server
    install_error_handlers(app)
    capture.register(app)
    api.register(app)
    segments_api.register(app)
    view.register(app)
    dashboard.register(app)
    campaigns_page.register(app)
    apidocs.register(app)
    app.add_middleware(CaptureCORS, paths=capture.CAPTURE_PATHS)
    app.add_middleware(Guard, server=server)
    return app
