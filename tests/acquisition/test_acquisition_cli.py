"""`yunying channels / placements / budget / attribution` on a small random workspace, and edge cases."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acq_helpers import build_workspace

ROW_KEYS = {"spend", "registrations", "cost_per_registration", "paying_users", "cost_per_paying_user", "revenue",
            "roas"}


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("acq_cli")
    ws, _, _ = build_workspace(d, seed=5, n_users=150, timezone="UTC")
    ws.close()
    return d / "ws"


def run(args):
    from yunying.cli import app

    res = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def test_channels_json_contract(wsdir):
    data = json.loads(run(["channels", "--workspace", str(wsdir), "--format", "json"]))
    assert data["kind"] == "channels" and data["currency"] == "CNY" and data["attribution"] == "first"
    assert data["rows"] and all(ROW_KEYS | {"channel"} <= set(r) for r in data["rows"])
    for r in data["rows"]:
        if r["registrations"] and r["spend"]:
            assert r["cost_per_registration"] == pytest.approx(r["spend"] / r["registrations"])
        else:  # no users, or no spend recorded: no cost per registration (null, never 0)
            assert r["cost_per_registration"] is None
        if r["spend"]:
            assert r["roas"] == pytest.approx(r["revenue"] / r["spend"])
        else:
            assert r["roas"] is None


@pytest.mark.parametrize("by,model", [("campaign", "linear"), ("placement", "markov"), ("channel", "time_decay"),
                                      ("channel", "position"), ("channel", "last")])
def test_channels_options(wsdir, by, model):
    out = run(["channels", "-w", str(wsdir), "--by", by, "--attribution", model, "--from", "2026-06-03",
               "--to", "2026-06-15", "--format", "json"])
    data = json.loads(out)
    assert data["attribution"] == model and data["key"] == by
    assert data["period"]["from"] == "2026-06-03" and data["period"]["to"] == "2026-06-15"
    assert all(by in r for r in data["rows"])


def test_channels_table_and_csv(wsdir):
    out = run(["channels", "-w", str(wsdir), "--map", "baidu=search"])
    assert "n/a" in out and "search" in out
    csv = run(["channels", "-w", str(wsdir), "--format", "csv"])
    assert csv.splitlines()[0].startswith("channel,")


def test_placements_and_budget_and_attribution(wsdir):
    data = json.loads(run(["placements", "-w", str(wsdir), "--format", "json"]))
    assert data["kind"] == "placements" and data["rows"]
    assert {"placement", "read_rate", "click_rate", "registration_rate", "purchase_rate", "leak_stage", "verdict",
            "rank", "cac_low", "cac_high"} <= set(data["rows"][0])
    run(["placements", "-w", str(wsdir), "--channel", "kol"])
    b = json.loads(run(["budget", "-w", str(wsdir), "--total", "30000", "--format", "json"]))
    assert b["kind"] == "budget" and b["label"] == "model estimate"
    assert b["summary"]["total"] == pytest.approx(30000)
    modelled = [r for r in b["rows"] if r["modelled"]]
    assert modelled
    assert sum(r["proposed_spend"] for r in modelled) + b["summary"]["unallocated"] == pytest.approx(30000)
    out = run(["budget", "-w", str(wsdir), "--total", "30000"])
    assert "MODEL ESTIMATE" in out
    a = json.loads(run(["attribution", "-w", str(wsdir), "--format", "json"]))
    assert set(a["models"]) == {"first", "last", "linear", "time_decay", "position", "markov"}
    run(["attribution", "-w", str(wsdir), "-m", "first", "-m", "markov"])


def test_bad_option_is_an_error(wsdir):
    from yunying.cli import app

    res = CliRunner().invoke(app, ["channels", "-w", str(wsdir), "--attribution", "magic"])
    assert res.exit_code != 0


def test_entry_point_prints_json(wsdir):
    exe = Path(sys.executable).with_name("yunying")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from yunying.cli import main; main()"]
    p = subprocess.run(cmd + ["channels", "--workspace", str(wsdir), "--by", "placement", "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert all({"placement", "channel"} | ROW_KEYS <= set(r) for r in data["rows"])


def test_empty_and_spendless_workspaces(tmp_path):
    import pandas as pd

    import yunying
    from yunying.analyses.acquisition import budget, channels, placements
    from yunying.reports.acquisition import acquisition_section

    ws = yunying.Workspace.init(tmp_path / "empty")
    assert channels(ws.engine).to_dict()["rows"] == []
    assert placements(ws.engine).to_dict()["rows"] == []
    assert budget(ws.engine, total=100).to_dict()["rows"] == []
    html, summary = acquisition_section(ws.engine)
    assert "No signups" in html
    # events without spend: every row has spend 0 and n/a ROAS; a user with no touch is direct/unknown
    ev = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "event": ["ad_click", "signup", "signup", "purchase"],
                       "ts": pd.to_datetime(["2026-06-01 08:00", "2026-06-01 09:00", "2026-06-02 09:00",
                                             "2026-06-03 10:00"], utc=True),
                       "channel": ["feed", None, None, None], "revenue": [None, None, None, 30.0]})
    ev.to_parquet(tmp_path / "e.parquet")
    ws.import_events([str(tmp_path / "e.parquet")])
    rows = {r["channel"]: r for r in channels(ws.engine).to_dict()["rows"]}
    assert rows["feed"]["registrations"] == 1 and rows["direct/unknown"]["registrations"] == 1
    assert rows["direct/unknown"]["revenue"] == 30.0 and rows["direct/unknown"]["roas"] is None
    json.dumps(channels(ws.engine).to_dict(), allow_nan=False)
    ws.close()
