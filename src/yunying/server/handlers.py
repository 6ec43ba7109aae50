"""Every error is ``{ok: false, error, code, status}`` — never an HTML page or a bare 500."""
from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import SpecError, Text, YunyingError, problems, text_of
from ..reports.error_text import say_error
from ..reports.i18n import pick_language
from .errors import HTTPError, InternalError

log = logging.getLogger("yunying.server")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
LANG_COOKIE = "yy_lang"  # the dashboard remembers its language in this cookie (server/dashboard.py)


def error_response(exc: YunyingError, request: Request | None = None) -> JSONResponse:
    """The one JSON shape; ``error`` in the language of the request (``?lang=``, the dashboard's cookie, else
    ``Accept-Language``; English without any), plus the catalogue ``key`` of the message when it has one."""
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    body = exc.to_dict()
    if request is not None:
        lang = request_lang(request)
        body["error"], body["lang"] = say_error(exc, lang), lang
        if lang != "en":
            body["error_en"] = exc.message  # for clients that read the English sentence
    text = text_of(exc)
    if text is not None:
        body["key"] = text.key
    return JSONResponse(body, status_code=exc.status, headers=headers)


def request_lang(request: Request) -> str:
    """The language a request asks for: ``?lang=``, else the dashboard's cookie, else ``Accept-Language``."""
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         request.headers.get("accept-language"))


def internal_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    """Log an unexpected failure once, in one line (the traceback only at DEBUG level), and answer 500."""
    origin = _origin(exc)
    log.error("internal error on %s %s: %s: %.200s%s", method, path, type(exc).__name__, exc,
              f" (at {origin})" if origin else "")
    log.debug("traceback of the internal error on %s %s", method, path, exc_info=exc)
    return error_response(InternalError(key="handlers.internal_error_server_log", __name__=type(exc).__name__))


def _origin(exc: BaseException) -> str | None:
    """The innermost yunying frame of a traceback, as ``module.py:line``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/yunying/" in f.filename]
    if not frames:
        return None
    frame = frames[-1]
    return f"{frame.filename.rsplit('/yunying/', 1)[1]}:{frame.lineno}"


def _validation_error(exc: RequestValidationError) -> SpecError:
    errors = exc.errors()
    if errors and tuple(errors[0].get("loc", ())) == ("body",) and errors[0].get("type") in (
            "model_attributes_type", "dict_type", "json_invalid", "missing"):
        return SpecError(key="handlers.body_must_be_json_object")
    located = [{**err, "loc": tuple(p for p in err.get("loc", ()) if p != "body")} for err in errors]
    return SpecError(key="handlers.invalid_request", problems=problems(located))


def install_error_handlers(app: FastAPI) -> None:
    """Errors raised on purpose and FastAPI's own; anything else is caught by :class:`.middleware.Guard`."""

    @app.exception_handler(YunyingError)
    async def _yunying(request: Request, exc: YunyingError):
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(_validation_error(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = str(exc.detail)
        if exc.status_code == 404:
            message = Text("handlers.no_such_endpoint", method=request.method, path=request.url.path)
        return error_response(HTTPError(message, exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error")),
                              request)
