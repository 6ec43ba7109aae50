"""Dashboard labels in English, 简体中文 and 繁體中文.

The language is ``?lang=`` (remembered in a cookie), else the cookie, else the
best match of the browser's ``Accept-Language`` (zh-TW/HK/MO and zh-Hant →
繁體; other zh → 简体), else English. A label missing in a language falls back to
English, and an unknown key (a spec field added later) to the key itself.
"""
from __future__ import annotations

import json
from pathlib import Path

LANGS = ("en", "zh-Hans", "zh-Hant")
LANG_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}
COOKIE = "yy_lang"

# key: (English, 简体中文, 繁體中文), from labels.json (data, edited by translators, not code)
_TABLE = json.loads((Path(__file__).with_name("labels.json")).read_text(encoding="utf-8"))
MESSAGES: dict[str, tuple[str, str, str]] = {key: tuple(values) for key, values in _TABLE.items()
                                             if not key.startswith("_")}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGS:
            return choice
    best, best_q = "en", 0.0
    for i, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= i * 1e-6  # earlier wins ties
        lang = _lang_of(tag)
        if lang and q > best_q:
            best, best_q = lang, q
    return best


def _lang_of(tag: str) -> str | None:
    if tag.startswith("zh"):
        if any(x in tag for x in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    if tag.startswith("en"):
        return "en"
    return None


def messages(lang: str) -> dict[str, str]:
    col = LANGS.index(lang) if lang in LANGS else 0
    return {key: values[col] or values[0] for key, values in MESSAGES.items()}
