"""Issue 13: CLI tables for people in English, 简体 and 繁體 — every analysis command's `--format table`
headers come from the label catalogue (no snake_case, nothing left in English in Chinese), chosen by
`--lang` or the workspace's `lang` setting; `init --currency` sets the money shown."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from yunying.cli import app
from yunying.cli.common import _Lang
from yunying.reports.i18n import LANGS

COMMANDS = [
    ["overview"], ["info"], ["trends", "--active"], ["trends", "--event", "purchase", "--measure", "users"],
    ["funnel", "--steps", "signup,activate,purchase"], ["retention"], ["lifecycle"], ["stickiness"],
    ["paths", "--event", "signup"], ["experiment", "--conversion", "purchase:14d"], ["channels"], ["placements"], ["budget"], ["attribution"],
    ["rfm"], ["repurchase"], ["clv", "--model", "pareto"], ["winback", "--model", "pareto"],
]
SAME = {"ROAS", "LTV", "CAC", "CUPED", "ARPPU", "DAU", "MAU", "WAU", "RFM", "ID", "UTC", "API", "R", "F", "M", "P",
        "p", "a", "h", "s", "r", "CNY", "USD", "pp"}


def headers(text: str) -> list[str]:
    """The header cells of every rich table in ``text`` (the lines between ┏ and ┡)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("┏"):
            inside = True
        elif line.lstrip().startswith("┡"):
            inside = False
        elif inside and "┃" in line:
            out += [c.strip() for c in line.strip().strip("┃").split("┃") if c.strip()]
    return out


def run(args: list[str]) -> str:
    _Lang.flag = _Lang.workspace = None
    from yunying.cli.common import _take_lang
    res = CliRunner().invoke(app, _take_lang(args), env={"COLUMNS": "400"}, catch_exceptions=False)
    assert res.exit_code == 0, (args, res.output)
    return res.output


@pytest.mark.parametrize("lang", LANGS)
def test_every_command_table_is_labelled(demo_ws, lang):
    found, problems = 0, []
    for cmd in COMMANDS:
        out = run([*cmd, "-w", str(demo_ws), "--lang", lang])
        heads = headers(out)
        found += len(heads)
        for h in heads:
            words = re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", h)
            if any("_" in w for w in words):
                problems.append((cmd[0], h, "snake_case"))
            if lang != "en" and [w for w in words if w not in SAME]:
                problems.append((cmd[0], h, "untranslated"))
    assert found > 50 and not problems, problems


def test_workspace_language_and_currency(tmp_path, demo_ws):
    toml = demo_ws / "yunying.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'currency = "CNY"' in text and 'lang = "en"' in text
    toml.write_text(text.replace('currency = "CNY"', 'currency = "TWD"').replace('lang = "en"', 'lang = "zh-Hant"'),
                    encoding="utf-8")
    out = run(["channels", "-w", str(demo_ws)])
    assert "註冊成本" in headers(out) and "TWD " in out          # the workspace's language and currency
    out = run(["channels", "-w", str(demo_ws), "--lang", "en"])  # --lang wins
    assert "Cost per registration" in headers(out)
    target = tmp_path / "new"
    run(["init", str(target), "--currency", "usd", "--lang", "zh-Hans"])
    text = (target / "yunying.toml").read_text(encoding="utf-8")
    assert 'currency = "USD"' in text and 'lang = "zh-Hans"' in text


def test_bad_language_is_refused():
    from yunying.cli.common import _take_lang
    from yunying.errors import YunyingError

    with pytest.raises(YunyingError, match="--lang must be"):
        _take_lang(["channels", "--lang", "fr"])
