"""The Chinese glosses of the English ``--help`` (``Segments (用户分群)``, ``Repurchase: 复购率``) are 简体, all of
them: mainland operators read 简体, and a screen mixing 客戶價值 with 复购率 reads as two products (issue 13).
Checked by OpenCC (an independent converter): no character OpenCC would simplify."""
from __future__ import annotations

import re

from help_tree import shown_params, walk
from test_help_catalogue import wrong_script

# Names of the scripts themselves ("Columns in English, 简体 or 繁體"), not glosses.
SCRIPT_NAMES = re.compile(r"繁體|简体")


def english_help_texts():
    for path, cmd, ctx in walk():
        yield " ".join(path), cmd.help or ""
        for p in shown_params(cmd, ctx):
            yield f"{' '.join(path)} {p.name}", getattr(p, "help", None) or ""


def test_english_help_glosses_are_simplified_chinese():
    bad = []
    for where, text in english_help_texts():
        text = SCRIPT_NAMES.sub(" ", text)
        for word in re.findall(r"[\u4e00-\u9fff]+", text):
            if wrong_script(word, "zh-Hans"):
                bad.append((where, word))
    assert not bad, bad


def test_the_glosses_operators_saw_mixed_are_simplified_now():
    """The screens of the walk: 客户价值, 用户分群, 活动运营 / 复盘 beside 复购率 / 回购率."""
    texts = dict(english_help_texts())
    assert "(客户价值)" in texts["clv"] and "(用户分群)" in texts["segments"]
    assert "(活动运营)" in texts["campaign"] and "(复盘)" in texts["campaign"]
    assert "复购率" in texts["repurchase"] and "(指标分解)" in texts["explain"]


def test_the_script_check_finds_a_traditional_gloss():
    assert wrong_script("用戶分群", "zh-Hans") == ["戶"] and wrong_script("用户分群", "zh-Hans") == []
