"""Every help text the CLI shows has its entry in reports/labels/help.json in English, 简体 and 繁體, and the
catalogue's English is the code's text, so a changed option cannot keep a stale translation (and an entry no
command uses any more is reported too)."""
from __future__ import annotations

import json
import re
from functools import lru_cache

import pytest

from help_tree import shown_params, walk
from yunying.cli.help_i18n import RICH_WORDS, key_for
from yunying.reports.i18n import LABELS_DIR, MESSAGES, on_demand

CATALOGUE = json.loads((LABELS_DIR / "help.json").read_text(encoding="utf-8"))
HELP = on_demand("help.json")


def resolve(keys: list[str], english: str | None):
    """The key a help screen uses: the first whose English is the code's text (any, when the code has none)."""
    return next((k for k in keys if k in HELP and (not english or HELP[k][0] == english)), None)


def used_keys() -> tuple[set[str], list[str]]:
    used, problems = set(), []
    for path, cmd, ctx in walk():
        items = [(key_for(path), cmd.help)] + [(key_for(path, p), getattr(p, "help", None)) for p in shown_params(cmd, ctx)]
        for keys, english in items:
            key = resolve(keys, english)
            if key is None:
                problems.append((keys[0], english or "(no help in the code)"))
            used.add(key)
        for p in shown_params(cmd, ctx):
            shown = p.display_type_rich(ctx)
            used.add(f"help.type.{shown[1:-1]}")
            if p.param_type_name == "argument":
                used.add(f"help.arg.{p.name}")
    return used, problems


def test_every_command_and_option_is_in_the_catalogue_as_the_code_says_it():
    used, problems = used_keys()
    todo = "\n".join(f'{json.dumps(k, ensure_ascii=False)}: [{json.dumps(en, ensure_ascii=False)}, "简体", "繁體"],'
                     for k, en in problems)
    assert len(used) > 350 and not problems, f"help.json lacks (or has another English for) these:\n{todo}"
    missing = sorted(k for k in used if k not in HELP)  # type and argument names
    assert not missing, missing
    ui = {f"help.ui.{w}" for w in ("usage", "options_metavar", "subcommand_metavar")} | set(RICH_WORDS.values())
    assert ui <= set(CATALOGUE)
    unused = sorted(k for k in CATALOGUE if not k.startswith("_") and k not in used | ui)
    assert not unused, f"help.json entries no command uses any more: {unused}"


# Characters OpenCC maps to an old variant or another word's character, yet standard in Taiwan and Hong Kong
# (群 not 羣, 台 as well as 臺, 漏斗 not 漏鬥, 若干 not 若幹).
ALSO_TRADITIONAL = set("群台斗干")


# (the rule of tests/report/test_untranslated.py for the other labels: full-width （），；： next to Chinese text)
PUNCTUATION = re.compile(r"[\u4e00-\u9fff）][ ]?[(,;:]|[(,;:][ ]?[\u4e00-\u9fff（]")


@lru_cache(maxsize=1)
def converters():
    import opencc

    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def wrong_script(text: str, lang: str) -> list[str]:
    """Characters of the other script in ``text``, by OpenCC (an independent converter): 简体 holds nothing that
    OpenCC would simplify; 繁體 holds no simplified-only character (one OpenCC changes to 繁體 but never back)."""
    t2s, s2t = converters()
    if lang == "zh-Hans":
        return sorted({a for a, b in zip(text, t2s.convert(text)) if a != b})
    chinese = {c for c in text if "\u4e00" <= c <= "\u9fff"} - ALSO_TRADITIONAL
    return sorted(c for c in chinese if s2t.convert(c) != c and t2s.convert(c) == c)


def test_every_entry_is_translated_in_both_scripts():
    bad = []
    for key, (en, hans, hant) in ((k, v) for k, v in CATALOGUE.items() if not k.startswith("_")):
        if not (en and hans and hant) or en in (hans, hant):
            bad.append((key, "empty or still English"))
        if any(PUNCTUATION.search(t) for t in (hans, hant)):
            bad.append((key, "ASCII punctuation next to Chinese text"))
        if wrong := wrong_script(hans, "zh-Hans"):
            bad.append((key, f"繁體 characters in 简体: {wrong}"))
        if wrong := wrong_script(hant, "zh-Hant"):
            bad.append((key, f"简体 characters in 繁體: {wrong}"))
    assert not bad, bad


def test_the_script_check_catches_the_other_script():
    assert wrong_script("显示本帮助并退出。", "zh-Hans") == [] and wrong_script("顯示本說明並結束。", "zh-Hant") == []
    assert wrong_script("显示本說明并退出", "zh-Hans") == ["說"]
    assert wrong_script("漏斗分群，路径佔比", "zh-Hant") == ["径"]


def test_help_is_read_on_demand_and_its_keys_are_its_own(monkeypatch):
    """help.json is no part of what every command loads at start, and cannot redefine another file's label."""
    assert len(HELP) == len(CATALOGUE) - 1 and not set(HELP) & set(MESSAGES)
    monkeypatch.setitem(MESSAGES, "help.funnel", ("x", "x", "x"))
    on_demand.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="help.funnel"):
            on_demand("help.json")
    finally:
        on_demand.cache_clear()


def test_the_shared_entries_really_are_shared():
    """``help.*.NAME`` stands for an option several commands declare with the same text: one translation, not 40."""
    from collections import Counter

    uses = Counter()
    for path, cmd, ctx in walk():
        for p in shown_params(cmd, ctx):
            key = resolve(key_for(path, p), getattr(p, "help", None))
            uses[key] += 1
    shared = {k: n for k, n in uses.items() if k and k.startswith("help.*.")}
    assert shared["help.*.workspace"] > 30 and shared["help.*.help"] == len(walk())
    assert all(n >= 2 for n in shared.values()), shared
