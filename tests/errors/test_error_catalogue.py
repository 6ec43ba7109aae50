"""Errors speak the user's language from the one catalogue (reports/labels/errors.json, docs/server.md#errors).

Every error key has its three languages with the same placeholders, every key a raise site uses exists, and no
raise site of an error a user can see passes a bare English sentence (an AST scan of src/)."""
from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from yunying.errors import CATALOGUE, SpecError, Text, YunyingError, fill, problems
from yunying.reports.error_text import say_error
from yunying.reports.i18n import LANGS

SRC = Path(__file__).resolve().parents[2] / "src" / "yunying"
ENTRIES = {k: v for k, v in json.loads(CATALOGUE.read_text(encoding="utf-8")).items() if not k.startswith("_")}
# Builtins a validator or a lower layer raises with a catalogue Text (pydantic hands them on; the renderer reads them).
WRAPPED = {"ValueError", "EventError", "TypingError", "DeliveryError"}
# Helpers that build an error from a message they are given.
HELPERS = {"fail", "error", "syntax_error", "refuse"}


def _names(template: str) -> set[str]:
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template) if field}


# Pairs of characters that differ between the scripts: 简体 never has the second, 繁體 never the first.
SCRIPTS = [("个", "個"), ("为", "為"), ("应", "應"), ("数", "數"), ("这", "這"), ("们", "們"), ("时", "時"), ("间", "間"),
           ("请", "請"), ("设", "設"), ("与", "與"), ("对", "對"), ("没", "沒"), ("错", "錯"), ("误", "誤"), ("项", "項"),
           ("发", "發"), ("开", "開"), ("关", "關"), ("选", "選"), ("读", "讀"), ("写", "寫"), ("务", "務"), ("导", "導"),
           ("无", "無"), ("须", "須"), ("认", "認"), ("识", "識"), ("据", "據"), ("单", "單"), ("达", "達"), ("结", "結")]
# Sentences the same in every language: a placeholder with a protocol word, or only the user's own text.
NEUTRAL = {"alerts.channels.http", "pydantic.other", "ingest.message", "sep.errors"}
# Parameters a translation may use that the English does not: its raise site passes both.
EXTRA = {"spec.invalid": {"kind"}}  # English names the spec class (TrendsSpec), 简体/繁體 the analysis (事件分析)


def test_every_error_key_is_said_in_every_language():
    missing = [(k, LANGS[i]) for k, v in ENTRIES.items() for i in range(3) if not v[i].strip()]
    assert not missing, f"error keys missing a language: {missing[:20]}"
    for key, (en, hans, hant) in ENTRIES.items():
        words = re.sub(r"\{[^}]*\}", "", en)
        if key not in NEUTRAL and re.search(r"[a-z]{3,} [a-z]{2,}", words):  # an English phrase …
            assert hans != en and hant != en, key  # … is translated
            assert re.search(r"[\u4e00-\u9fff]", hans) and re.search(r"[\u4e00-\u9fff]", hant), key
        for simplified, traditional in SCRIPTS:  # 繁體 is its own text, not 简体 (nor the reverse)
            assert traditional not in hans, (key, hans, traditional)
            assert simplified not in hant, (key, hant, simplified)
        for text in (hans, hant):  # a translation may drop an English grammar word, never add a placeholder
            assert _names(text) <= _names(en) | EXTRA.get(key, set()), (key, text)


def test_every_analysis_has_a_name_for_its_spec_errors():
    from yunying.analyses import registry

    assert len(registry._TABLE) > 20
    missing = [kind for kind in registry._TABLE if f"spec.kind.{kind}" not in ENTRIES]
    assert not missing, missing


def test_every_template_formats_with_its_placeholders():
    for key, columns in ENTRIES.items():
        values = {n: 1 for n in _names(columns[0]) | EXTRA.get(key, set())}
        for text in columns:
            text.format(**values)  # raises on a placeholder, conversion or format spec that does not fit


