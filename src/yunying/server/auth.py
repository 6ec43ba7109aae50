"""Who may do what: write keys send events, read tokens query, this machine's admin token does both.

A key is looked up in the key store of each served project (:mod:`.keys`); a key of one
project is unknown to every other. The dashboard keeps a read token in an HTTP-only
cookie; the command line on this machine uses the admin token of ``server.json``.
"""
from __future__ import annotations

import base64
import hmac
from typing import Mapping

from starlette.requests import HTTPConnection

from .errors import InvalidKey, MissingKey, NotFound, WrongKeyKind

TOKEN_COOKIE = "yy_token"
PROJECT_HEADER = "x-yunying-project"
_WRONG_KIND = {"write": "auth.wrong_kind_write", "read": "auth.wrong_kind_read"}  # keys of labels/errors.json


def bearer_token(request: HTTPConnection) -> str | None:
    """``Authorization: Bearer KEY``, or the user of HTTP Basic (Segment sends its write key so)."""
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, credentials = auth.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return credentials.strip() or None
    if scheme == "basic":
        try:
            return base64.b64decode(credentials.strip()).decode("utf-8").split(":", 1)[0] or None
        except (ValueError, UnicodeDecodeError):
            return None
    return None


class Access:
    """Checks keys against the projects one server serves."""

    def __init__(self, projects: Mapping[str, object], admin_token: str):
        self.projects = projects
        self.admin_token = admin_token

    def is_admin(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token.encode("utf-8", "replace"),
                                                   self.admin_token.encode())

    def writer(self, secret: str | None):
        """The project a write key belongs to."""
        if not secret:
            raise MissingKey(key="auth.no_api_key_send")
        return self._project_of(secret, "write", "unknown or revoked API key")

    def reader(self, request: HTTPConnection):
        """The project a read token (header, cookie) or this machine's admin token gives access to."""
        return self.reader_of(bearer_token(request) or request.cookies.get(TOKEN_COOKIE), request)

    def reader_of(self, token: str | None, request: HTTPConnection):
        if not token:
            raise MissingKey(key="auth.no_read_token_send")
        if self.is_admin(token):
            return self.named_project(request.headers.get(PROJECT_HEADER) or request.query_params.get("project"))
        return self._project_of(token, "read", "unknown or revoked token")

    def _project_of(self, secret: str, kind: str, unknown: str):
        for project in self.projects.values():
            info = project.keys.check(secret)
            if info is not None:
                if info.kind != kind:
                    raise WrongKeyKind(key=_WRONG_KIND[kind])
                return project
        raise InvalidKey(key="auth.yunying_keys_list_shows", unknown=unknown)

    def importer(self, request: HTTPConnection):
        """Imports write: they need this machine's admin token (server.json) or a write key of the project."""
        token = bearer_token(request)
        if self.is_admin(token):
            return self.named_project(request.headers.get(PROJECT_HEADER))
        return self.writer(token)

    def named_project(self, name: str | None):
        if name is None:
            if len(self.projects) == 1:
                return next(iter(self.projects.values()))
            raise NotFound(key="auth.this_server_has_several", self_=', '.join(self.projects), PROJECT_HEADER=PROJECT_HEADER)
        try:
            return self.projects[name]
        except KeyError:
            raise NotFound(key="auth.no_project_projects", name=name, self_=', '.join(self.projects)) from None
