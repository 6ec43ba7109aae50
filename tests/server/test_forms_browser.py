"""Issue 13, forms instead of JSON boxes: the funnel's per-step filters are condition rows under each step.

* rows filled for step 2 send the same ``step_filters`` trees the JSON box took, and the page's counts are those
  of ``yunying funnel --steps 'signup,activate[event.platform = …],purchase'`` (the CLI reads the step's filter
  from the filter language: an independent path);
* a link (``#spec=``) or a saved analysis with step filters opens with the rows filled, and runs the same spec;
* a row begun but not finished, or with an unknown property, is named in the error (which step, which condition);
* no JSON box is left on the funnel page, in any language.
"""
from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote

import pytest

from yunying.reports.i18n import messages
from test_dashboard_browser import SHOTS, open_site, settle, shown

pytestmark = pytest.mark.browser

IOS = {"field": {"scope": "event", "name": "platform"}, "op": "=", "value": {"type": "string", "value": "ios"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    import shutil

    ws = tmp_path_factory.mktemp("forms") / "demo"
    shutil.copytree(demo_template, ws)
    yield from open_site(ws)


def cli_funnel(ws, steps: str) -> list[int]:
    """The funnel's counts through the CLI, on the demo template (the served copy is held by the server)."""
    out = subprocess.run([sys.executable, "-m", "yunying", "funnel", "-w", str(ws), "--steps", steps,
                          "--format", "json"], capture_output=True, text=True, check=True).stdout
    return [s["count"] for s in json.loads(out)["steps"]]


def step_block(page, n: int):
    return page.locator('[data-field="steps"] .step-block').nth(n - 1)


def fill_row(block, prop: str, op: str, value: str) -> None:
    block.locator(".step-flt-add").click()
    row = block.locator(".flt-row").last
    row.locator(".flt-prop").fill(prop)
    row.locator(".flt-op").select_option(op)
    row.locator(".flt-value").fill(value)
    row.locator(".flt-value").dispatch_event("change")


def test_rows_for_step_two_send_the_json_trees_and_count_as_the_cli(site, demo_template):
    page = site.page
    page.goto(f"{site.url}/funnel?lang=en")
    settle(page, 1)
    plain = [r["count"] for r in shown(page)["rows"]]
    fill_row(step_block(page, 2), "platform", "=", "ios")
    settle(page, 2)
    got = shown(page)
    assert got["error"] is None, got["error"]
    assert got["spec"]["step_filters"] == [[], [IOS], []]  # exactly the trees the JSON box took
    counts = [r["count"] for r in got["rows"]]
    assert counts == cli_funnel(demo_template, "signup,activate[event.platform = 'ios'],purchase")
    assert counts[0] == plain[0] and 0 < counts[1] < plain[1]  # the filter bites on step 2 only
    page.screenshot(path=str(SHOTS / "forms-funnel-step-filter-en.png"), full_page=True)
    # a second row on step 2 and one on step 3: rows of one step are ANDed, each step keeps its own list
    fill_row(step_block(page, 2), "platform", "in", "ios, web")
    settle(page, 3)
    fill_row(step_block(page, 3), "revenue", ">", "20")
    settle(page, 4)
    got = shown(page)
    ios_web = {"field": {"scope": "event", "name": "platform"}, "op": "in",
               "value": [{"type": "string", "value": "ios"}, {"type": "string", "value": "web"}]}
    over = {"field": {"scope": "event", "name": "revenue"}, "op": ">", "value": {"type": "number", "value": 20}}
    assert got["spec"]["step_filters"] == [[], [IOS, ios_web], [over]]
    assert [r["count"] for r in got["rows"]] == cli_funnel(
        demo_template, "signup,activate[event.platform = 'ios' and event.platform in ('ios', 'web')],"
                       "purchase[event.revenue > 20]")
    # removing step 2 takes its filters along
    page.locator('[data-field="steps"] .row button').nth(1).click()
    settle(page, 5)
    assert shown(page)["spec"]["step_filters"] == [[], [over]]


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
def test_a_link_with_step_filters_opens_with_the_rows_filled(site, lang):
    page = site.page
    either = {"or": [IOS, {"field": {"scope": "event", "name": "platform"}, "op": "=",
                           "value": {"type": "string", "value": "web"}}]}
    spec = {"steps": ["signup", "activate", "purchase"], "step_filters": [[], [either, IOS], []]}
    page.goto(f"{site.url}/funnel?lang={lang}#spec={quote(json.dumps(spec))}")
    settle(page, 1)
    got = shown(page)
    assert got["error"] is None, got["error"]
    assert got["spec"]["step_filters"] == spec["step_filters"]  # the same trees go back, in their order
    two = step_block(page, 2)
    assert two.locator(".step-flt-kept code").inner_text() == "event.platform = 'ios' or event.platform = 'web'"
    row = two.locator(".flt-row")
    assert row.count() == 1
    assert (row.locator(".flt-prop").input_value(), row.locator(".flt-op").input_value(),
            row.locator(".flt-value").input_value()) == ("platform", "=", "ios")
    assert step_block(page, 1).locator(".flt-row, .step-flt-kept").count() == 0
    # no JSON box is left on the page; the words are the page's language
    assert page.locator("#params textarea").count() == 0
    assert page.locator('textarea[name="step_filters"], [data-field="step_filters"]').count() == 0
    # the one box left is the filter bar's expression box (the filter language, not JSON)
    assert page.evaluate("[...document.querySelectorAll('textarea')].map(x => x.id)") == ["flt-raw"]
    add = {"en": "+ Filter this step", "zh-Hans": "+ 筛选此步骤", "zh-Hant": "+ 篩選此步驟"}[lang]
    assert [b.inner_text() for b in page.locator(".step-flt-add").all()] == [add] * 3
    t = messages(lang)
    assert row.locator(".flt-op option:checked").inner_text() == t["seg.op.eq"]
    assert row.locator(".flt-scope option:checked").inner_text() == t["seg.scope.event"]
    assert row.locator(".flt-prop").get_attribute("placeholder") == t["seg.property"]
    page.screenshot(path=str(SHOTS / f"forms-funnel-link-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang, want", [("zh-Hans", "第 2 步，条件 1：请填写值"), ("zh-Hant", "第 2 步，條件 1：請填寫值"),
                                        ("en", "Step 2, condition 1: give a value")])
def test_an_unfinished_row_is_named(site, lang, want):
    page = site.page
    page.goto(f"{site.url}/funnel?lang={lang}")
    settle(page, 1)
    block = step_block(page, 2)
    block.locator(".step-flt-add").click()
    block.locator(".flt-prop").fill("platform")
    page.click("#run")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert want in page.locator("#error").inner_text()


def test_an_unknown_property_names_its_step_and_row(site):
    page = site.page
    page.goto(f"{site.url}/funnel?lang=en")
    settle(page, 1)
    fill_row(step_block(page, 3), "revenue", ">", "1")
    settle(page, 2)
    fill_row(step_block(page, 3), "no_such_thing", "=", "1")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert page.locator("#error .step-flt-where").inner_text() == "Step 3, condition 2"
    assert step_block(page, 3).locator(".flt-row.invalid .flt-prop").input_value() == "no_such_thing"
    assert not site.errors, site.errors


def test_a_saved_analysis_and_steps_given_with_their_filters_open_filled(site):
    page = site.page
    spec = {"steps": ["signup", "activate", "purchase"], "step_filters": [[], [], [IOS]]}
    resp = page.request.post(f"{site.url}/api/saved/analyses", data=json.dumps({"name": "ios", "kind": "funnel",
                                                                              "spec": spec}),
                             headers={"Content-Type": "application/json"})
    assert resp.ok, resp.text()
    page.goto(f"{site.url}/funnel?lang=zh-Hans&saved={resp.json()['analysis']['id']}")
    settle(page, 1)
    assert shown(page)["spec"]["step_filters"] == spec["step_filters"]
    assert step_block(page, 3).locator(".flt-value").input_value() == "ios"
    # the spec's other way of saying it: a step as {event, filters}, its filter a text
    given = {"steps": ["signup", {"event": "activate", "filters": "event.platform = 'ios'"}, "purchase"]}
    page.goto(f"{site.url}/funnel?lang=en#spec={quote(json.dumps(given))}")
    settle(page, 1)
    got = shown(page)
    assert got["error"] is None, got["error"]
    assert got["spec"]["steps"] == ["signup", "activate", "purchase"]
    assert got["spec"]["step_filters"] == [[], ["event.platform = 'ios'"], []]  # the text as it came, in its place
    assert step_block(page, 2).locator(".step-flt-kept code").inner_text() == "event.platform = 'ios'"
    assert not site.errors, site.errors
