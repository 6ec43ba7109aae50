"""The dashboard in a real browser (Debian's headless Chromium driven by Playwright).

Each page: load it, check the chart and the numbers against the query API, change a parameter, check
again. Screenshots of every page go to test-artifacts/screenshots/ (git-ignored).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from util import ARTIFACTS
from yyserver_helpers import ServerThread, create_key

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SHOTS = ARTIFACTS / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    ws = tmp_path_factory.mktemp("browser") / "demo"
    shutil.copytree(demo_template, ws)
    yield from open_site(ws)


def open_site(ws: Path):
    """The app serving ``ws`` and a signed-in headless Chromium page (a generator for module fixtures)."""
    # Selected browser tests fail when the browser is missing (deselect them with -m "not browser").
    assert Path(CHROMIUM).exists(), "Debian chromium is not installed (apt-get install chromium)"
    from playwright import sync_api
    token = create_key(ws, "read")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with ServerThread(ws) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # Playwright's wait_for_function evaluates strings, which the server's CSP forbids: bypassed here,
        # kept in test_dashboard_pages_keep_to_the_csp.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", bypass_csp=True)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/?token={token}")  # signs in: the token moves into a cookie
        yield type("Site", (), {"url": server.url, "page": page, "browser": browser, "token": token,
                                "errors": errors, "ws": ws})
        context.close()
        browser.close()


def settle(page, runs: int) -> None:
    """Wait until the page has finished its ``runs``-th query (bounded)."""
    page.wait_for_function(f"document.body.dataset.state === 'done' && +document.body.dataset.runs >= {runs}",
                           timeout=WAIT_MS)


def shown(page) -> dict:
    """What the page shows: traces of the chart, the table's rows, the spec it ran."""
    return page.evaluate("""() => {
        const chart = document.getElementById('chart');
        const rows = [...document.querySelectorAll('#numbers table tbody tr')].map(tr =>
            Object.fromEntries([...tr.querySelectorAll('td')].map(td =>
                [td.dataset.col, td.dataset.value === '' ? null : JSON.parse(td.dataset.value)])));
        const hash = decodeURIComponent(location.hash.replace('#spec=', ''));
        return {traces: chart && chart.data ? chart.data.length : 0, svg: !!document.querySelector('#chart .main-svg'),
                rows, spec: hash ? JSON.parse(hash) : null, error: document.getElementById('error').hidden ? null :
                document.getElementById('error').textContent};
    }""")


def api(site, kind: str, spec: dict) -> dict:
    resp = site.page.request.post(f"{site.url}/api/query/{kind}", data=json.dumps(spec),
                                  headers={"Content-Type": "application/json"})
    assert resp.ok, resp.text()
    return resp.json()


def check(site, kind: str, rows_key: str, name: str) -> dict:
    got = shown(site.page)
    assert got["error"] is None, got["error"]
    assert got["svg"] and got["traces"] > 0, "no chart"
    assert got["rows"], "no numbers"
    expected = api(site, kind, got["spec"])[rows_key]
    assert len(got["rows"]) == min(len(expected), 500) or kind == "experiment"
    first = got["rows"][0]
    for col, value in expected[0].items():  # the page shows the API's numbers
        if col in first and not isinstance(value, (dict, list)):
            assert first[col] == value, (col, first[col], value)
    site.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    return got


def open_page(site, path: str) -> None:
    site.page.goto(site.url + path)
    settle(site.page, 1)


def test_overview(site):
    page = site.page
    open_page(site, "/")
    before = check(site, "overview", "metrics", "overview")
    kpi = page.locator('.kpi[data-key="new_users"]')
    assert kpi.locator(".kpi-value").inner_text().strip() == f"{before['rows'][0]['current']:,}"
    assert "vs previous" in kpi.locator(".kpi-change").inner_text()
    for section in ("acquisition", "activation", "retention", "revenue"):
        assert page.locator(f'.kpi-section[data-section="{section}"] .kpi').count() >= 1
    page.fill('[data-field="week"] input', "2026-06-15")  # a parameter change re-runs the page
    page.dispatch_event('[data-field="week"] input', "change")
    settle(page, 2)
    after = check(site, "overview", "metrics", "overview-week-2026-06-15")
    assert after["spec"]["week"] == "2026-06-15" and after["rows"] != before["rows"]


