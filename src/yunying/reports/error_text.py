"""Errors said in the user's language, from the one catalogue (``reports/labels/errors.json``).

An error raised on purpose carries a catalogue key and its parameters (``yunying.errors.Text``); its ``str()``
is the English sentence. The CLI (``--lang``, else the workspace's ``lang``) and the server (``?lang=``, the
dashboard's cookie, else ``Accept-Language``) call :func:`say_error` to say it in ``en``, ``zh-Hans`` or
``zh-Hant``. The parameters — the file, row, field, the value found — are the user's own and stay as they are;
a parameter that is itself a sentence of the catalogue (or an error) is said in the same language.
"""
from __future__ import annotations

from ..errors import Either, Lines, Text, fill, text_of
from .i18n import MESSAGES, label


def say_text(text: Text, lang: str) -> str:
    """One catalogue sentence in ``lang`` (English where the catalogue lacks the key)."""
    if text.key not in MESSAGES:
        return str(text)
    return fill(label(text.key, lang), text.params, lambda value: _say(value, lang))


def _say(value, lang: str) -> str:
    if isinstance(value, Text):
        return say_text(value, lang)
    if isinstance(value, Lines):
        return "\n".join(_say(v, lang) for v in value)
    if isinstance(value, Either):
        return label("errors.or", lang).join(_say(v, lang) for v in value)
    if isinstance(value, (list, tuple)):
        return label("sep.errors", lang).join(_say(v, lang) for v in value)
    if isinstance(value, BaseException):
        return say_error(value, lang)
    return str(value)


def say_error(exc: BaseException, lang: str) -> str:
    """An exception's message in ``lang``: its catalogue sentence when it carries one, else its own text."""
    text = text_of(exc)
    if text is not None:
        return say_text(text, lang)
    return getattr(exc, "message", None) or str(exc)
