"""Errors the server answers with. All are :class:`~yunying.errors.YunyingError`, so every
response has the one JSON shape ``{ok: false, error, code, status}`` (plus ``details``)."""
from __future__ import annotations

from ..errors import YunyingError


class MissingKey(YunyingError, PermissionError):
    status = 401
    code = "missing_api_key"


class InvalidKey(YunyingError, PermissionError):
    status = 401
    code = "invalid_api_key"


class WrongKeyKind(YunyingError, PermissionError):
    """A write key used to read, or a read token used to write."""

    status = 403
    code = "wrong_key_kind"


class NotFound(YunyingError, LookupError):
    status = 404
    code = "not_found"


class InvalidPayload(YunyingError, ValueError):
    """The request as a whole is unusable (not JSON, wrong shape); nothing was stored."""

    code = "invalid_payload"


class InvalidEvents(YunyingError, ValueError):
    """Some events of a batch were rejected; the others were stored (see ``details``)."""

    code = "invalid_events"


class PayloadTooLarge(YunyingError, ValueError):
    status = 413
    code = "payload_too_large"


class UnsupportedEncoding(YunyingError, ValueError):
    status = 415
    code = "unsupported_encoding"


class Unavailable(YunyingError, RuntimeError):
    """Temporarily unable to store: clients should retry (SDKs do on 5xx)."""

    status = 503
    code = "unavailable"


class ServerRunning(YunyingError, RuntimeError):
    status = 409
    code = "server_running"


class RequestTimeout(YunyingError, TimeoutError):
    """The client stopped sending the request body (``read_timeout``)."""

    status = 408
    code = "request_timeout"


class InternalError(YunyingError, RuntimeError):
    status = 500
    code = "internal_error"


class HTTPError(YunyingError):
    """Starlette's own errors (404 for an unknown path, 405 …), in the one JSON shape."""

    def __init__(self, message: str, status: int, code: str):
        super().__init__(message)
        self.status, self.code = status, code