def test_trends(site):
    page = site.page
    open_page(site, "/trends")
    daily = check(site, "trends", "series", "trends")
    page.select_option('[data-field="interval"] select', "week")
    settle(page, 2)
    weekly = check(site, "trends", "series", "trends-weekly")
    assert weekly["spec"]["interval"] == "week" and len(weekly["rows"]) < len(daily["rows"])
    page.fill('[data-field="event"] input', "purchase")
    page.dispatch_event('[data-field="event"] input', "change")
    settle(page, 3)
    got = check(site, "trends", "series", "trends-purchase")
    assert got["spec"]["event"] == "purchase" and "active" not in got["spec"]


def test_funnel_builder(site):
    page = site.page
    open_page(site, "/funnel")
    three = check(site, "funnel", "steps", "funnel")
    assert [r["name"] for r in three["rows"]] == ["signup", "activate", "purchase"]
    page.locator('[data-field="steps"] .row button').nth(1).click()  # remove "activate"
    settle(page, 2)
    two = check(site, "funnel", "steps", "funnel-two-steps")
    assert [r["name"] for r in two["rows"]] == ["signup", "purchase"]
    page.locator('[data-field="steps"] button.add').click()
    page.locator('[data-field="steps"] .row input').nth(2).fill("share")
    page.locator('[data-field="steps"] .row input').nth(2).dispatch_event("change")
    settle(page, 3)
    assert [r["name"] for r in check(site, "funnel", "steps", "funnel-built")["rows"]] == ["signup", "purchase",
                                                                                            "share"]


def test_retention_heatmap(site):
    page = site.page
    open_page(site, "/retention")
    weekly = check(site, "retention", "cohorts", "retention")
    assert page.evaluate("document.getElementById('chart').data[0].type") == "heatmap"
    page.fill('[data-field="periods"] input', "3")
    page.dispatch_event('[data-field="periods"] input', "change")
    settle(page, 2)
    short = check(site, "retention", "cohorts", "retention-3-periods")
    assert short["spec"]["periods"] == 3
    # a column per period (rates; counts behind the column chooser), equal to the API's lists
    periods = lambda got: [k for k in got["rows"][0] if k.startswith("rate_")]  # noqa: E731
    assert len(periods(short)) == 4 < len(periods(weekly))
    cohort = api(site, "retention", short["spec"])["cohorts"][0]
    assert [short["rows"][0][f"rate_{j}"] for j in range(4)] == cohort["rates"]
    assert [short["rows"][0][f"retained_{j}"] for j in range(4)] == [
        n if r is not None else None for n, r in zip(cohort["retained"], cohort["rates"])]


def test_lifecycle(site):
    page = site.page
    open_page(site, "/lifecycle")
    assert not page.locator("#not-available").count(), "the lifecycle page says it is not available"
    key = api(site, "lifecycle", shown(page)["spec"])
    rows_key = next(k for k, v in key.items() if isinstance(v, list) and v and isinstance(v[0], dict))
    weekly = check(site, "lifecycle", rows_key, "lifecycle")
    page.select_option('[data-field="period"] select', "day")
    settle(page, 2)
    daily = check(site, "lifecycle", rows_key, "lifecycle-daily")
    assert len(daily["rows"]) > len(weekly["rows"])


def test_channels(site):
    page = site.page
    open_page(site, "/channels")
    by_channel = check(site, "channels", "rows", "channels")
    page.select_option('[data-field="by"] select', "campaign")
    settle(page, 2)
    by_campaign = check(site, "channels", "rows", "channels-by-campaign")
    assert by_campaign["spec"]["by"] == "campaign" and len(by_campaign["rows"]) >= len(by_channel["rows"])


def test_experiments(site):
    page = site.page
    open_page(site, "/experiments")
    got = shown(page)
    assert got["error"] is None and got["svg"] and got["traces"] > 0
    variants = {r["variant"] for r in got["rows"]}
    assert variants == {"control", "treatment"}
    page.screenshot(path=str(SHOTS / "experiments.png"), full_page=True)
    page.select_option('[data-field="method"] select', "bayesian")
    settle(page, 2)
    got = shown(page)
    assert got["spec"]["method"] == "bayesian" and got["rows"] and "chance_to_win" in got["rows"][1]
    page.screenshot(path=str(SHOTS / "experiments-bayesian.png"), full_page=True)


