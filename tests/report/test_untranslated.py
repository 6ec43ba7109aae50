"""Issue 13 (words): what the CLI prints for people (`--format table`: tables, notes, summaries, banners), the
HTML reports and the Excel/CSV files written for people, in 简体 and 繁體, hold no English word but the user's own
names (events, channels, placements, variants, content accounts and topics …), units and acronyms (ROI, CAC,
DAU …) and file paths; no ``n/a`` (the catalogue's empty marker); in every language no table header or
exported header is a snake_case key; and change cells are coloured by whether up is good for that metric."""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from yunying.cli import app
from yunying.cli.common import _Lang, _take_lang

# Same in every language: acronyms, units, model names.
SAME = {"ROAS", "ROI", "LTV", "CAC", "CUPED", "ARPPU", "DAU", "MAU", "WAU", "RFM", "KPI", "SRM", "ID", "UTC", "CNY",
        "pp", "Pareto", "NBD", "BG", "Gamma-Gamma", "LMDI-I", "HTML", "yunying", "min", "h", "d", "s", "p", "r", "q",
        "v", "csv", "json", "format", "P", "duckdb"}
# every command that analyses or lists for people (each analysis command, its variants and subcommands)
COMMANDS = [
    ["info"], ["metrics"], ["metrics", "revenue"], ["overview"],
    ["trends", "--event", "purchase", "--measure", "users", "--compare"], ["trends", "--new-users"],
    ["trends", "--revenue"], ["funnel", "--steps", "signup,activate,purchase"], ["retention"], ["lifecycle"],
    ["stickiness"], ["stickiness", "--per-user"], ["stickiness", "--between", "signup,purchase"],
    ["paths", "--event", "signup"], ["experiment", "--conversion", "purchase:14d"], ["channels"], ["placements"],
    ["budget"], ["attribution"], ["rfm"], ["repurchase"], ["clv", "--model", "pareto"],
    ["clv", "--model", "pareto", "--calibration-end", "2026-06-28"], ["winback", "--model", "pareto"], ["explain", "revenue", "--period", "week"], ["report"], ["alerts", "run"],
    ["alerts", "history"], ["content"], ["content", "--by", "topic"], ["content", "flags"], ["content", "timing"],
    ["content", "forecast", "c0124"], ["referrals"], ["segments", "list"], ["campaign", "list"],
    ["campaign", "plan", "summer_sale"], ["campaign", "pacing", "summer_sale"], ["campaign", "review", "summer_sale"],
    ["optimize"],
]
SNAKE = re.compile(r"(?<![\w.$])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo workspace (1,500 users over 6 weeks: events, spend, an experiment), built once."""
    from yunying.config import WorkspaceConfig
    from yunying.demo import generate
    from yunying.storage.workspace import Workspace

    root = tmp_path_factory.mktemp("words")
    import yunying.engines  # noqa: F401  (the campaigns' holdout draw queries the workspace)
    from yunying.demo.campaigns import setup_workspace
    from yunying.storage.content import import_catalogue

    generate(root / "data", users=1500, days=42, seed=3)
    with Workspace.init(root / "ws", WorkspaceConfig(name="demo")) as ws:
        ws.import_events([str(root / "data" / "events.parquet")])
        ws.import_spend([str(root / "data" / "spend.csv")])
        import_catalogue(ws, [str(root / "data" / "content.csv")])
        setup_workspace(ws, json.loads((root / "data" / "truth.json").read_text(encoding="utf-8")))  # campaigns
    return root


def names(ws_dir) -> set[str]:
    """The user's own names: events, properties, channels, campaigns, placements, variants."""
    import duckdb

    con = duckdb.connect(str(ws_dir / "yunying.duckdb"), read_only=True)
    try:
        out = {r[0] for r in con.execute("SELECT DISTINCT event FROM events").fetchall()}
        for col in ("channel", "utm_campaign", "variant"):
            out |= {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM events").fetchall() if isinstance(r[0], str)}
        for col in ("channel", "campaign", "placement"):
            out |= {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM spend").fetchall() if r[0]}
        for (props,) in con.execute("SELECT DISTINCT properties FROM events WHERE properties IS NOT NULL").fetchall():
            out |= {v for v in json.loads(props).values() if isinstance(v, str)}  # experiment names, platforms …
        for col in ("platform", "account", "author", "topic", "format", "title"):  # the content catalogue
            out |= {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM content").fetchall() if r[0]}
    finally:
        con.close()
    from yunying.storage import campaigns as store

    for camp in store.all_(ws_dir):  # campaign, task and owner names are the user's own
        out |= {camp.name} | {t.name for t in camp.tasks} | {t.owner for t in camp.tasks if t.owner}
    # the workspace's name, its named metrics and the metric language's words (definitions are the user's text)
    return {n for n in out if n} | {"demo", "revenue", "active_users", "buyers", "pay_rate", "arppu", "sum", "users",
                                    "any"}


def english(text: str, data: set[str]) -> list[str]:
    """English words of ``text`` that are neither the user's names, nor units, nor paths and flags."""
    text = re.sub(r"\S*[/\\]\S*|--[\w-]+|\byunying(?: [a-z][a-z-]*)+\b|\[\[\w+\]\]|\byunying\.toml\b|\S+\.(md|html|xlsx|csv)\b", " ", text)
    parts = {p for d in data for p in re.split(r"[_\W]+", d) if p}
    return [w for w in (x.strip("'") for x in re.findall(r"[A-Za-z][A-Za-z0-9_\-']*", text))
            if w not in SAME and w not in data and not re.fullmatch(r"[A-Za-z]\d*", w)
            and not all(p in parts or p.isdigit() or re.fullmatch(r"\d+d", p) or p == "conversion"
                        for p in re.split(r"_", w))]


def cli(args: list[str], lang: str) -> str:
    _Lang.flag = _Lang.workspace = None
    try:
        res = CliRunner().invoke(app, _take_lang([*args, "--lang", lang]), env={"COLUMNS": "300"},
                                 catch_exceptions=False)
    finally:  # the language is process-wide: leave none behind for the next test
        _Lang.flag = _Lang.workspace = None
    assert res.exit_code == 0, (args, res.output)
    return res.output


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skip, self.out = 0, []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.out.append(data.strip())


def html_text(path) -> str:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return "\n".join(p.out)


def snake_headers(out: str, data: set[str]) -> list[str]:
    """snake_case keys in the header rows of the printed tables (rich draws them on lines starting with ┃)."""
    return [w for line in out.splitlines() if line.lstrip().startswith("┃") for w in SNAKE.findall(line)
            if w not in data]


def workbook_strings(path) -> list[tuple[str, str]]:
    """(sheet, text) of every sheet name and every text cell of an Excel workbook."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    return [(sh.title, sh.title) for sh in book.worksheets] + [
        (sh.title, v) for sh in book.worksheets for row in sh.iter_rows(values_only=True) for v in row
        if isinstance(v, str)]


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
def test_cli_and_html_reports_are_translated(demo, tmp_path, lang):
    ws = tmp_path / "ws"
    shutil.copytree(demo / "ws", ws)
    data, hans, zh = names(ws), lang == "zh-Hans", lang != "en"
    found, outputs = [], {}
    for cmd in COMMANDS:
        out = cli([*cmd, "-w", str(ws)], lang)
        outputs.setdefault(cmd[0], out)
        found += [(" ".join(cmd), "header", w) for w in snake_headers(out, data)]
        if zh:
            found += [(" ".join(cmd), line.strip(), bad) for line in out.splitlines() if (bad := english(line, data))]
            assert "n/a" not in out, (cmd, [x for x in out.splitlines() if "n/a" in x])
    out = cli(["plan", "--baseline-rate", "0.19", "--mde", "0.05", "--daily-traffic", "2000", "--variants", "3"], lang)
    found += [("plan", line, bad) for line in out.splitlines() if zh and (bad := english(line, data))]
    out = cli(["import", "spend", str(demo / "data" / "spend.csv"), "-w", str(ws)], lang)
    found += [("import", line, bad) for line in out.splitlines() if zh and (bad := english(line, data))]
    for name, cmd in (("overview", ["overview"]), ("experiment", ["experiment", "--conversion", "purchase:14d"]),
                      ("report", ["report"])):
        page = tmp_path / f"{name}.html"
        cli([*cmd, "-w", str(ws), "--html", str(page)], lang)
        text = html_text(page)
        found += [(page.name, line, bad) for line in text.splitlines() if zh and (bad := english(line, data))]
        assert not zh or "n/a" not in text, (name, [x for x in text.splitlines() if "n/a" in x])
    # the files written for people: Excel workbooks and the segment's member list
    cli(["segments", "create", "买家", "did purchase", "-w", str(ws)], lang)
    cli(["segments", "snapshot", "买家", "--as-of", "2026-07-01", "-w", str(ws)], lang)  # its description in words
    out = cli(["segments", "list", "-w", str(ws)], lang)
    rule = data | {"did"}  # the rule is the user's own text, in the rule language
    found += [("segments list", line, bad) for line in out.splitlines() if zh and (bad := english(line, rule))]
    files = {"overview": ["overview", "--xlsx"], "winback": ["winback", "--model", "pareto", "--xlsx"],
             "report": ["report", "--xlsx"], "segment": ["segments", "export", "买家", "-f", "xlsx", "-o"]}
    for name, cmd in files.items():
        book = tmp_path / f"{name}.xlsx"
        cli([*cmd, str(book), "-w", str(ws)], lang)
        for sheet, text in workbook_strings(book):
            found += [(book.name, sheet, text, w) for w in SNAKE.findall(text) if w not in data]
            found += [(book.name, sheet, text, bad) for bad in ([english(text, data)] if zh else []) if bad]
    cli(["segments", "export", "买家", "-o", str(tmp_path / "members.csv"), "-w", str(ws)], lang)
    header = (tmp_path / "members.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == {"en": "User ID", "zh-Hans": "用户 ID", "zh-Hant": "用戶 ID"}[lang]
    assert not found, "\n".join(map(str, found[:40]))
    if not zh:
        return
    # the Excel overview read back: change cells coloured by the metric's direction (lower cost is green)
    import openpyxl

    cli(["overview", "-w", str(ws), "--xlsx", str(tmp_path / "o.xlsx")], lang)
    sheet = openpyxl.load_workbook(tmp_path / "o.xlsx").worksheets[0]
    colours = {r[1].value: (r[4].value, r[4].font.color.rgb if r[4].font.color else None)
               for r in sheet.iter_rows(min_row=4) if r[1].value}
    green, red = "FF1A7F37", "FFC62828"
    for name, down_is_good in (("注册成本（付费渠道）" if hans else "註冊成本（付費渠道）", True),
                               ("新增注册用户" if hans else "新增註冊用戶", False)):
        text, colour = colours[name]
        if text.startswith(("▲", "▼")):
            assert colour == (green if text.startswith("▼") == down_is_good else red), (name, text, colour)
    # the sentences really are there, in the language asked for (not silently dropped)
    assert ("样本比例检验" if hans else "樣本比例檢驗") in outputs["experiment"]
    assert "；" in outputs["experiment"].splitlines()[0] and "; " not in outputs["experiment"]  # Chinese punctuation
    assert ("事件" in outputs["content"]) and "events" not in outputs["content"]  # the data-source column in words
    assert ("总花费" if hans else "總花費") in outputs["channels"]
    assert ("建议分配" if hans else "建議分配") in outputs["budget"]
    assert "—" in outputs["repurchase"]  # the last month has no next period: the empty marker, not n/a
    # spend in two currencies: the warning in words, the currencies listed as they are
    (tmp_path / "usd.csv").write_text("date,channel,campaign,placement,cost,currency\n"
                                      "2026-06-01,feed,feed_usd,feed_main,10.5,USD\n", encoding="utf-8")
    cli(["import", "spend", str(tmp_path / "usd.csv"), "-w", str(ws)], lang)
    out = cli(["channels", "-w", str(ws)], lang)
    warning = [line for line in out.splitlines() if "CNY, USD" in line]
    assert warning and ("花费混合了多种币种" if hans else "花費混合了多種幣種") in warning[0], out
    assert not english(warning[0], data | {"USD"}), warning  # the currency codes are the user's own


def test_acquisition_section_and_demo_page_follow_the_language(demo):
    """The demo's page parts: the acquisition paragraphs and the budget sentences in the language asked for."""
    import yunying.engines  # noqa: F401
    from yunying.reports.acquisition import acquisition_section
    from yunying.storage.workspace import Workspace

    data = names(demo / "ws")
    with Workspace.open(demo / "ws", read_only=True) as ws:
        for lang, words in (("zh-Hans", ("归因", "建议分配", "付费用户成本基准")),
                            ("zh-Hant", ("歸因", "建議分配", "付費用戶成本基準"))):
            page, _ = acquisition_section(ws.engine, lang=lang)
            p = _Text()
            p.feed(page)
            bad = [(t, w) for t in p.out if (w := english(t, data))]
            assert not bad, bad[:20]
            assert all(w in page for w in words), lang
            assert "n/a" not in "\n".join(p.out)
        english_page, _ = acquisition_section(ws.engine, lang="en")
        assert "Proposed mix:" in english_page and "n/a where a ratio divides by zero" in english_page


def test_change_cells_are_coloured_by_the_metric_direction():
    """A fall in cost per registration is good (green), a fall in new users bad (red): by each row's direction."""
    from yunying.reports.columns import people_table
    from yunying.reports.view import overview_parts

    result = {"metrics": [
        {"key": "cost_per_registration", "section": "acquisition", "kind": "money", "current": 19.14,
         "previous": 32.22, "change": 19.14 / 32.22 - 1},
        {"key": "new_users", "section": "acquisition", "kind": "count", "current": 343, "previous": 480,
         "change": 343 / 480 - 1},
        {"key": "activation_rate", "section": "activation", "kind": "rate", "current": 0.382, "previous": 0.36,
         "change": 0.382 / 0.36 - 1}]}
    kpis, rows = overview_parts(result, "zh-Hans", "CNY")
    assert [k["tone"] for k in kpis] == ["good", "bad", "good"]
    table = people_table([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], "zh-Hans",
                         analysis="overview")
    assert [t.get("change") for t in table["tones"]] == ["good", "bad", "good"]
    # a column's own direction: the cost's change down is good without a row direction
    t = people_table([{"channel": "kol", "cost_per_registration_change": -0.2, "new_users_change": -0.2}], "en")
    assert t["tones"] == [{"cost_per_registration_change": "good", "new_users_change": "bad"}]
    # an experiment's effect inside the noise is not coloured; a significant loss on a lower-is-better metric is red
    exp = people_table([{"variant": "b", "effect_rel": 0.099, "verdict": "inconclusive", "higher_is_better": True},
                        {"variant": "c", "effect_rel": 0.2, "verdict": "loss", "higher_is_better": False}], "en")
    assert exp["tones"] == [{}, {"effect_rel": "bad"}]
    # the dashboard's view JSON carries the same tones and the localised empty marker
    from yunying.reports.view import people_view

    result["metrics"].append({"key": "arppu", "section": "revenue", "kind": "money", "current": None, "previous": 60.0,
                              "change": None})
    view = people_view("overview", {"result": result}, {}, lang="zh-Hans", currency="CNY")
    assert [t.get("change") for t in view["table"]["tones"]] == ["good", "bad", "good", None]
    assert view["table"]["texts"][3]["current"] == "—" and view["kpis"][3]["value"] == "—"
    empty = people_table([{"channel": "kol", "roas": None}], "zh-Hant")
    assert empty["texts"][0]["roas"] == "—"


@pytest.mark.parametrize("lang,words", [("zh-Hans", ("仅大小写或分隔符不同的事件名是不同的事件", "3 条事件", "此前已存储")),
                                        ("zh-Hant", ("僅大小寫或分隔符不同的事件名是不同的事件", "3 筆事件", "此前已儲存"))])
def test_near_duplicate_event_names_warning_is_translated(tmp_path, lang, words):
    """The import's warning about `Signup` / `signup` (case-insensitive near-duplicates) in the language asked for."""
    ws = tmp_path / "ws"
    cli(["init", str(ws)], lang)
    (tmp_path / "a.csv").write_text("user_id,event,time\nu1,signup,2024-01-01 10:00:00\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("user_id,event,time\n" + "".join(f"u{i},Signup,2024-01-02 10:00:00\n"
                                                                    for i in range(3)), encoding="utf-8")
    cli(["import", "events", str(tmp_path / "a.csv"), "-w", str(ws)], lang)
    out = cli(["import", "events", str(tmp_path / "b.csv"), "-w", str(ws)], lang)
    assert all(w in out for w in words), out
    assert not [line for line in out.splitlines() if english(line, {"signup", "Signup"})], out


def test_chinese_labels_use_chinese_punctuation():
    """In 简体 and 繁體 a parenthesis, comma, semicolon or colon next to Chinese text is full-width (（）、，；：):
    the catalogue's sentences and headers as a Chinese reader expects them; the separators the code joins with
    (``sep.*``) follow the language too."""
    from yunying.reports.i18n import MESSAGES, label

    ascii_next_to_chinese = re.compile(r"[\u4e00-\u9fff）][ ]?[(,;:]|[(,;:][ ]?[\u4e00-\u9fff（]")
    bad = [(key, text) for key, values in MESSAGES.items() for text in values[1:] if ascii_next_to_chinese.search(text)]
    assert not bad, bad
    assert [label(f"sep.{s}", "zh-Hant") for s in ("clause", "colon", "list", "open", "close")] == \
        ["；", "：", "，", "（", "）"]
    assert label("sep.clause", "en") == "; "
