"""Issue 13, "a note whenever a period has no data", on the dashboard's /trends page: a range starting three days
before the demo's first event shows those three days as "（无数据）" and says when the data start — in the table, the
notes above the chart, and the chart (a gap under a band labelled 无数据, not zeros) (the model: test_audit_browser.py, the range past the data)."""
from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from urllib.parse import quote

import duckdb
import pytest

from test_dashboard_browser import SHOTS, settle

pytestmark = pytest.mark.browser


def first_local_day(ws) -> dt.date:
    """The demo's first event (stored in UTC) as a day in its time zone (Asia/Shanghai), read straight from DuckDB."""
    con = duckdb.connect(str(ws / "yunying.duckdb"), read_only=True)
    try:
        (ts,) = con.execute("SELECT min(ts) FROM events").fetchone()
    finally:
        con.close()
    return ts.replace(tzinfo=dt.timezone.utc).astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()


def test_days_before_the_data_say_no_data(demo_site, demo_template):
    first = first_local_day(demo_template)
    days = [first + dt.timedelta(days=i) for i in range(-3, 3)]
    spec = {"active": True, "measure": "users", "interval": "day", "date_from": days[0].isoformat(),
            "date_to": days[-1].isoformat()}
    page = demo_site.page
    page.goto(f"{demo_site.url}/trends?lang=zh-Hans#spec={quote(json.dumps(spec))}")
    settle(page, 1)
    notes = page.locator("#notes").inner_text()
    assert f"数据从 {first.isoformat()} 开始；之前的周期没有数据" in notes, notes
    dates = page.evaluate("[...document.querySelectorAll('#numbers td[data-col=\"date\"]')].map(td => td.textContent)")
    assert dates == [f"{d.isoformat()}（无数据）" for d in days[:3]] + [d.isoformat() for d in days[3:]]
    chart = page.evaluate("""() => { const c = document.getElementById('chart');
        return {y: [...c.data[0].y], shapes: (c.layout.shapes || []).map(s => s.name),
                words: (c.layout.annotations || []).map(a => a.text)}; }""")
    assert chart["y"][:3] == [None] * 3 and all(v > 0 for v in chart["y"][3:])  # a gap, not zeros rising
    assert "no_data" in chart["shapes"] and "无数据" in chart["words"]
    page.screenshot(path=str(SHOTS / "before-trends-before-the-data.png"), full_page=True)
    assert not demo_site.errors
