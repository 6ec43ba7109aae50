"""Issue 13, the final walk (stop 27): what a new operator still met on the dashboard.

* an empty workspace: see test_audit_empty_browser.py;
* a range past the data: 31 rows of zeros called "the last period is incomplete" — now "no data from … on";
* the CSV export wrote yunying's words raw in a Chinese page ("true", "better");
* JSON boxes under "more options" (attribution shares, a channel mapping, retention brackets);
* the funnel page opened with a 7-day window where ``yunying funnel`` uses 14 days.
"""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest

from test_dashboard_browser import SHOTS, api, settle, shown

pytestmark = pytest.mark.browser


def test_a_range_past_the_data_says_no_data_not_incomplete(demo_site):
    page = demo_site.page
    spec = {"active": True, "measure": "users", "interval": "day", "date_from": "2030-01-01", "date_to": "2030-01-07"}
    page.goto(f"{demo_site.url}/trends?lang=zh-Hans#spec={quote(json.dumps(spec))}")
    settle(page, 1)
    notes = page.locator("#notes").inner_text()
    assert "2030-01-01 起没有数据" in notes and "尚未结束" not in notes, notes
    dates = page.evaluate("[...document.querySelectorAll('#numbers td[data-col=\"date\"]')].map(td => td.textContent)")
    assert len(dates) == 7 and all(d.endswith("（无数据）") for d in dates) and not any("未完整" in d for d in dates)
    shapes = page.evaluate("(document.getElementById('chart').layout.shapes || []).map(s => s.name)")
    assert "incomplete" not in shapes  # no shading of an "incomplete" period that has no data at all
    page.screenshot(path=str(SHOTS / "audit-trends-past-the-data.png"), full_page=True)


def test_the_csv_export_reads_yunyings_words_as_the_page_shows_them(demo_site):
    page = demo_site.page
    page.goto(f"{demo_site.url}/channels?lang=zh-Hans")
    settle(page, 1)
    with page.expect_download() as dl:
        page.click("#numbers .export-csv")
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    heads = dict(page.evaluate("[...document.querySelectorAll('#numbers th')].map(th => [th.dataset.col, th.textContent])"))
    cells = page.evaluate("""() => [...document.querySelectorAll('#numbers tbody tr')].map(tr =>
        Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.col, td.textContent])))""")
    want = shown(page)["rows"]
    assert [r[heads["verdict"]] for r in rows] == [c["verdict"] for c in cells]  # 更好 / 更差 …, not "better"
    assert {r[heads["paid"]] for r in rows} <= {"是", "否"}
    assert [float(r[heads["spend"]]) for r in rows] == [w["spend"] for w in want]  # numbers stay raw
    assert not {"true", "false", "better", "worse", "no_spend"} & {v for r in rows for v in r.values()}


def test_small_structures_are_text_fields_not_json_boxes(demo_site):
    page = demo_site.page
    page.goto(f"{demo_site.url}/analysis/attribution?lang=zh-Hans")
    settle(page, 1)
    assert page.locator("#params textarea").count() == 0
    shares = page.locator('#params input[name="position_shares"]')
    assert shares.get_attribute("data-widget") == "numbers" and shares.input_value() == "0.4, 0.4"
    page.click("#params details.advanced summary")
    shares.fill("0.3, 0.5")
    page.locator('#params input[name="channel_map"]').fill("search=搜索, feed = 信息流")
    page.click("#run")
    settle(page, 2)
    got = shown(page)
    assert got["error"] is None, got["error"]
    assert got["spec"]["position_shares"] == [0.3, 0.5]
    assert got["spec"]["channel_map"] == {"search": "搜索", "feed": "信息流"}
    assert {"搜索", "信息流"} <= {r.get("channel") for r in got["rows"]}
    page.locator('#params input[name="position_shares"]').fill("0.3, x")
    page.click("#run")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert "（x）" in page.locator("#error").inner_text()  # the wrong entry, named
    # retention periods: "1, 2-7" is two brackets (day 1, days 2 to 7)
    page.goto(f"{demo_site.url}/retention?lang=zh-Hans")
    settle(page, 1)
    assert page.locator("#params textarea").count() == 0
    page.click("#params details.advanced summary")
    page.locator('#params input[name="brackets"]').fill("1, 2-7")
    page.click("#run")
    settle(page, 2)
    got = shown(page)
    assert got["error"] is None and got["spec"]["brackets"] == [[1, 1], [2, 7]]
    assert api(demo_site, "retention", got["spec"])["spec"]["brackets"] == [[1, 1], [2, 7]]
    assert not demo_site.errors


def test_the_funnel_page_opens_with_the_clis_window(demo_site):
    from yunying.analyses.funnel import FunnelSpec

    page = demo_site.page
    page.goto(f"{demo_site.url}/funnel?lang=zh-Hans")
    settle(page, 1)
    got = shown(page)
    assert got["spec"].get("window", FunnelSpec.model_fields["window"].default) == "14d"
    default = api(demo_site, "funnel", {"steps": got["spec"]["steps"]})  # as `yunying funnel --steps …`
    assert [r["count"] for r in got["rows"]] == [s["count"] for s in default["steps"]]


def test_charts_keep_to_their_data_and_their_titles_apart(demo_site):
    """The revenue chart's axis ran two weeks past the last bar (the "incomplete period" words, anchored on their
    left, widened it): it read as weeks without data. The budget chart's title sat on its panels' titles."""
    import datetime as dt

    page = demo_site.page
    page.goto(f"{demo_site.url}/analysis/revenue?lang=zh-Hans")
    settle(page, 1)
    got = page.evaluate("""() => { const c = document.getElementById('chart');
        return {range: c._fullLayout.xaxis.range, xs: c.data[0].x,
                marked: (c.layout.shapes || []).some(s => s.name === 'incomplete')}; }""")
    last = dt.date.fromisoformat(max(got["xs"])[:10])
    end = dt.datetime.fromisoformat(got["range"][1][:19].replace(" ", "T"))
    assert got["marked"]  # the demo's last week is incomplete: its words are there …
    assert end <= dt.datetime.combine(last + dt.timedelta(days=7), dt.time())  # … and the axis ends with the data
    page.goto(f"{demo_site.url}/analysis/budget?lang=zh-Hans")
    settle(page, 1)
    boxes = page.evaluate("""() => {
        const r = (el) => { const b = el.getBoundingClientRect(); return [b.top, b.bottom]; };
        return {title: r(document.querySelector('#chart .gtitle')),
                panels: [...document.querySelectorAll('#chart .annotation')].map(r)}; }""")
    assert boxes["panels"] and all(boxes["title"][1] <= top + 1 for top, _ in boxes["panels"]), boxes
    page.screenshot(path=str(SHOTS / "audit-budget-titles.png"), full_page=True)
