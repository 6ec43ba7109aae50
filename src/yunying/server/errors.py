"""Errors the server answers with. All are :class:`~yunying.errors.YunyingError`, so every
response has the one JSON shape ``{ok: false, error, code, status}`` (plus ``details``).

Each class names its HTTP status and ``code`` in its header: ``class X(ApiError, status=…, code=…)``.
"""
from __future__ import annotations

from ..errors import YunyingError


class ApiError(YunyingError):
    def __init_subclass__(cls, status: int = 400, code: str = "error", **kwargs):
        super().__init_subclass__(**kwargs)
        cls.status, cls.code = status, code


class MissingKey(ApiError, PermissionError, status=401, code="missing_api_key"):
    """No key or token was sent."""


class InvalidKey(ApiError, PermissionError, status=401, code="invalid_api_key"):
    """An unknown or revoked key."""


class WrongKeyKind(ApiError, PermissionError, status=403, code="wrong_key_kind"):
    """A write key used to read, or a read token used to write."""


class NotFound(ApiError, LookupError, status=404, code="not_found"):
    """No such project, saved item, analysis or file."""


class InvalidPayload(ApiError, ValueError, code="invalid_payload"):
    """The request as a whole is unusable (not JSON, wrong shape); nothing was stored."""


class InvalidEvents(ApiError, ValueError, code="invalid_events"):
    """Some events of a batch were rejected; the others were stored (see ``details``)."""


class PayloadTooLarge(ApiError, ValueError, status=413, code="payload_too_large"):
    """A body over its limit (``max_body_bytes``, ``max_request_bytes``, imports: 4 GiB)."""


class UnsupportedEncoding(ApiError, ValueError, status=415, code="unsupported_encoding"):
    """A Content-Encoding or compression other than gzip."""


class Unavailable(ApiError, RuntimeError, status=503, code="unavailable"):
    """Temporarily unable to store: clients should retry (SDKs do on 5xx)."""


class ServerRunning(ApiError, RuntimeError, status=409, code="server_running"):
    """A second server on a workspace that one already serves."""


class RequestTimeout(ApiError, TimeoutError, status=408, code="request_timeout"):
    """The client stopped sending the request body (``read_timeout``)."""


class InternalError(ApiError, RuntimeError, status=500, code="internal_error"):
    """An unexpected failure (logged once, in one line)."""


class HTTPError(ApiError):
    """Starlette's own errors (404 for an unknown path, 405 …), in the one JSON shape."""

    def __init__(self, message: str, status: int, code: str):
        super().__init__(message)
        self.status, self.code = status, code
