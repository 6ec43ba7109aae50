"""`--help` of every command, group and sub-command rendered in 简体 and 繁體: no English word left but yunying's
own names (commands, options, the values one types), product and format names; no character of the other
script; and English stays as the code writes it."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from help_tree import invoke, shown_params, walk
from test_help_catalogue import wrong_script
from yunying.cli.common import _Lang

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from test_untranslated import english  # noqa: E402  (the words helper's untranslated-string checker)

# Product, format and standard names, the same in every language.
NAMES = {"DuckDB", "CSV", "TSV", "JSON", "JSONL", "Lines", "Parquet", "Excel", "RFM", "CAC", "LTV", "CLV", "UTM",
         "ROAS", "ROI", "KPI", "SRM", "CUPED", "DAU", "MAU", "WAU", "API", "ID", "App", "PostHog", "Segment", "SMTP",
         "Webhook", "Slack", "PDF", "A4", "Chromium", "ISO", "UTF-8", "GB18030", "LMDI", "Shapley", "BG", "NBD", "Pareto",
         "Numba", "GET", "cron", "K", "N", "T", "A", "B", "Q", "tab", "gz", "xlsx"}
# The values one types, as the help texts name them (event names of the examples, choices, field names).
VALUES = {"signup", "activate", "purchase", "purchases", "ordered", "strict", "unordered", "first", "last", "step",
          "first-time", "recurring", "after", "before", "day", "week", "month", "total", "weekday", "hour", "count",
          "users", "sum", "avg", "min", "max", "median", "table", "json", "csv", "duckdb", "spark", "en", "zh-Hans",
          "zh-Hant", "linear", "markov", "position", "channel", "campaign", "placement", "log", "hill", "quantile",
          "mean8", "bgnbd", "pareto", "days", "orders", "frequentist", "bayesian", "sequential", "holm", "bh", "none",
          "control", "variant", "pre", "experiment", "revenue", "gmv", "platform", "piece", "topic", "tag", "account",
          "author", "format", "all", "write", "read", "ios", "app", "auto", "holdout", "did", "sc", "sent", "wechat",
          "douyin", "xiaohongshu", "zhihu", "weibo", "inviter", "referrer", "identify", "alias", "media", "coupons",
          "fees", "city", "plan", "event", "user", "segment", "other", "end", "baidu", "search", "paying", "registrations",
          "gbk", "gb18030", "big5", "date", "cost", "group", "change", "purchasers", "alive", "beta", "ExperimentSpec"}


COMMANDS = {name for path, _, _ in walk() for name in path}
# What one types as it is: file names, quoted examples (a segment rule), snake_case names (settings, fields,
# metrics) and PLACEHOLDERS in capitals.
IDENTIFIER = re.compile(r"[\w-]+\.(?:json|toml)\b|\"[^\"]*\"|\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|"
                        r"\b[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*\b")


def allowed(cmd, ctx) -> set[str]:
    """Names a help screen shows as they are: the commands, its options' names and default values."""
    out = set(NAMES) | set(VALUES) | COMMANDS
    for p in shown_params(cmd, ctx):
        out |= {o.lstrip("-") for o in (*p.opts, *p.secondary_opts)} | {p.name}
        if isinstance(p.default, (str, Path)):
            out.add(str(p.default))
    return out


def left_in_english(line: str, ok: set[str]) -> list[str]:
    return english(IDENTIFIER.sub(" ", line), ok)


def render(path: tuple[str, ...], env: dict) -> str:
    _Lang.flag = _Lang.workspace = None
    args = [*(path if path != ("yunying",) else ()), "--help"]
    res = invoke(args, {"COLUMNS": "200", **env})
    assert res.exit_code == 0, (args, res.output)
    return res.output


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_every_help_screen_is_in_chinese(lang):
    problems, screens = [], 0
    for path, cmd, ctx in walk():
        out = render(path, {"YUNYING_LANG": lang})
        screens += 1
        ok = allowed(cmd, ctx)
        if left_in_english(out, ok):  # (the checker once per screen; the lines only to report a problem)
            problems += [(" ".join(path), line.strip(), bad) for line in out.splitlines()
                         if (bad := left_in_english(line, ok))]
        if wrong := wrong_script(out, lang):
            problems.append((" ".join(path), "script", wrong))
        if cmd.help and "用法" not in out:
            problems.append((" ".join(path), "no 用法", out[:200]))
    assert screens > 40 and not problems, problems


def test_english_help_is_the_code_text():
    out = render(("funnel",), {"YUNYING_LANG": "en"})
    cmd = next(c for p, c, _ in walk() if p == ("funnel",))
    assert "Usage: yunying funnel [OPTIONS]" in out and "Show this message and exit." in out
    assert cmd.help in out and "[default: 14d]" in out
    assert "purchase[event.revenue > 100]" in out  # a text's own brackets are shown, not read as Rich markup
    out = render(("segments", "show"), {"YUNYING_LANG": "en"})
    assert "Segment name." in out  # an argument without help in the code takes it from the catalogue


def test_a_screen_in_chinese_leaves_the_next_in_english():
    """Typer's words are put back after a translated screen (tests and servers render many in one process)."""
    assert "選項" in render(("retention",), {"YUNYING_LANG": "zh-Hant"})
    out = render(("retention",), {"YUNYING_LANG": "en"})
    assert "Options" in out and "選項" not in out and "Cohort retention" in out


def test_the_checker_sees_a_text_left_in_english(monkeypatch):
    """A translation taken out of the catalogue: the screen falls back to the code's English and the check says so."""
    from yunying.reports import i18n

    monkeypatch.delitem(i18n.on_demand("help.json"), "help.funnel.window")
    path, cmd, ctx = next(t for t in walk() if t[0] == ("funnel",))
    out = render(path, {"YUNYING_LANG": "zh-Hans"})
    left = [w for line in out.splitlines() for w in left_in_english(line, allowed(cmd, ctx))]
    assert left == ["Conversion"] and "步骤" in out  # (window, step: an option and a value one types)
