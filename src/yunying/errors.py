"""One root error class for everything yunying raises on purpose.

Subclasses also inherit the builtin they resemble, so callers that catch
``ValueError`` or ``FileNotFoundError`` keep working. The CLI turns any
``YunyingError`` into a one-line message (traceback only with ``--debug``);
the server turns it into a JSON error with ``status``.

Messages are keys of the one label catalogue (``reports/labels/errors.json``: ``{"key": ["English", "简体",
"繁體"]}``) with their parameters — the file, row, field, what was expected and what was found::

    raise SpecError(key="date.expected", flag="--from", got=text)

``str(exc)`` and ``exc.message`` are the English sentence (logs, the Python API, tests); the CLI and the
server say it in the user's language (``reports/error_text.py``). A parameter may itself be a :class:`Text`
or an error: it is said in the same language. This module is the bottom layer: it reads the catalogue's
data file, never the reports package.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CATALOGUE = Path(__file__).with_name("reports") / "labels" / "errors.json"


@lru_cache(maxsize=1)
def _english() -> dict[str, str]:
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {k: v[0] for k, v in data.items() if not k.startswith("_")}


def english(key: str) -> str:
    """The English template of an error key (the key itself when the catalogue lacks it)."""
    return _english().get(key, key)


class Text:
    """A sentence of the catalogue: its key and parameters. ``str()`` is English; ``reports/error_text.py``
    says it in another language. Lower layers hand it to the errors they raise, or to helpers that build them."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params):
        self.key, self.params = key, params

    def __str__(self) -> str:
        return fill(english(self.key), self.params, _say_english)

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {self.params!r})"


class Said(str):
    """A note for people that is a catalogue sentence: the English text (so it reads, compares and serialises like
    any string: logs, JSON, tests) that keeps its :class:`Text` in ``.text`` for the CLI and server to say it in the
    reader's language (an import report's notes).

    >>> n = Said("import.note.spaces_detected")
    >>> n, n.text.key
    ('columns separated by spaces (detected)', 'import.note.spaces_detected')
    """

    text: Text

    def __new__(cls, key: str | Text, **params):
        text = key if isinstance(key, Text) else Text(key, **params)
        out = super().__new__(cls, str(text))
        out.text = text
        return out


