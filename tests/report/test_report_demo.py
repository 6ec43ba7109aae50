"""The report's sections on the demo's data, cross-checked against other analyses of the same workspace."""
from __future__ import annotations

import pytest

import yunying
from yunying.analyses.users import new_users
from yunying.reports.weekly import build_report


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    from yunying.demo.run import run_demo

    d = tmp_path_factory.mktemp("demo")
    run_demo(d, users=1500, seed=5, days=42)
    return d


@pytest.fixture(scope="module")
def demo_report(demo_dir):
    d = demo_dir
    with yunying.open(d / "workspace", read_only=True) as ws:
        rep = build_report(ws, period="week")
        p = rep.period
        signups = new_users(ws.engine, interval="week", date_from=p.start, date_to=p.end).to_pandas()["new_users"].sum()
        before = new_users(ws.engine, interval="week", date_from=p.prev_start,
                           date_to=p.prev_end).to_pandas()["new_users"].sum()
    return rep, int(signups), int(before)


def section(rep, key):
    return next(s for s in rep.sections if s.key == key)


def test_every_section_is_there_and_none_failed(demo_report):
    rep, _, _ = demo_report
    assert [s.key for s in rep.sections] == ["headline", "what_moved", "acquisition", "funnel", "retention",
                                             "experiments", "campaigns", "content", "alerts"]
    assert all(s.note is None for s in rep.sections if s.key != "alerts")


def test_acquisition_funnel_and_retention_agree_with_new_users(demo_report):
    rep, signups, before = demo_report
    acq = section(rep, "acquisition").tables[0].rows
    total = acq[-1]
    assert total["new_users"] == signups and total["previous"] == before
    assert sum(r["new_users"] for r in acq[:-1]) == signups
    funnel = section(rep, "funnel").tables[0].rows
    assert funnel[0]["users"] == signups and funnel[0]["conversion"] == 1.0
    assert all(b["users"] <= a["users"] for a, b in zip(funnel, funnel[1:]))
    cohorts = {r["cohort"]: r["size"] for r in section(rep, "retention").tables[0].rows}
    assert cohorts[str(rep.period.start)] == signups


def test_experiment_row(demo_report):
    rep, _, _ = demo_report
    (row,) = section(rep, "experiments").tables[0].rows
    assert row["variant"] == "treatment" and 0 < row["control_rate"] < 1 and 0 <= row["p_value"] <= 1


def test_campaigns_and_content_sections(demo_dir, tmp_path):
    """The campaigns section's row of summer_sale is its review (cost, increment, summary in words); the content
    section's readers are the distinct readers of each piece in the period, counted from the events by SQL; both
    are in the HTML and have an Excel sheet."""
    import openpyxl

    from yunying.analyses.campaigns import load
    from yunying.analyses.campaigns.review import review
    from yunying.reports import campaigns as R
    from yunying.reports.weekly import html as H, xlsx as X

    with yunying.open(demo_dir / "workspace", read_only=True) as ws:
        rep = build_report(ws, period="week", lang="zh-Hant")
        p = rep.period
        camp = section(rep, "campaigns")
        row = next(r for r in camp.tables[0].rows if r["campaign"] == "summer_sale")
        want = review(ws, load(ws, "summer_sale"), after=False).data
        assert row["cost"] == pytest.approx(want["cost"]["total"])
        assert row["incremental_purchases"] == pytest.approx(want["economics"]["incremental_purchases"]["value"])
        assert camp.paragraphs[0] == "summer_sale: " + " ".join(R.summary(want, "zh-Hant", rep.currency))
        pieces = section(rep, "content").tables[0].rows
        with ws.lock:
            sql = dict(ws.con.execute(
                "SELECT content_id, count(DISTINCT user_id) FROM events WHERE event = 'view_content' AND "
                "CAST(from_utc_timestamp(ts, ?) AS DATE) BETWEEN ? AND ? GROUP BY 1",
                [ws.engine.timezone, p.start, p.end]).fetchall())
    assert pieces and all(r["readers"] == sql[r["content_id"]] for r in pieces)
    assert [r["readers"] for r in pieces] == sorted((r["readers"] for r in pieces), reverse=True)
    assert section(rep, "content").tables[0].columns[2].label == "閱讀人數"
    page = H.render(rep)
    assert "活動運營" in page and "內容運營" in page and "summer_sale" in page
    # the estimated increment is a count: whole in the page (as `yunying campaign list`), #,##0 in Excel
    assert f"<td class='num'>{round(row['incremental_purchases']):,}</td>" in page
    book = openpyxl.load_workbook(X.write(rep, tmp_path / "r.xlsx"))
    assert {"活動運營", "內容運營"} <= set(book.sheetnames)
    sheet = book["活動運營"]
    cell = next(c for r in sheet.iter_rows() for c in r
                if isinstance(c.value, float) and abs(c.value - row["incremental_purchases"]) < 1e-6)
    assert cell.number_format == "#,##0"
    # ROAS is a ratio (0.39), as `yunying channels` and the dashboard show it, not a percent
    acq = section(rep, "acquisition").tables[0]
    assert next(c.kind for c in acq.columns if c.key == "roas") == "number"


def test_experiment_rows_take_the_experiments_adjusted_verdict(demo_dir, monkeypatch):
    """With several variants the report colours a row by the experiment's own verdict (Holm-adjusted), not by its
    raw p-value: a variant at raw p = 0.03 whose adjusted p is 0.09 is inconclusive, so neither green nor red, and
    the p shown is the adjusted one."""
    import yunying.analyses.experiment as E

    variants = [{"variant": "control", "is_control": True, "n": 1000, "mean": 0.10},
                {"variant": "b", "is_control": False, "n": 1000, "mean": 0.13, "effect_rel": 0.3,
                 "p_value": 0.03, "p_value_adjusted": 0.09, "verdict": "inconclusive"},
                {"variant": "c", "is_control": False, "n": 1000, "mean": 0.16, "effect_rel": 0.6,
                 "p_value": 0.001, "p_value_adjusted": 0.002, "verdict": "win"},
                {"variant": "d", "is_control": False, "n": 1000, "mean": 0.06, "effect_rel": -0.4,
                 "p_value": 0.004, "p_value_adjusted": 0.008, "verdict": "loss"}]

    class Fake:
        def to_dict(self):
            return {"alpha": 0.05, "metrics": [{"variants": variants}]}

    monkeypatch.setattr(E, "analyze_workspace", lambda engine, spec: Fake())
    with yunying.open(demo_dir / "workspace", read_only=True) as ws:
        rep = build_report(ws, period="week")
    rows = {r["variant"]: r for r in section(rep, "experiments").tables[0].rows}
    assert (rows["b"]["_tone"], rows["c"]["_tone"], rows["d"]["_tone"]) == (None, "good", "bad")
    assert (rows["b"]["p_value"], rows["c"]["p_value"]) == (0.09, 0.002)
