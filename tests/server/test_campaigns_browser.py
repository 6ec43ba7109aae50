"""The dashboard's campaigns page in a real browser: the portfolio, and a campaign's plan (Gantt chart), pacing
and review equal the analyses' own results, in English and 繁體中文, within the pages' CSP."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from util import ARTIFACTS
from yyserver_helpers import ServerThread, create_key

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    assert Path(CHROMIUM).exists(), "Debian chromium is not installed (apt-get install chromium)"
    from playwright import sync_api

    import yunying.engines  # noqa: F401
    from yunying.analyses.campaigns import load
    from yunying.analyses.campaigns.review import review
    from yunying.demo.campaigns import setup_workspace
    from yunying.storage.workspace import Workspace

    ws_dir = tmp_path_factory.mktemp("campaigns") / "demo"
    shutil.copytree(demo_template, ws_dir)
    truth = json.loads((demo_template.parent / "data" / "truth.json").read_text(encoding="utf-8"))
    with Workspace.open(ws_dir) as ws:
        setup_workspace(ws, truth)
        want = review(ws, load(ws, "summer_sale")).data
    token = create_key(ws_dir, "read")
    with ServerThread(ws_dir) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")  # CSP kept
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not
                r.url.endswith("/favicon.ico") and "/campaigns/nope" not in r.url else None)
        page.goto(f"{server.url}/?token={token}")
        yield type("Site", (), {"url": server.url, "page": page, "errors": errors, "want": want, "truth": truth})
        context.close()
        browser.close()


def cells(page, sel: str) -> list[list[str]]:
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' tbody tr')].map(tr =>
        [...tr.querySelectorAll('td')].map(td => td.innerText))""", sel)


@pytest.mark.parametrize("lang,title,review", [("en", "Campaigns", "Review"), ("zh-Hant", "活動運營", "活動復盤")])
def test_campaigns_pages(site, lang, title, review):
    from yunying.reports import campaigns as R

    page = site.page
    page.goto(f"{site.url}/campaigns?lang={lang}")
    assert page.locator("h1").inner_text() == title
    assert page.locator("nav a.current").inner_text() == title
    page.wait_for_selector("body[data-state='done']", state="attached")
    rows = cells(page, "#portfolio table")
    assert [r[0] for r in rows] == ["summer_sale"]
    want = site.want
    cur = "CNY"
    expected = R.portfolio_rows([{"campaign": "summer_sale", "start": want["campaign"]["start"],
                                  "end": want["campaign"]["end"], "status": "complete", "method": "holdout",
                                  "evidence": want["lift"]["evidence"], "cost": want["cost"]["total"],
                                  **{f"incremental_purchases{s}": want["economics"]["incremental_purchases"][k]
                                     for s, k in (("", "value"), ("_low", "low"), ("_high", "high"))},
                                  **{f"cost_per_incremental_purchase{s}":
                                     want["economics"]["cost_per_incremental_purchase"][k]
                                     for s, k in (("", "value"), ("_low", "low"), ("_high", "high"))},
                                  "roi": want["economics"]["roi"]["value"]}], lang, cur)[1]
    assert rows == expected
    # the shared table of every page: headers as written, a column chooser, CSV and Excel export
    assert page.locator("#portfolio th").all_inner_texts() == R.portfolio_rows([], lang, cur)[0]
    assert page.locator("#portfolio .export-csv").count() == 1 == page.locator("#portfolio .export-xlsx").count()
    # the portfolio chart: one point per reviewed campaign at its cost per incremental purchase
    ys = page.evaluate("document.querySelector('#portfolio .yy-fig')._fullData[0].y")
    assert ys == [pytest.approx(want["economics"]["cost_per_incremental_purchase"]["value"])]

    with page.expect_navigation():
        page.click("#campaign-links a")
    page.wait_for_selector("body[data-state='done']", state="attached")
    assert page.locator("#review h2").first.inner_text() == review
    # the charts were drawn from their data (Gantt + one pacing chart per goal) by app.js under the CSP
    n = int(page.evaluate("document.body.dataset.charts"))
    assert n == 1 + len(want["goals"])
    assert page.locator(".yy-fig .main-svg").count() >= n
    bars = page.evaluate("document.querySelector('#plan .yy-fig')._fullData.map(t => t.y).flat()")
    assert set(bars) == {t["name"] for t in want["campaign"]["tasks"]}
    # the review's tables are the report's own rows for the analysis result
    assert cells(page, "#review table")[: len(want["goals"])] == R.goal_rows(want, lang, cur)[1]
    summary = page.locator("#review .camp-summary").all_inner_texts()
    assert summary == R.summary(want, lang, cur)
    tables = page.locator(".table-scroll").count()
    assert tables >= 5 and page.locator(".export-csv").count() == tables == page.locator(".export-xlsx").count()
    assert not site.errors, site.errors
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"campaign-{lang}.png"), full_page=True)
    page.goto(f"{site.url}/campaigns?lang=en")


def test_overview_panel_links_campaigns(site):
    page = site.page
    page.goto(f"{site.url}/?lang=en")
    links = page.locator("#campaigns-panel li a")
    assert links.all_inner_texts() == ["summer_sale"]
    assert links.first.get_attribute("href") == "/campaigns/summer_sale"


def test_unknown_campaign_says_so(site):
    page = site.page
    resp = page.goto(f"{site.url}/campaigns/nope?lang=en")
    assert resp.status == 404 and "no campaign 'nope'" in page.locator("#error").inner_text()
