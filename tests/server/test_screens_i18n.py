"""Issue 13 (screens): every dashboard page in English, 简体 and 繁體 — no untranslated visible string, no
snake_case header, the "Seen" traps fixed — with a screenshot of each page in each language kept in
test-artifacts/screenshots/ (git-ignored; docs/server.md#screens)."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import openpyxl
import pytest

from test_dashboard_browser import SHOTS, open_site, settle
from yunying.reports.i18n import LANGS, MESSAGES

pytestmark = pytest.mark.browser


def all_pages() -> list[str]:
    """Every page the dashboard serves: its named pages, a page per other analysis (as the "More" menu lists
    them), the campaign, saved-analysis and segment pages — derived from the app, so a new page is covered."""
    from yunying.analyses import registry
    from yunying.server.dashboard import PAGE_OF_KIND, PAGES as NAMED

    named = [path for path, _, _ in NAMED]
    others = [f"/analysis/{k}" for k in registry.available() if k not in PAGE_OF_KIND]
    return named + others + ["/campaigns", "/campaigns/summer_sale", "/saved", "/segments"]


PAGES = all_pages()
# Pages drawn from server-side data (no query runs, no #error on success): wait for their script to finish.
STATIC_PAGES = {"/saved", "/campaigns", "/campaigns/summer_sale", "/segments"}
# The demo's 6 weeks do not pin BG/NBD (the default) down: /customers and win-back open with their defaults,
# showing Pareto/NBD and a note that says so (test_customers_open_with_a_note below).
# A piece's reader forecast needs a piece: the demo's most-read one (a page without it opens empty, saying so).
START: dict = {"/analysis/content_forecast": {"content_id": "c0124"}}
# Words that are the same in every language: acronyms, units, model and product names.
SAME = {"RFM", "ROAS", "LTV", "CAC", "CUPED", "ARPPU", "DAU", "MAU", "WAU", "CSV", "Excel", "BG", "NBD", "Pareto",
        "SRM", "Gamma-Gamma", "P50", "P90", "P95", "P99", "yunying", "English", "ID", "Hill", "Holm", "Benjamini", "Hochberg",
        "CNY", "pp", "min", "n/a", "P", "p", "R", "F", "M", "h", "d", "s", "a", "e"}

@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    """The demo with its campaigns (definitions and summer_sale's holdout), so the campaign pages have content."""
    import shutil

    import yunying.engines  # noqa: F401
    from yunying.demo.campaigns import setup_workspace
    from yunying.storage.workspace import Workspace

    ws_dir = tmp_path_factory.mktemp("screens") / "demo"
    shutil.copytree(demo_template, ws_dir)
    truth = json.loads((demo_template.parent / "data" / "truth.json").read_text(encoding="utf-8"))
    with Workspace.open(ws_dir) as ws:
        setup_workspace(ws, truth)
    yield from open_site(ws_dir)


VISIBLE = """() => {
  const vis = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const texts = [];
  const add = (where, s) => { if (s && String(s).trim()) texts.push([where, String(s).trim()]); };
  document.querySelectorAll('h1, h2, h3, nav a, nav summary, .field > span, .notes p, .kpi-label, .kpi-change, ' +
      '.kpi-head, .table-tools summary, .table-tools button, .actions button, label.lang span, ' +
      '.filter-bar h3, .flt-tools button, .flt-seg span, .flt-expert summary, .flt-error p, .rule-word, .rule-head span, ' +
      '.rule-neg, .rule-tools button, .seg-size span, #seg-list td, #seg-list p')
    .forEach((el) => { if (vis(el)) add('label', el.innerText); });
  document.querySelectorAll('select option').forEach((o) => add('option', o.textContent));
  document.querySelectorAll('th').forEach((th) => { if (vis(th)) add('header', th.innerText); });
  document.querySelectorAll('table').forEach((table) => {
    const kinds = [...table.querySelectorAll('th')].map((th) => th.dataset.kind);
    table.querySelectorAll('tbody tr').forEach((tr) => [...tr.children].forEach((td, i) => {
      if (!vis(td)) return;
      add(kinds[i] === 'data' ? 'data' : 'cell', td.innerText);
    }));
  });
  document.querySelectorAll('.field input[type=text]').forEach((i) => add('input', i.value));
  document.querySelectorAll('#chart, .yy-fig').forEach((chart) => {
    if (!chart.layout) return;
    const L = chart.layout;
    const title = (t) => (t && typeof t === 'object' ? t.text : t);
    add('chart', title(L.title));
    Object.keys(L).filter((k) => /^[xy]axis\\d*$/.test(k)).forEach((k) => add('chart', title(L[k].title)));
    (L.annotations || []).forEach((a) => add('chart', a.text));
    const full = chart._fullLayout || {};
    Object.keys(full).filter((k) => /^[xy]axis\d*$/.test(k)).forEach((k) =>
      (full[k]._vals || []).forEach((v) => add('tick', String(v.text || '').replace(/<br>/g, ' '))));
    (chart.data || []).forEach((d) => {
      if (d.showlegend !== false) add('legend', d.name);
      if (d.node && Array.isArray(d.node.label)) d.node.label.forEach((v) => add('tick', v));  // paths' nodes
      ['x', 'y'].forEach((a) => { if (Array.isArray(d[a]) && ['bar', 'heatmap'].includes(d.type)) d[a].forEach((v) => { if (typeof v === 'string' && !/^\d{4}-/.test(v)) add('tick', v); }); });
    });
  });
  document.querySelectorAll('#chart').forEach((c) => { if (!c.layout) add('label', c.innerText); });  // a chart in words
  return texts;
}"""

# What no page may show on opening, in any language: an error from the code, an empty-value marker of the code.
RAW = re.compile(r"\b(NaN|undefined|None|null|Infinity|Traceback|Field required|[A-Z][a-z]+Error)\b")


def page_faults(page) -> list:
    """Words of the code on the page, and a page wider than the window (a wide table must scroll in its box)."""
    out = [("raw", m) for m in RAW.findall(page.inner_text("main"))]
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
        out.append(("layout", "the page is wider than the window"))
    wide = page.evaluate("[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.parentElement"
                         ".clientWidth + 1 && getComputedStyle(t.parentElement).overflowX !== 'auto').length")
    if wide:
        out.append(("layout", f"{wide} table(s) wider than their box without a scroll bar"))
    return out


def data_values(site) -> set[str]:
    """The user's own names: events, properties, channels, campaigns, placements, variants, ids."""
    got = site.page.request.get(f"{site.url}/api/schema").json()
    names = {e["event"] for e in got["events"]} | set(got["properties"]) | set(got.get("segments", []))
    import duckdb
    con = duckdb.connect(str(site.ws / "yunying.duckdb"), read_only=True)
    try:
        for sql in ("SELECT DISTINCT channel FROM events", "SELECT DISTINCT utm_campaign FROM events",
                    "SELECT DISTINCT variant FROM events", "SELECT * FROM spend LIMIT 0"):
            try:
                names |= {r[0] for r in con.execute(sql).fetchall() if isinstance(r[0], str)}
            except duckdb.Error:
                pass
        for col in ("channel", "campaign", "placement"):
            try:
                names |= {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM spend").fetchall() if r[0]}
            except duckdb.Error:
                pass
    finally:
        con.close()
    from yunying.analyses.metrics import builtin_definitions
    from yunying.config import WorkspaceConfig
    names |= set(builtin_definitions(WorkspaceConfig(name="x").events))  # metric names (active_users …): the workspace's, editable in yunying.toml
    from yunying.storage import campaigns as store
    for camp in store.all_(site.ws):  # campaign, task and owner names are the user's own
        names |= {camp.name} | {t.name for t in camp.tasks} | {t.owner for t in camp.tasks if t.owner}
    return {n for n in names if n}


def only_in(lang: str) -> set[str]:
    """Characters that occur in one Chinese script's labels and never in the other's."""
    hans = "".join(v[1] for v in MESSAGES.values())
    hant = "".join(v[2] for v in MESSAGES.values())
    return set(hans) - set(hant) if lang == "zh-Hans" else set(hant) - set(hans)


def problems(texts: list, lang: str, data: set[str]) -> list:
    out = []
    foreign = only_in("zh-Hant" if lang == "zh-Hans" else "zh-Hans") if lang != "en" else set()
    for where, text in texts:
        if "$any" in text or re.search(r"\$[a-z]", text):
            out.append((where, text, "yunying's internal name shown"))
        if lang != "en" and "n/a" in text:  # the empty marker in Chinese is —
            out.append((where, text, "English empty marker n/a"))
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", text)]
        snake = [w for w in words if "_" in w and w not in data]
        if snake and where != "data":
            out.append((where, text, f"snake_case {snake}"))
        if lang != "en" and where not in ("data", "input"):
            left = [w for w in words if w not in SAME and w not in data and not re.fullmatch(r"[A-Za-z]\d*|\d+\w*", w)
                    and not any(w in d for d in data)]
            if left:
                out.append((where, text, f"untranslated {left}"))
            wrong = sorted({c for c in text if c in foreign})
            if wrong and text not in data:  # the user's own names may be in either script
                out.append((where, text, f"other script's characters {wrong}"))
    return out


@pytest.fixture(scope="module")
def board(site) -> str:
    """A saved analysis on a saved dashboard (the user's own names), so /dashboards/ID has a chart."""
    post = lambda path, body: site.page.request.post(f"{site.url}{path}", data=json.dumps(body),  # noqa: E731
                                                     headers={"Content-Type": "application/json"}).json()
    item = post("/api/saved/analyses", {"name": "每周新增用户", "kind": "new_users", "spec": {"interval": "week"}})
    return f'/dashboards/{post("/api/saved/dashboards", {"name": "运营周报", "items": [item["analysis"]["id"]]})["dashboard"]["id"]}'


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_is_translated_and_shot(site, board, lang):  # noqa: F811
    page, data = site.page, data_values(site) | {"每周新增用户", "运营周报"}
    found = []
    for path in PAGES + [board, "/login"]:
        spec = START.get(path)
        page.goto(f"{site.url}{path}?lang={lang}" + (f"#spec={quote(json.dumps(spec))}" if spec else ""))
        if path == "/login":
            page.wait_for_load_state()
        elif path in STATIC_PAGES or path == board:
            page.wait_for_function("document.body.dataset.state === 'done'")
            assert page.locator("#error").count() == 0 or not page.locator("#error").is_visible(), (path, lang)
        else:
            settle(page, 1)
            err = page.evaluate("document.getElementById('error').hidden ? null : "
                                "document.getElementById('error').textContent")
            assert err is None, (path, lang, err)
        assert page.get_attribute("html", "lang") == lang
        name = "dashboard" if path == board else path.strip("/").replace("/", "-") or "overview"
        page.screenshot(path=str(SHOTS / f"screen-{name}-{lang}.png"), full_page=True)
        found += [(path, *p) for p in problems(page.evaluate(VISIBLE), lang, data)]
        found += [(path, *p) for p in page_faults(page)]
    assert not found, "\n".join(map(str, found[:40]))
    assert not site.errors


@pytest.mark.parametrize("lang", LANGS)
def test_filter_bar_and_segment_builder_are_translated(site, lang):
    """The filter bar open (a condition row, a segment, the expert box, a parser error) and the segment builder
    with a row of each kind: every visible word in the page's language."""
    page, data = site.page, data_values(site)
    spec = {"steps": ["signup", "activate", "purchase"], "window": "7d",
            "filters": ["event.channel = 'kol'", "event.channel != "]}
    page.goto(f"{site.url}/funnel?lang={lang}#spec={quote(json.dumps(spec))}")
    page.wait_for_function("+document.body.dataset.runs >= 1 && document.body.dataset.state !== 'loading'")
    assert page.locator(".flt-expert[open]").count() == 1 and page.locator(".flt-error").count() == 1
    page.click("#flt-add")
    page.screenshot(path=str(SHOTS / f"screen-filter-bar-{lang}.png"), full_page=True)
    found = problems(page.evaluate(VISIBLE), lang, data)
    page.goto(f"{site.url}/segments?lang={lang}")
    page.wait_for_function("document.body.dataset.state === 'done'")
    for kind in ("property", "segment", "group"):
        page.click(f"#seg-builder .rule-tools .add-{kind} >> nth=0")
    page.select_option(".rule-window >> nth=0", "between")
    page.screenshot(path=str(SHOTS / f"screen-segment-builder-{lang}.png"), full_page=True)
    found += problems(page.evaluate(VISIBLE), lang, data)
    assert not found, "\n".join(map(str, found[:40]))
    assert not site.errors


def test_customers_open_with_a_note(site):
    page = site.page
    for lang in LANGS:
        page.goto(f"{site.url}/customers?lang={lang}")
        settle(page, 1)
        assert page.evaluate("document.getElementById('error').hidden"), lang
        assert page.locator("#notes p").first.inner_text() == MESSAGES["model_fallback"][LANGS.index(lang)]
        assert page.locator("#numbers tbody tr").count() > 0 and page.locator("#winback tbody tr").count() > 0
    assert not site.errors


def chart_layout(page) -> dict:
    return page.evaluate("JSON.parse(JSON.stringify(document.getElementById('chart')._fullLayout, "
                         "(k, v) => k.startsWith('_') && k !== '_vals' ? undefined : v))")


def test_funnel_counts_users_and_intervals_open(site):  # noqa: F811
    page = site.page
    for lang, header in (("en", "Users"), ("zh-Hans", "用户数"), ("zh-Hant", "用戶數")):
        page.goto(f"{site.url}/funnel?lang={lang}")
        settle(page, 1)
        assert page.locator('#numbers th[data-col="count"]').inner_text() == header
    page.goto(f"{site.url}/analysis/intervals?lang=en")
    settle(page, 1)
    assert page.evaluate("document.getElementById('error').hidden")
    assert page.locator("#numbers tbody tr").count() > 0
    # a required field left empty: the page says what to fill in, not "Field required"
    page.fill('[data-field="first_event"] input', "")
    page.dispatch_event('[data-field="first_event"] input', "change")
    settle(page, 2)
    assert page.evaluate("document.getElementById('error').hidden")
    assert "First event" in page.locator("#notes").inner_text()


def test_any_event_keeps_the_typed_event_and_any_is_named(site):  # noqa: F811
    page = site.page
    page.goto(f"{site.url}/trends?lang=en")
    settle(page, 1)
    assert page.is_checked('[data-field="active"] input')
    page.locator('[data-field="event"] input').type("purchase")  # typing unticks "any event" at once
    assert not page.is_checked('[data-field="active"] input')
    page.check('[data-field="active"] input')                     # tick: any event
    page.uncheck('[data-field="active"] input')                   # untick: the typed event is back
    assert page.input_value('[data-field="event"] input') == "purchase"
    settle(page, 2)
    spec = json.loads(page.evaluate("decodeURIComponent(location.hash.replace('#spec=', ''))"))
    assert spec.get("event") == "purchase" and not spec.get("active")
    page.goto(f"{site.url}/retention?lang=zh-Hans")
    settle(page, 1)
    assert page.input_value('[data-field="return_event"] input') == "任意事件"
    spec = json.loads(page.evaluate("decodeURIComponent(location.hash.replace('#spec=', ''))"))
    assert spec["return_event"] == "$any"


def test_experiment_metrics_are_a_form(site):  # noqa: F811
    page = site.page
    page.goto(f"{site.url}/experiments?lang=en")
    settle(page, 1)
    box = page.locator('[data-field="metrics"]')
    assert box.locator("textarea").count() == 0 and box.locator(".object-row").count() == 1
    assert box.locator('.object-row [data-field="event"] input').input_value() == "purchase"
    labels = box.locator(".object-row").first.locator(".field > span").all_inner_texts()
    assert labels[0] == "Name" and len(set(labels)) == len(labels), labels  # name first; no two fields called "Type"
    box.locator("button.add").click()
    row = box.locator(".object-row").nth(1)
    row.locator('[data-field="name"] input').fill("activation")
    row.locator('[data-field="event"] input').fill("activate")
    row.locator('[data-field="event"] input').dispatch_event("change")
    settle(page, 2)
    assert {r for r in page.evaluate("[...document.querySelectorAll('#numbers td[data-col=metric]')]"
                                     ".map(td => JSON.parse(td.dataset.value))")} == {"purchase", "activation"}


def test_last_review_findings_on_the_pages(site):  # noqa: F811
    """Spend uncoloured, rate changes with arrows, the experiment's name field and title, referrals' grouping a
    choice, a weekly x axis titled week (issue 13, the last review)."""
    page = site.page
    page.goto(f"{site.url}/?lang=zh-Hans")
    settle(page, 1)
    assert page.get_attribute('.kpi[data-key="spend"] .kpi-change', "data-tone") == ""
    rates = page.evaluate("[...document.querySelectorAll('#numbers tbody tr')].map(tr => [...tr.children]"
                          ".map(td => td.innerText)).filter(r => r.some(c => c.endsWith(' pp')))")
    assert rates and all(r[-1][0] in "▲▼=" for r in rates), rates
    page.goto(f"{site.url}/experiments?lang=zh-Hans")
    settle(page, 1)
    assert page.locator('[data-field="experiment"] > span').inner_text() == "实验名称"
    assert "对照组（对照组）" not in chart_layout(page)["title"]["text"]
    assert chart_layout(page)["title"]["text"].startswith("相对对照组的效果")
    page.goto(f"{site.url}/analysis/referrals?lang=zh-Hant")
    settle(page, 1)
    by = page.locator('[data-field="by"] select')
    assert by.count() == 1 and by.locator("option").all_inner_texts() == ["單篇", "計劃"]
    page.goto(f"{site.url}/trends?lang=zh-Hant#spec={quote(json.dumps({'active': True, 'interval': 'week'}))}")
    settle(page, 1)
    assert chart_layout(page)["xaxis"]["title"]["text"] == "週"
    assert not site.errors


def test_axes_weeks_and_budget_lines(site):  # noqa: F811
    page = site.page
    page.goto(f"{site.url}/analysis/revenue?lang=en")
    settle(page, 1)
    layout = chart_layout(page)
    assert layout["yaxis2"]["range"][0] >= 0 and layout["yaxis"]["range"][0] >= 0  # paying users never < 0
    import datetime as dt
    ticks = page.evaluate("document.getElementById('chart')._fullLayout.xaxis._vals.map(v => v.x)")
    days = {dt.datetime.utcfromtimestamp(x / 1000).date() for x in ticks}
    assert days and all(d.weekday() == 0 for d in days), days  # weeks labelled with their Monday
    page.goto(f"{site.url}/analysis/budget?lang=en")
    settle(page, 1)
    notes = page.evaluate("document.getElementById('chart').layout.annotations.filter(a => a.name === 'typical_day')")
    rows = {r["channel"]: r for r in page.evaluate(
        "[...document.querySelectorAll('#numbers tbody tr')].map(tr => Object.fromEntries([...tr.children]"
        ".map(td => [td.dataset.col, td.dataset.value === '' ? null : JSON.parse(td.dataset.value)])))")}
    texts = page.evaluate("[...document.querySelectorAll('#numbers tbody tr')].map(tr => "
                          "tr.querySelector('td[data-col=typical_day_spend]').innerText)")
    assert notes and all(n["text"].startswith("Typical spend day ") for n in notes)
    assert {n["x"] for n in notes} <= {r["typical_day_spend"] for r in rows.values()}
    assert all(n["text"].removeprefix("Typical spend day ") in texts for n in notes)  # same words, same number
    header = page.locator('#numbers th[data-col="typical_day_spend"]').inner_text()
    assert header == "Typical spend day"


def test_wide_tables_scroll_choose_columns_and_export(site, tmp_path):  # noqa: F811
    page = site.page
    page.goto(f"{site.url}/channels?lang=zh-Hans")
    settle(page, 1)
    box = page.locator("#numbers .table-scroll")
    assert page.evaluate("(el) => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto'",
                         box.element_handle())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # the page does not run off
    page.locator("#numbers .table-tools summary").click()
    page.uncheck('#numbers .chooser input[value="impressions"]')
    assert not page.locator('#numbers th[data-col="impressions"]').is_visible()
    with page.expect_download() as dl:
        page.click("#numbers .export-csv")
    text = open(dl.value.path(), encoding="utf-8-sig").read()
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["渠道", "付费渠道", "花费"] and "展示" not in header
    with page.expect_download() as dl:
        page.click("#numbers .export-xlsx")
    dl.value.save_as(tmp_path / "channels.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "channels.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0][:3]) == ["渠道", "付费渠道", "花费"]
    shown = page.evaluate("[...document.querySelectorAll('#numbers td[data-col=spend]')].map(td => "
                          "JSON.parse(td.dataset.value))")
    assert [r[2] for r in rows[1:]] == shown
    for path in [p for p in PAGES if p not in STATIC_PAGES]:  # every table offers both exports
        page.goto(f"{site.url}{path}?lang=en" + (f"#spec={quote(json.dumps(START[path]))}" if path in START else ""))
        settle(page, 1)
        tables = page.locator(".table-scroll").count()
        assert tables >= 1 and page.locator(".export-csv").count() == tables == page.locator(".export-xlsx").count(), \
            (path, tables)


def test_a_built_in_metric_reads_by_its_name_in_words(site):  # noqa: F811
    """/analysis/explain and /analysis/metric opened on "active_users" (a key) in the metric box: the box shows the
    metric as people call it and sends the key; another built-in picked by its words runs; a workspace's own metric
    name passes as it is."""
    page = site.page
    page.goto(f"{site.url}/analysis/explain?lang=zh-Hans")
    settle(page, 1)
    box = page.locator('[data-field="metric"] input')
    assert box.input_value() == "活跃用户"
    assert page.locator('#dl-metrics option[value="付费率"]').count() == 1
    box.fill("付费率")
    box.dispatch_event("change")
    settle(page, 2)
    spec = json.loads(page.evaluate("decodeURIComponent(location.hash.replace('#spec=', ''))"))
    assert spec["metric"] == "pay_rate"
    assert page.evaluate("document.getElementById('error').hidden")
    page.goto(f"{site.url}/analysis/metric?lang=en#spec={quote(json.dumps({'metric': 'buyers'}))}")
    settle(page, 1)
    assert page.locator('[data-field="metric"] input').input_value() == "Buyers"
    assert not site.errors
