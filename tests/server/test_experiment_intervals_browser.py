"""The experiment page names each interval with its level, and the interval agrees with the verdict beside it
(issue 13, docs/experiments.md#verdicts-and-intervals-結論與區間一致), in 简体, 繁體 and English: frequentist (95 %
confidence), Bayesian (90 % credible: the central interval of the 95 % chance-to-win threshold) and two goal
metrics under Holm (the level the correction used). Screenshots go to test-artifacts/screenshots/."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from test_dashboard_browser import SHOTS, settle
from yunying.reports.exp_intervals import interval_name
from yunying.reports.i18n import say

pytestmark = pytest.mark.browser


def _table(page) -> dict:
    return page.evaluate("""() => ({
        headers: Object.fromEntries([...document.querySelectorAll('#numbers table thead th')].map(th =>
            [th.dataset.col, {text: th.innerText.trim(), hidden: th.classList.contains('col-hidden')}])),
        rows: [...document.querySelectorAll('#numbers table tbody tr')].map(tr => Object.fromEntries(
            [...tr.querySelectorAll('td')].map(td => [td.dataset.col, {text: td.innerText.trim(),
                value: td.dataset.value === '' ? null : JSON.parse(td.dataset.value)}])))})""")


def _excludes_zero(ci) -> bool:
    return bool(ci) and ((ci[0] is not None and ci[0] > 0) or (ci[1] is not None and ci[1] < 0))


def _open(site, lang: str, spec: dict) -> dict:
    site.page.goto(f"{site.url}/experiments?lang={lang}#spec={urllib.parse.quote(json.dumps(spec))}")
    settle(site.page, 1)
    return _table(site.page)


def _check_rows(table: dict) -> int:
    called = 0
    for r in table["rows"]:
        if r.get("ci_abs", {}).get("value") is None:
            continue
        verdict = r["verdict"]["value"]
        assert _excludes_zero(r["ci_abs"]["value"]) == (verdict in ("win", "loss")), r
        if r.get("ci_rel", {}).get("value"):
            assert _excludes_zero(r["ci_rel"]["value"]) == (verdict in ("win", "loss")), r
        called += verdict in ("win", "loss")
    return called


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
@pytest.mark.parametrize("method,level,kind", [("frequentist", 0.95, "confidence"), ("bayesian", 0.9, "credible")])
def test_interval_headers_name_the_level(demo_site, lang, method, level, kind):
    spec = {"method": "bayesian"} if method == "bayesian" else {}
    spec["metrics"] = [{"name": "purchase", "event": "purchase", "kind": "conversion"}]
    table = _open(demo_site, lang, spec)
    interval = interval_name(level, kind, None, lang)   # e.g. 90% 可信区间
    assert table["headers"]["ci_abs"]["text"] == say("col.interval_abs", lang, interval=interval)
    assert table["headers"]["ci_rel"]["text"] == say("col.interval_rel", lang, interval=interval)
    assert table["headers"]["ci_level"]["hidden"]       # one level for every row: the headers say it
    _check_rows(table)
    demo_site.page.screenshot(path=str(SHOTS / f"experiments-intervals-{method}-{lang}.png"), full_page=True)
    assert not demo_site.errors


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
def test_holm_adjusted_level_beside_each_interval(demo_site, lang):
    """Two goal metrics and a guardrail: the goal intervals at the Holm level, the guardrail's at 95 %, each row's
    level in its own column."""
    spec = {"metrics": [{"name": "purchase", "event": "purchase", "kind": "conversion"},
                        {"name": "revenue", "event": "purchase", "kind": "sum", "property": "revenue"}],
            "guardrails": [{"name": "opens", "event": "app_open", "kind": "count"}]}
    api = demo_site.page.request.post(f"{demo_site.url}/api/query/experiment", data=json.dumps(spec),
                                      headers={"Content-Type": "application/json"})
    assert api.ok, api.text()
    result = api.json()
    by = {m["metric"]: m for m in result["metrics"]}
    table = _open(demo_site, lang, spec)
    assert not table["headers"]["ci_level"]["hidden"]
    for r in table["rows"]:
        m = by[r["metric"]["value"]]
        if r["ci_abs"]["value"] is None:
            continue
        assert r["ci_level"]["text"] == interval_name(m["ci_level"], "confidence", m["ci_correction"], lang)
    assert by["purchase"]["ci_correction"] == "holm" and by["opens"]["ci_level"] == pytest.approx(0.95)
    _check_rows(table)
    demo_site.page.screenshot(path=str(SHOTS / f"experiments-intervals-holm-{lang}.png"), full_page=True)
