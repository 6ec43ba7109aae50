"""The one label catalogue, in English, 简体中文 and 繁體中文, for every surface.

Labels are data, edited by translators: ``reports/labels/*.json``, one file per area (core, campaigns,
content, …), each ``{"key": ["English", "简体中文", "繁體中文"]}``; keys starting with ``_`` are comments.
The files are merged at import; a key defined in two files is an error, so areas cannot overwrite
each other. The dashboard, the CLI tables and the HTML/Excel/PDF reports all read from here.

For the dashboard the language is ``?lang=`` (remembered in a cookie), else the cookie, else the best
match of the browser's ``Accept-Language`` (zh-TW/HK/MO and zh-Hant → 繁體; other zh → 简体), else
English. A label missing in a language falls back to English, and an unknown key to the key itself.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

LANGS = ("en", "zh-Hans", "zh-Hant")
LANG_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}

LABELS_DIR = Path(__file__).with_name("labels")


# Label files read when first asked for, not at import: help.json holds every --help text (about 100 KB), which
# only a help screen in Chinese needs (cli/help_i18n.py); demo.json the texts `yunying demo` writes into its data
# (demo/words.py). Their keys may not repeat another file's either.
ON_DEMAND = ("help.json", "demo.json")


def _load(paths=None) -> dict[str, tuple[str, str, str]]:
    table: dict[str, tuple[str, str, str]] = {}
    origin: dict[str, str] = {}
    for path in paths or sorted(p for p in LABELS_DIR.glob("*.json") if p.name not in ON_DEMAND):
        for key, values in json.loads(path.read_text(encoding="utf-8")).items():
            if key.startswith("_"):
                continue
            if key in table:
                raise RuntimeError(f"label {key!r} is defined in both {origin[key]} and {path.name}")
            if not (isinstance(values, list) and len(values) == 3 and all(isinstance(v, str) for v in values)):
                raise RuntimeError(f"label {key!r} in {path.name}: expected [English, 简体, 繁體] strings")
            table[key], origin[key] = tuple(values), path.name
    return table


@lru_cache(maxsize=None)
def on_demand(name: str) -> dict[str, tuple[str, str, str]]:
    """The labels of one of the ``ON_DEMAND`` files, read once."""
    table = _load([LABELS_DIR / name])
    clash = sorted(set(table) & set(MESSAGES))
    if clash:
        raise RuntimeError(f"labels {clash[:5]} are defined in both {name} and another labels file")
    return table


# key: (English, 简体中文, 繁體中文)
MESSAGES: dict[str, tuple[str, str, str]] = _load()


def normalize_lang(lang: str | None) -> str:
    """A language code as users type it (zh-CN, zh_TW, zh-hans, EN…) → one of LANGS; unknown → en."""
    if not lang:
        return "en"
    if lang in LANGS:
        return lang
    return _lang_of(lang.strip().lower().replace("_", "-")) or "en"


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


def label(key: str, lang: str) -> str:
    """One label in one language (English when the language lacks it, the key when nobody has it)."""
    values = MESSAGES.get(key)
    if values is None:
        return key
    col = LANGS.index(lang) if lang in LANGS else 0
    return values[col] or values[0]


def say(key: str, lang: str, **values) -> str:
    """A sentence of the catalogue in ``lang`` with its ``{name}`` placeholders filled by ``values`` (numbers
    already formatted by reports/format.py; the user's own names as they are).

    >>> say("srm.stats", "zh-Hans", chi2="0.1324", p="0.716")
    '卡方 0.1324，p = 0.716'
    """
    return label(key, lang).format(**values)


def empty(lang: str) -> str:
    """What an empty cell or a rate that cannot be computed shows: ``n/a`` in English, ``—`` in Chinese."""
    return label("na", lang)


def _compile(en: str) -> re.Pattern:
    """An English phrase as a pattern: whole words, any case; ``{1}``, ``{2}`` stand for a name or number — or,
    between parentheses, for a list of them (``({1})`` matches ``(CNY, USD)``)."""
    body = re.sub(r"\\\(\\\{(\d)\\\}\\\)", lambda m: f"\\((?P<g{m.group(1)}>[^()（）]+?)\\)", re.escape(en))
    body = re.sub(r"\\\{(\d)\\\}", lambda m: f"(?P<g{m.group(1)}>[^\\s,()（）]+?)", body)
    return re.compile(r"(?<![\w$])" + body + r"(?![\w])", re.IGNORECASE)


@lru_cache(maxsize=8)
def _phrases(lang: str) -> tuple[tuple[re.Pattern, str], ...]:
    pairs = [(values[0], label(key, lang)) for key, values in MESSAGES.items() if key.startswith("phrase.")]
    pairs.sort(key=lambda p: -len(re.sub(r"\{\d\}", "", p[0])))  # the longest literal text first
    return tuple((_compile(en), tr) for en, tr in pairs)


@lru_cache(maxsize=1)
def _openings() -> tuple[re.Pattern, ...]:
    """The catalogue's English phrases that start with a word of ours (not with a user's {name})."""
    return tuple(_compile(values[0]) for key, values in MESSAGES.items()
                 if key.startswith("phrase.") and values[0][:1].isalpha())


def sentence_case(text: str) -> str:
    """An English chart or legend title that opens with one of the catalogue's phrases, in sentence case
    ("Win-back list", "Cost per registration (CNY)"); a text opening with the user's own name stays as it is.

    >>> sentence_case("win-back list"), sentence_case("cost per registration (CNY)"), sentence_case("search")
    ('Win-back list', 'Cost per registration (CNY)', 'search')
    """
    if not isinstance(text, str) or not text[:1].islower():
        return text
    return text[0].upper() + text[1:] if any(p.match(text) for p in _openings()) else text


def _fill(template: str, match: re.Match, lang: str) -> str:
    def one(m):  # a placeholder holds the user's name, or one of yunying's own words (quantile, week …)
        value = match.group(f"g{m.group(1)}") or ""
        return label(value, lang) if value in MESSAGES else value

    return re.sub(r"\{(\d)\}", one, template)


def phrase(text: str, lang: str) -> str:
    """A chart text in ``lang``: catalogue phrases replaced, ``$any`` named, the user's names kept.

    >>> phrase("weekly retention: first-time signup → $any", "zh-Hans")
    '周留存：首次 signup → 任意事件'
    >>> phrase("days active per week ($any)", "zh-Hans")
    '每周活跃天数（任意事件）'
    """
    if not isinstance(text, str) or not text:
        return text
    text = text.replace("$any", label("any_event", lang))
    if lang == "en":
        return text
    for pattern, tr in _phrases(lang):
        text = pattern.sub(lambda m, tr=tr: _fill(tr, m, lang), text)
    text = _full_width_brackets(text)
    text = re.sub(r"\s*([：（），；])\s*", r"\1", text.replace(": ", "："))
    return re.sub(r"\s{2,}", " ", text).strip()


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _full_width_brackets(text: str) -> str:
    """Brackets next to Chinese (before them or inside) are full-width, and a comma inside them too: the
    chart and table titles that join a phrase and a label (``付费用户成本 (CNY, 对数刻度)``); the user's own
    ``click(banner)`` stays.

    >>> _full_width_brackets("付费用户成本 (CNY, 对数刻度)"), _full_width_brackets("click(banner) 次数")
    ('付费用户成本（CNY，对数刻度）', 'click(banner) 次数')
    """
    def sub(m):
        before = text[:m.start()].rstrip()[-1:]
        if _CJK.search(m.group(1)) or _CJK.match(before):
            return "（" + re.sub(r",\s*", "，", m.group(1)) + "）"
        return m.group(0)

    return re.sub(r"\s*\(([^()]*)\)", sub, text)