def _raise_sites():
    """Every call constructing a user-facing error (or handing a message to a helper that builds one) in src/."""
    classes = {"YunyingError"}
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in SRC.rglob("*.py")}
    bases = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(getattr(b, "id", getattr(b, "attr", "")) for b in node.bases)
    grew = True
    while grew:
        new = {c for c, bs in bases.items() if bs & classes} - classes
        classes |= new
        grew = bool(new)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = getattr(f, "id", None) or getattr(f, "attr", None)
            helper = name in HELPERS and (isinstance(f, ast.Name) or getattr(f.value, "id", "") in ("self", "F", "common"))
            if name in classes or name in WRAPPED or helper:
                yield path, node, name


def _message(node: ast.Call, name: str) -> ast.expr | None:
    """The argument holding the message: the third of syntax_error(src, pos, message) and refuse(ctx, names, reason)."""
    at = 2 if name in ("syntax_error", "refuse") else 0
    return node.args[at] if len(node.args) > at else None


def _bare(arg: ast.expr | None) -> bool:
    if arg is None:
        return False
    if isinstance(arg, ast.IfExp):
        return _bare(arg.body) or _bare(arg.orelse)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return True
    if isinstance(arg, (ast.JoinedStr, ast.BinOp)):
        return True
    return isinstance(arg, ast.Call) and (getattr(arg.func, "attr", None) == "format" or getattr(arg.func, "id", None) == "str")


def test_no_raise_site_passes_a_bare_english_sentence():
    bad = []
    for path, node, name in _raise_sites():
        if _bare(_message(node, name)):
            bad.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {name}(…)")
    assert not bad, "user-facing errors must carry a catalogue key (key=…, or Text(…)):\n" + "\n".join(bad)


def test_every_key_a_raise_site_uses_is_in_the_catalogue():
    used = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "key" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        if "." in kw.value.value and getattr(node.func, "id", "").endswith(("Error", "Found", "Key",
                                                                                          "Payload", "Unavailable")):
                            used.add(kw.value.value)
                if getattr(node.func, "id", None) == "Text" and node.args and isinstance(node.args[0], ast.Constant):
                    used.add(node.args[0].value)
    missing = sorted(k for k in used if k not in ENTRIES and not k.startswith("pydantic."))
    assert not missing, missing
    assert len(used) > 500  # the scan sees the raise sites (a scan that finds nothing passes nothing)


def test_english_stays_the_str_and_other_languages_are_said_from_the_catalogue():
    exc = SpecError(key="common.expected_date_yyyy_mm", flag="--from", text="2026-13-01")
    assert str(exc) == exc.message == "--from: expected a date YYYY-MM-DD (got '2026-13-01')"
    assert say_error(exc, "en") == str(exc)
    assert say_error(exc, "zh-Hans") == "--from：应为 YYYY-MM-DD 格式的日期（收到 '2026-13-01'）"
    assert say_error(exc, "zh-Hant") == "--from：應為 YYYY-MM-DD 格式的日期（收到 '2026-13-01'）"
    # a builtin raised with a Text (a pydantic validator) is said the same way
    assert say_error(ValueError(Text("funnel.step_names_must_empty")), "zh-Hant") == "步驟名稱不可為空"
    # an error without a key keeps its text
    assert say_error(YunyingError("plain"), "zh-Hans") == "plain"


def test_pydantic_problems_name_the_field_and_what_was_expected():
    from yunying.analyses.trends import TrendsSpec

    with pytest.raises(SpecError) as info:
        TrendsSpec.parse({"event": "signup", "interval": "year"})
    assert str(info.value) == "invalid TrendsSpec: interval: Input should be one of 'day', 'week', 'month' (got 'year')"
    assert say_error(info.value, "zh-Hans") == "事件分析配置无效：interval：应为以下之一：'day', 'week', 'month'（收到 'year'）"
    assert say_error(info.value, "zh-Hant") == "事件分析設定無效：interval：應為下列之一：'day', 'week', 'month'（收到 'year'）"
    # a validator's own catalogue sentence is kept, in the language
    with pytest.raises(SpecError) as info:
        TrendsSpec.parse({"event": "signup", "date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert say_error(info.value, "zh-Hans").endswith("date_from 晚于 date_to")
    # an error type outside the catalogue keeps pydantic's English message rather than a wrong sentence
    other = problems([{"type": "uuid_parsing", "loc": ("id",), "msg": "Input should be a valid UUID"}])
    assert str(other[0]) == "id: Input should be a valid UUID"
