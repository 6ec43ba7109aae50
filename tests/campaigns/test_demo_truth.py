"""On the demo (20k users, seed 7): truth.json's true lift and cost lie inside the review's intervals, for the
randomized-holdout campaign (summer_sale) and the one without a holdout (autumn_push, difference-in-differences);
the holdout recorded in the workspace is the one the data were generated with; the CLI end to end."""
from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from typer.testing import CliRunner

import yunying.engines  # noqa: F401 - registers the engines
from yunying.analyses.campaigns import load
from yunying.analyses.campaigns.review import review
from yunying.cli import app
from yunying.config import WorkspaceConfig
from yunying.demo import generate
from yunying.demo.campaigns import setup_workspace
from yunying.storage.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("campdemo")
    truth = generate(out / "data", users=20_000, days=90, seed=7)
    ws = Workspace.init(out / "ws", WorkspaceConfig(name="demo"))
    ws.import_events(truth["files"])
    ws.import_spend([str(out / "data" / "spend.csv")])
    assigned = setup_workspace(ws, truth)
    state = {"ws": ws, "truth": truth, "assigned": assigned, "dir": out / "ws"}
    yield state
    if state["ws"] is not None:
        state["ws"].close()


@pytest.fixture(scope="module")
def summer(demo):
    return review(demo["ws"], load(demo["ws"], "summer_sale")).data


def _inside(truth_value, iv):
    return iv["low"] <= truth_value <= iv["high"]


def test_holdout_recorded_and_respected(demo):
    con = demo["ws"].con
    a = demo["assigned"]
    assert a["holdout"] > 0 and a["target"] > 0
    assert abs(a["holdout"] / (a["holdout"] + a["target"]) - 0.2) < 0.02
    # held-out users never saw the campaign nor redeemed its coupons (checked with SQL on the stored events)
    seen = con.execute("SELECT count(*) FROM events e JOIN campaign_assignments a USING (user_id) "
                       "WHERE a.campaign = 'summer_sale' AND a.grp = 'holdout' AND (e.event = 'campaign_view' "
                       "OR json_extract_string(e.properties, '$.coupon') IS NOT NULL)").fetchall()[0][0]
    assert seen == 0
    targets_seen = con.execute("SELECT count(DISTINCT e.user_id) FROM events e JOIN campaign_assignments a "
                               "USING (user_id) WHERE a.grp = 'target' AND e.event = 'campaign_view'").fetchall()[0][0]
    assert targets_seen > 1000


def test_summer_sale_truth_inside_intervals(demo, summer):
    t = demo["truth"]["campaign"]
    lift = summer["lift"]
    assert lift["method"] == "holdout" and lift["evidence"] == "strong" and lift["srm"]["status"] == "ok"
    e = summer["economics"]
    assert _inside(t["expected_incremental_purchases"], e["incremental_purchases"])
    assert _inside(t["expected_incremental_revenue"], e["incremental_revenue"])
    assert e["incremental_purchases"]["low"] > 0          # the demo size has the power to see the lift
    # the full cost is read, not estimated: coupons redeemed + fees = the truth exactly
    assert summer["cost"]["coupons"] == pytest.approx(t["coupons_redeemed"])
    assert summer["cost"]["total"] == pytest.approx(t["cost"])
    # true ROI and cost per incremental purchase inside their intervals
    true_margin = t["expected_incremental_revenue"] * t["margin"]
    assert _inside((true_margin - t["cost"]) / t["cost"], e["roi"])
    cpi = e["cost_per_incremental_purchase"]
    assert cpi["low"] <= t["cost"] / t["expected_incremental_purchases"] <= (cpi["high"] or float("inf"))
    # goals: actual purchases = SQL count over the audience window
    con = demo["ws"].con
    n = con.execute(f"SELECT count(*) FROM events WHERE event = 'purchase' AND CAST(ts AS DATE) BETWEEN "
                    f"DATE '{t['start_date']}' AND DATE '{t['end_date']}'").fetchall()[0][0]
    assert summer["goals"][0]["metric"] == "purchases" and summer["goals"][0]["actual"] == n
    assert summer["goals"][0]["target"] == t["target_purchases"]


def test_autumn_push_did_covers_truth(demo):
    r = review(demo["ws"], load(demo["ws"], "autumn_push")).data
    t = demo["truth"]["second_campaign"]
    lift = r["lift"]
    assert lift["method"] == "did"
    assert lift["did"]["purchases"]["pre_trend"]["p_value"] > 0.05    # parallel trends hold by construction
    assert lift["evidence"] in ("strong", "moderate")
    assert _inside(t["expected_incremental_purchases"], r["economics"]["incremental_purchases"])
    assert _inside(t["expected_incremental_revenue"], r["economics"]["incremental_revenue"])
    assert r["cost"]["total"] == pytest.approx(r["campaign"]["budget"][0]["amount"])


