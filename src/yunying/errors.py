"""One root error class for everything yunying raises on purpose.

Subclasses also inherit the builtin they resemble, so callers that catch
``ValueError`` or ``FileNotFoundError`` keep working. The CLI turns any
``YunyingError`` into a one-line message (traceback only with ``--debug``);
the server turns it into a JSON error with ``status``.
"""
from __future__ import annotations


class YunyingError(Exception):
    """Root of all errors raised deliberately by yunying."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict:
        out = {"ok": False, "error": self.message, "code": self.code, "status": self.status}
        if self.details:
            out["details"] = self.details
        return out


class ConfigError(YunyingError, ValueError):
    code = "config_error"


class WorkspaceNotFound(YunyingError, FileNotFoundError):
    status = 404
    code = "workspace_not_found"


class InputFileError(YunyingError, ValueError):
    """A user file could not be read or does not match what was expected."""

    code = "input_file_error"


class ValidationError(YunyingError, ValueError):
    """Rows of an input failed validation; ``details`` carries the row numbers."""

    code = "validation_error"


class ModelFitError(ValidationError):
    """A model fitted to the data gives no usable prediction (the data do not pin it down)."""


class SpecError(YunyingError, ValueError):
    """An analysis spec is invalid."""

    code = "spec_error"


class EngineError(YunyingError, RuntimeError):
    status = 500
    code = "engine_error"


class UnsupportedOperation(YunyingError, NotImplementedError):
    code = "unsupported"


class QueryTimeout(YunyingError, TimeoutError):
    status = 408
    code = "query_timeout"