def test_languages_follow_the_browser_and_switch(site):
    context = site.browser.new_context(locale="zh-TW", viewport={"width": 1280, "height": 900},
                                       bypass_csp=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{site.url}/?token={site.token}")
    settle(page, 1)
    assert page.get_attribute("html", "lang") == "zh-Hant"
    assert page.locator("nav a.current").inner_text() == "概覽"
    assert page.locator('.kpi[data-key="new_users"] .kpi-label').inner_text() == "新增註冊用戶"
    page.screenshot(path=str(SHOTS / "overview-zh-Hant.png"), full_page=True)
    page.select_option("#lang", "zh-Hans")
    page.wait_for_load_state()
    settle(page, 1)
    assert page.get_attribute("html", "lang") == "zh-Hans"
    assert page.locator("nav a.current").inner_text() == "概览"
    page.goto(f"{site.url}/trends")  # remembered
    settle(page, 1)
    assert page.get_attribute("html", "lang") == "zh-Hans" and page.locator("h1").inner_text() == "事件分析"
    assert page.locator('[data-field="interval"] span').inner_text() == "时间粒度"
    page.screenshot(path=str(SHOTS / "trends-zh-Hans.png"), full_page=True)
    context.close()


def test_saved_analysis_and_dashboard(site):
    page = site.page
    open_page(site, "/trends")
    page.select_option('[data-field="interval"] select', "week")
    settle(page, 2)
    page.fill("#save-name", "Weekly actives")
    page.click("#save")
    page.wait_for_function("document.getElementById('save-status').textContent.includes('Weekly actives')")
    saved_id = page.get_attribute("#save-status", "data-id")
    assert (site.ws / "saved" / "analyses" / f"{saved_id}.json").exists()
    page.goto(f"{site.url}/saved")
    page.wait_for_function("document.body.dataset.state === 'done'")
    assert page.locator(f'#saved-analyses li[data-id="{saved_id}"] a').inner_text() == "Weekly actives"
    page.fill("#dashboard-name", "Monday review")
    page.check(f'#dashboard-items input[value="{saved_id}"]')
    page.click("#create-dashboard")
    page.wait_for_selector("#dashboards li a")
    page.screenshot(path=str(SHOTS / "saved.png"), full_page=True)
    page.click("#dashboards li a")
    page.wait_for_function("document.body.dataset.state === 'done'")
    assert page.locator("#dashboard-title").inner_text() == "Monday review"
    page.wait_for_selector(f'section[data-id="{saved_id}"] .chart .main-svg')
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    # Opening the saved analysis restores its parameters.
    page.goto(f"{site.url}/trends?saved={saved_id}")
    settle(page, 1)
    assert shown(page)["spec"]["interval"] == "week"


def test_sign_in_page(site):
    context = site.browser.new_context(locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.goto(f"{site.url}/funnel")
    assert "/login" in page.url
    page.fill('input[name="token"]', "yyr_wrong_token")
    page.click('button[type="submit"]')
    assert page.locator("#login-error").is_visible()
    page.fill('input[name="token"]', site.token)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{site.url}/funnel")
    settle(page, 1)
    page.screenshot(path=str(SHOTS / "sign-in-then-funnel.png"))
    context.close()


def test_api_docs_render_offline_under_the_csp(site):
    """Swagger UI comes from this server (no CDN) and runs under the Content-Security-Policy."""
    context = site.browser.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(site.url) else None)
    page.goto(f"{site.url}/api/docs")
    page.wait_for_selector("#operations-query-query_trends_api_query_trends_post, .opblock", timeout=WAIT_MS)
    assert page.locator(".opblock").count() > 10
    page.screenshot(path=str(SHOTS / "api-docs.png"))
    context.close()
    assert outside == [] and problems == [], (outside, problems)


def test_dashboard_pages_keep_to_the_csp(site):
    context = site.browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{site.url}/?token={site.token}")
    page.wait_for_selector('body[data-state="done"] #chart .main-svg', timeout=WAIT_MS)
    page.goto(f"{site.url}/retention")
    page.wait_for_selector('body[data-state="done"] #chart .main-svg', timeout=WAIT_MS)
    context.close()
    assert violations == []


def test_no_script_errors(site):
    assert site.errors == []