def test_autumn_push_synthetic_control(demo):
    r = review(demo["ws"], load(demo["ws"], "autumn_push"), method="sc").data
    t = demo["truth"]["second_campaign"]
    sc = r["lift"]["sc"]["purchases"]
    assert r["lift"]["method"] == "sc" and len(sc["donor_names"]) >= 2
    assert sum(sc["weights"]) == pytest.approx(1.0) and min(sc["weights"]) >= 0
    assert _inside(t["expected_incremental_purchases"], r["economics"]["incremental_purchases"])


def test_numbers_have_written_definitions(summer):
    from pathlib import Path

    from yunying.analyses.campaigns.review import CampaignReview

    doc = (Path(__file__).parents[2] / "docs" / "campaigns.md").read_text(encoding="utf-8")
    rows = CampaignReview(summer).records()
    assert len(rows) > 30
    for r in rows:
        key = r["key"]
        parts = key.split(".")
        generic = {"target": "`target.M`", "actual": "`actual.M`", "attainment": "`attainment.M`",
                   "effect_per_unit": "`effect_per_unit.M`", "p_value": "`p_value.M`"}.get(parts[0])
        if generic:
            assert generic in doc, key
        elif parts[0] in ("acquired", "reactivated"):
            measure = "active_wk" if parts[1].startswith("active_w") else parts[1]
            assert f"`COHORT.{measure}.campaign`" in doc or f"`….{parts[2]}`" in doc, key
        else:
            assert f"`{key}`" in doc, key


def test_cli_review_plan_pacing_list(demo, tmp_path):
    demo["ws"].close()      # the CLI opens the workspace itself (one configuration per database file)
    demo["ws"] = None
    runner = CliRunner()
    w = str(demo["dir"])
    r = runner.invoke(app, ["campaign", "review", "summer_sale", "-w", w, "--format", "json", "--lang", "zh-Hans",
                            "--xlsx", str(tmp_path / "r.xlsx"), "--html", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["lang"] == "zh-Hans" and any("增量购买" in s for s in out["summary"])
    assert out["lift"]["method"] == "holdout" and out["numbers"]
    assert "活动复盘" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "活动复盘" in openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames
    r = runner.invoke(app, ["campaign", "review", "summer_sale", "-w", w, "--format", "csv"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "section,key,value,low,high"
    r = runner.invoke(app, ["campaign", "plan", "summer_sale", "-w", w, "--xlsx", str(tmp_path / "p.xlsx"),
                            "--html", str(tmp_path / "p.html"), "--lang", "zh-Hant"])
    assert r.exit_code == 0, r.output
    assert "排期未發現問題" in r.stdout
    # the Gantt sheet: the 'launch' row is filled exactly on the campaign's days
    sheet = openpyxl.load_workbook(tmp_path / "p.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    launch = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "launch")
    filled = [header[c.column - 1] for c in launch if c.fill is not None and c.fill.fgColor.rgb not in
              (None, "00000000") and c.column > 6]
    t = demo["truth"]["campaign"]
    assert filled[0] == t["start_date"][5:] and filled[-1] == t["end_date"][5:] and len(filled) == 7
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert '"base":' in page and '"orientation":"h"' in page and "launch" in page   # plotly timeline bars
    r = runner.invoke(app, ["campaign", "pacing", "summer_sale", "-w", w, "--as-of", str(dt.date.fromisoformat(t["start_date"]) + dt.timedelta(days=1)),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert p["elapsed_days"] == 2 and {g["status"] for g in p["goals"]} <= {"on_track", "at_risk", "off_track"}
    r = runner.invoke(app, ["campaign", "pacing", "summer_sale", "-w", w, "--format", "csv"])
    assert r.stdout.splitlines()[0] == "metric,target,expected_so_far,actual,projected,low,high,status"
    # a trajectory shaped like the week before: ends at the target, not a straight line
    before = [str(dt.date.fromisoformat(t["start_date"]) - dt.timedelta(days=k)) for k in (7, 1)]
    r = runner.invoke(app, ["campaign", "plan", "summer_sale", "-w", w, "--like", "..".join(before), "-f", "json"])
    traj = [d["target_purchases"] for d in json.loads(r.stdout)["trajectory"]]
    assert len(traj) == 7 and traj[-1] == pytest.approx(t["target_purchases"])
    assert max(abs(v - t["target_purchases"] * (k + 1) / 7) for k, v in enumerate(traj)) > 1
    r = runner.invoke(app, ["campaign", "list", "-w", w, "--format", "json"])
    rows = json.loads(r.stdout)["campaigns"]
    assert [x["campaign"] for x in rows] == ["summer_sale", "autumn_push"]
    assert rows[1]["change_from_previous"] == pytest.approx(
        rows[1]["cost_per_incremental_purchase"] / rows[0]["cost_per_incremental_purchase"] - 1)