def stored(value) -> str | None:
    """A message to keep in a database (an alert's delivery error): a :class:`Text` as JSON of its key and
    parameters, so each reader sees it in their own language later (:func:`restored`); plain text as it is."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps({"key": value.key, "params": _stored_params(value.params)}, ensure_ascii=False)


def _stored_params(value):
    if isinstance(value, Text):
        return {"$text": {"key": value.key, "params": _stored_params(value.params)}}
    if isinstance(value, dict):
        return {k: _stored_params(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stored_params(v) for v in value]
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


def restored(value: str | None):
    """What :func:`stored` kept: a :class:`Text` again, or the plain text of a row written before (or a message
    that is not one of the catalogue's): old rows stay readable.

    >>> str(restored(stored(Text("alerts.run.channel_gone", channel="ops"))))
    "channel 'ops' is no longer defined in yunying.toml"
    >>> restored("HTTP 500 Internal Server Error")
    'HTTP 500 Internal Server Error'
    """
    if not isinstance(value, str) or not value.startswith('{"key"'):
        return value
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not isinstance(data.get("params"), dict):
        return value
    return Text(data["key"], **_restored_params(data["params"]))


def _restored_params(value):
    if isinstance(value, dict):
        if set(value) == {"$text"} and isinstance(value["$text"], dict):
            return Text(value["$text"].get("key", ""), **_restored_params(value["$text"].get("params") or {}))
        return {k: _restored_params(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored_params(v) for v in value]
    return value


def fill(template: str, params: dict, say) -> str:
    """``template`` with its ``{name}`` placeholders filled; nested texts and errors said by ``say``."""
    values = {k: (say(v) if isinstance(v, (Text, BaseException, list)) else v) for k, v in params.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a template and its parameters that do not match: say both
        return f"{template} {values}"


class Lines(list):
    """Parameters said one per line (the example rows of a file that failed to import)."""


class Either(list):
    """Alternatives said as "a or b" (或) — the names an error suggests."""


def did_you_mean(close: list[str], known: list[str]) -> Text:
    """The hint of an unknown name: the close names (quoted), else the known ones."""
    if close:
        return Text("hint.did_you_mean", names=Either(repr(c) for c in close))
    return Text("hint.known", names=", ".join(known))


def keys(prefix: str) -> list[str]:
    """The catalogue's error keys starting with ``prefix``."""
    return [k for k in _english() if k.startswith(prefix)]


def _say_english(value) -> str:
    if isinstance(value, Lines):
        return "\n".join(_say_english(v) for v in value)
    if isinstance(value, Either):
        return " or ".join(_say_english(v) for v in value)
    if isinstance(value, list):  # several problems, e.g. the fields of a spec that failed validation
        return "; ".join(_say_english(v) for v in value)
    return str(value)


def text_of(exc: BaseException) -> Text | None:
    """The catalogue sentence an exception carries, if any (a YunyingError's, or a ``Text`` given to a builtin)."""
    text = getattr(exc, "text", None)
    if isinstance(text, Text):
        return text
    args = getattr(exc, "args", ())
    return args[0] if len(args) == 1 and isinstance(args[0], Text) else None


class YunyingError(Exception):
    """Root of all errors raised deliberately by yunying."""

    status = 400
    code = "error"

    def __init__(self, message: str | Text | None = None, *, key: str | None = None,
                 details: dict | None = None, **params):
        if key is not None:
            message = Text(key, **params)
        self.text = message if isinstance(message, Text) else None
        self.message = str(message) if message is not None else ""
        super().__init__(self.message)
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


# pydantic's error types said from the catalogue (``pydantic.<type>``, English as pydantic words it); others keep
# pydantic's English message (``pydantic.other``).
PYDANTIC_TYPES = frozenset({
    "missing", "extra_forbidden", "int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
    "string_type", "bool_parsing", "bool_type", "greater_than", "greater_than_equal", "less_than",
    "less_than_equal", "literal_error", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact",
    "date_type", "datetime_parsing", "datetime_type", "list_type", "dict_type", "too_short", "too_long",
    "string_too_short", "string_too_long", "enum", "finite_number", "model_type", "json_invalid",
    "model_attributes_type", "multiple_of", "tuple_type", "set_type", "none_required", "string_pattern_mismatch",
})


def problem(err: dict) -> Text:
    """One of pydantic's validation errors (``exc.errors()[i]``) as a catalogue sentence, without its field: what
    was expected. A validator that raised a catalogue sentence keeps it."""
    kind, ctx = err.get("type"), dict(err.get("ctx") or {})
    cause = ctx.pop("error", None)
    if kind in ("value_error", "assertion_error") and isinstance(cause, BaseException):
        text = text_of(cause)
        if text is not None:
            return text
        return Text("pydantic.other", msg=str(cause))
    if kind in PYDANTIC_TYPES:
        got = err.get("input")
        shown = "" if isinstance(got, (dict, list)) or got is None else Text("pydantic.got", value=repr(got)[:80])
        values = {k: _ctx_value(v) for k, v in ctx.items()}
        if "expected" in values:  # "'day', 'week' or 'month'": the choices without English words
            values["choices"] = str(values["expected"]).replace(" or ", ", ")
        return Text(f"pydantic.{kind}", input=shown, **values)
    return Text("pydantic.other", msg=err.get("msg", ""))


def _ctx_value(value):
    return value if isinstance(value, (int, float, str)) else str(value)


def problems(errors: list[dict], limit: int = 3, loc=None) -> list[Text]:
    """pydantic's validation errors as sentences naming the field and what was expected (the first ``limit``);
    ``loc(err)`` writes an error's field (default: its path joined with dots)."""
    out = []
    for err in errors[:limit]:
        field = loc(err) if loc else ".".join(str(p) for p in err.get("loc", ()))
        out.append(Text("spec.field_problem", field=field, problem=problem(err)) if field else problem(err))
    return out
