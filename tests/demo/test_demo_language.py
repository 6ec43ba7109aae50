"""What `yunying demo` writes into its data for people to read is in the demo's language (issue 13): the campaign
plans (tasks, owners, dependencies), budget lines and descriptions, the content's topics, titles and authors, and
the experiment's metric name — in English, 简体 or 繁體, as `yunying campaign plan` and the content tables show them.
Names that are identifiers (campaigns, events, channels, accounts) stay as they are in every language."""
from __future__ import annotations

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from yunying.cli import app
from yunying.cli.common import _Lang
from yunying.demo.run import run_demo

# Hand-written: summer_sale's plan, task by task (name, owner, depends on), as the operator would write it
PLAN = {
    "en": [("brief", "Wang", []), ("coupon rules", "Li", ["brief"]), ("creative design", "Chen", ["brief"]),
           ("holdout list", "Zhao", ["coupon rules"]), ("launch", "Wang", ["creative design", "holdout list"]),
           ("review", "Zhao", ["launch"])],
    "zh-Hans": [("需求简报", "王磊", []), ("优惠券规则", "李娜", ["需求简报"]), ("创意设计", "陈静", ["需求简报"]),
                ("对照组名单", "赵敏", ["优惠券规则"]), ("上线", "王磊", ["创意设计", "对照组名单"]),
                ("复盘", "赵敏", ["上线"])],
    "zh-Hant": [("需求簡報", "王磊", []), ("優惠券規則", "李娜", ["需求簡報"]), ("創意設計", "陳靜", ["需求簡報"]),
                ("對照組名單", "趙敏", ["優惠券規則"]), ("上線", "王磊", ["創意設計", "對照組名單"]),
                ("復盤", "趙敏", ["上線"])],
}
PUSH = {"en": [("copy", "Li", []), ("send", "Li", ["copy"])],
        "zh-Hans": [("文案", "李娜", []), ("发送", "李娜", ["文案"])],
        "zh-Hant": [("文案", "李娜", []), ("發送", "李娜", ["文案"])]}
BUDGET = {"en": ["coupons 5/10/20 CNY", "design and landing page"],
          "zh-Hans": ["优惠券 5/10/20 元", "设计和落地页"], "zh-Hant": ["優惠券 5/10/20 元", "設計和落地頁"]}
TOPICS = {"en": {"Review", "Tutorial", "Industry watch", "Promotion", "User story", "Trending"},
          "zh-Hans": {"评测", "教程", "行业观察", "促销", "用户故事", "热点"},
          "zh-Hant": {"評測", "教程", "行業觀察", "促銷", "用戶故事", "熱點"}}
METRIC = {"en": "purchase within 14 days", "zh-Hans": "14 天内购买", "zh-Hant": "14 天內購買"}
# characters of the other script: 繁體 forms on a 简体 demo and 简体 forms on a 繁體 one
OTHER_SCRIPT = {"zh-Hans": set("簡規創設計對組單線復盤發陳趙優費頁銷動戶業觀熱評測曉吳黃"),
                "zh-Hant": set("简规创设计对组单线复盘发陈赵优费页销动户业观热评测晓吴黄")}
LANGS = ["en", "zh-Hans", "zh-Hant"]


@pytest.fixture(scope="module", params=LANGS)
def demo(request, tmp_path_factory):
    """A small demo (300 users, 8 weeks: both campaigns) in each language."""
    d = tmp_path_factory.mktemp(f"demo-{request.param}")
    out = run_demo(d, users=300, seed=3, days=56, lang=request.param)
    return request.param, d, out


def cli(*args: str) -> str:
    _Lang.flag = _Lang.workspace = None
    try:
        res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
    finally:
        _Lang.flag = _Lang.workspace = None
    assert res.exit_code == 0, (args, res.output)
    return res.output


def test_campaign_plans_are_in_the_demos_language(demo):
    lang, d, _ = demo
    ws = str(d / "workspace")
    for name, want in (("summer_sale", PLAN[lang]), ("autumn_push", PUSH[lang])):
        got = json.loads(cli("campaign", "plan", name, "-w", ws, "--format", "json"))["campaign"]
        assert [(t["name"], t["owner"], t["depends_on"]) for t in got["tasks"]] == want
        if name == "summer_sale":
            assert [b["label"] for b in got["budget"]] == BUDGET[lang]
        assert got["name"] == name  # the campaign's name is an identifier (`campaign review summer_sale`)
        if lang != "en":  # a Chinese description: no English but product names (App, iOS)
            assert not set(re.findall(r"[A-Za-z]+", got["description"])) - {"App", "iOS"}, got["description"]
            assert not set(got["description"]) & OTHER_SCRIPT[lang], got["description"]
    # the table the operator reads: the workspace's language (set by the demo), every task and owner as above
    table = cli("campaign", "plan", "summer_sale", "-w", ws)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if line.startswith("│")]
    assert [(r[0], r[1]) for r in rows] == [(t, o) for t, o, _ in PLAN[lang]]
    if lang != "en":
        assert not re.search(r"[A-Za-z]", "".join(r[0] + r[1] + r[-1] for r in rows)), table
        assert not set(table) & OTHER_SCRIPT[lang]


def test_content_topics_titles_and_authors_are_in_the_demos_language(demo):
    lang, d, _ = demo
    with open(d / "data" / "content.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 200 and {r["topic"] for r in rows} == TOPICS[lang]
    assert all(r["title"] == f"{r['topic']} #{int(r['content_id'][1:])}" for r in rows)
    authors = {r["author"] for r in rows}
    if lang == "en":
        assert all(a.isascii() and a[:1].isupper() for a in authors), authors
    else:
        assert all(len(a) == 2 and all("\u4e00" <= c <= "\u9fff" for c in a) for a in authors), authors
        assert not set("".join(authors)) & OTHER_SCRIPT[lang]
    truth = json.loads((d / "data" / "truth.json").read_text(encoding="utf-8"))["content_ops"]
    assert set(truth["topic_follow_factor"]) == TOPICS[lang]  # the truth names the topics as the catalogue does
    # the accounts and platforms are identifiers: the same in every language
    assert {r["account"] for r in rows} <= {"wx_main", "dy_video", "xhs_notes", "zh_column", "wb_news"}


def test_the_experiments_metric_is_named_in_the_demos_language(demo):
    lang, d, out = demo
    assert [m["metric"] for m in out["experiment"]["metrics"]] == [METRIC[lang]]
    assert METRIC[lang] in (d / "overview.html").read_text(encoding="utf-8")
