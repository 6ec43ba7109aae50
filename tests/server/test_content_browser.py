"""The content page (issue 16) in a real browser: the per-piece table, the flags with their evidence (and their
CSV export through the shared table) and the publishing-time table equal the query API's results, in English and 繁體中文."""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest

from yunying.reports.i18n import label
from test_dashboard_browser import SHOTS, api, settle, site  # noqa: F401  (site: the signed-in browser fixture)

pytestmark = pytest.mark.browser


def table(page, sel: str) -> list[dict]:
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' table tbody tr')].map(tr =>
        Object.fromEntries([...tr.querySelectorAll('td')].map(td =>
            [td.dataset.col, td.dataset.value === '' ? null : JSON.parse(td.dataset.value)])))""", sel)


def headers(page, sel: str) -> list[str]:
    return page.evaluate("(sel) => [...document.querySelectorAll(sel + ' table thead th')].map(th => th.textContent)",
                         sel)


@pytest.mark.parametrize("lang,title,readers,flags_title", [("en", "Content", "Readers", "Flags"),
                                                            ("zh-Hant", "內容運營", "閱讀人數", "預警")])
def test_content_page(site, lang, title, readers, flags_title):  # noqa: F811
    page = site.page
    start = {"by": "piece", "baseline": "all", "level": 0.9}
    page.goto(f"{site.url}/content?lang={lang}#spec={quote(json.dumps(start))}")
    settle(page, 1)
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("h1").inner_text() == title and page.locator("nav a.current").inner_text() == title
    assert page.evaluate("document.getElementById('error').hidden")
    assert page.locator("h2", has_text=flags_title).count() == 1
    spec = json.loads(page.evaluate("decodeURIComponent(location.hash.replace('#spec=', ''))"))
    want = api(site, "content", spec)
    rows = table(page, "#numbers")
    assert [r["content_id"] for r in rows] == [r["content_id"] for r in want["rows"]][:500] and rows
    assert [r["follow_rate_shrunk"] for r in rows] == [r["follow_rate_shrunk"] for r in want["rows"]][:500]
    assert readers in headers(page, "#numbers")                      # people see labels, not column names
    # flags: the same pieces, flags and evidence as the API
    fl = api(site, "content_flags", {k: spec[k] for k in ("baseline", "level") if k in spec})["flags"]
    shown = table(page, "#flags")
    assert [(r["content_id"], r["flag"]) for r in shown] == [(f["content_id"], f["flag"]) for f in fl]
    assert [[r["interval_lo"], r["interval_hi"]] for r in shown] == [f["interval"] for f in fl]
    if fl:
        with page.expect_download() as dl:
            page.click("#flags .export-csv")
        got = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
        piece, flag, reads = (label(f"col.content.{k}", lang) for k in ("content_id", "flag", "reads"))
        # a flag reads as the page words it (受眾不對, not wrong_audience); numbers stay raw
        assert [(r[piece], r[flag]) for r in got] == [(f["content_id"], label(f"value.{f['flag']}", lang)) for f in fl]
        assert [float(r[reads]) for r in got] == [f["reads"] for f in fl]
        assert page.locator("#flags .export-xlsx").count() == 1 and page.locator("#timing .export-csv").count() == 1
    # what people read: flags and weekdays in words, the metric named, no snake_case
    texts = page.evaluate("[...document.querySelectorAll('#flags td, #timing td')].map(td => td.innerText)")
    assert not [x for x in texts if "_" in x], texts
    if fl:
        assert page.locator('#flags td[data-col="flag"]').first.inner_text() == label(f"value.{fl[0]['flag']}", lang)
    assert label("col.content.readers_per_piece", lang) in headers(page, "#timing")
    # publishing time
    tm = api(site, "content_timing", {"level": spec.get("level", 0.9)})["rows"]
    assert table(page, "#timing") == tm and sum(r["pieces"] for r in tm) > 0
    page.screenshot(path=str(SHOTS / f"content-{lang}.png"), full_page=True)
    assert not site.errors
    page.goto(f"{site.url}/content?lang=en")  # leave the language cookie as the other tests expect
