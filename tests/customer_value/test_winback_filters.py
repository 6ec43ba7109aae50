"""`winback --segment / --where` (issue 14): the model is fitted on every customer, the list keeps the customers
the filters select — checked against the unfiltered ranking filtered in pandas; the spec carries the filters as
JSON, so the query API runs the same list."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from cv_helpers import CAL_END, cdnow_events_csv
from yunying.analyses.customer_value import WinbackSpec, holdout_flags, winback
from yunying.cli.trends import segment_filter
from yunying.storage.workspace import Workspace

SETTINGS = dict(calibration_end=CAL_END, period="week", horizon_days=365)


def yy(*a):
    return subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("wbf")
    src = cdnow_events_csv(d / "cdnow.csv")
    ev = pd.read_csv(src, dtype={"user_id": str})
    ev["store"] = ["东区" if int(u) % 3 == 0 else "west" for u in ev["user_id"]]  # event property, Chinese text
    ev.to_csv(d / "events.csv", index=False)
    w = d / "w"
    assert yy("init", str(w)).returncode == 0
    r = yy("import", "events", str(d / "events.csv"), "-w", str(w))
    assert r.returncode == 0, r.stderr
    return w


@pytest.fixture(scope="module")
def full(ws_dir):
    """The whole ranking without filters, and a static segment of every 7th ranked customer."""
    ws = Workspace.open(ws_dir)
    try:
        f = winback(ws.engine, WinbackSpec(top=10_000_000, holdout=0, **SETTINGS)).frame
        chosen = sorted(f["user_id"].iloc[::7].tolist() + ["not-a-customer"])
        ws.save_segment("vip", kind="static", static_ids=chosen, members=chosen)
    finally:
        ws.close()
    return f, set(chosen)


def expected(full_frame, keep, top, share, seed):
    e = full_frame[full_frame["user_id"].isin(keep)].head(top).reset_index(drop=True)
    e["rank"] = range(1, len(e) + 1)
    e["group"] = ["holdout" if h else "target" for h in holdout_flags(e["user_id"].tolist(), share, seed)]
    return e


def test_segment_and_where_restrict_the_ranked_list(ws_dir, full):
    f, vip = full
    assert 50 < len(vip) < len(f)
    ws = Workspace.open(ws_dir)
    try:
        east = {u for u in f["user_id"] if int(u) % 3 == 0}
        cases = [([segment_filter("vip")], vip),
                 (["event.store = '东区'"], east),
                 ([segment_filter("vip"), "event.store = '东区'"], vip & east),
                 (["event.store = 'nowhere'"], set())]
        for filters, keep in cases:
            got = winback(ws.engine, WinbackSpec(top=40, holdout=0.25, seed=3, filters=filters, **SETTINGS))
            want = expected(f, keep, 40, 0.25, 3)
            assert got.frame["user_id"].tolist() == want["user_id"].tolist(), filters
            assert got.frame["rank"].tolist() == want["rank"].tolist()
            assert got.frame["group"].tolist() == want["group"].tolist()
            pd.testing.assert_series_equal(got.frame["value_at_risk"], want["value_at_risk"], check_names=False)
            assert got.meta["listed"] == len(want) and got.meta["filters"] == got.spec.filters
            # the model is fitted on every customer, not only the selected ones
            assert got.meta["customers"] == len(set(pd.read_csv(ws_dir.parent / "events.csv", dtype=str)["user_id"]))
    finally:
        ws.close()


def test_spec_carries_filters_as_json():
    spec = WinbackSpec(top=5, filters=["event.store = '东区'", segment_filter("vip")], **SETTINGS)
    again = WinbackSpec.parse(json.loads(spec.to_json()))
    assert again == spec and all(isinstance(x, dict) for x in again.filters)
    with pytest.raises(Exception, match="filter"):
        WinbackSpec(filters=["event.store = "])


def test_cli_segment_where_and_query_api(ws_dir, full, tmp_path):
    from fastapi.testclient import TestClient

    from yunying.server.app import create_app

    f, vip = full
    want = expected(f, vip & {u for u in f["user_id"] if int(u) % 3 == 0}, 30, 0.1, 0)
    args = ["--calibration-end", CAL_END, "--horizon", "365d", "--top", "30"]
    r = yy("winback", "-w", str(ws_dir), *args, "--segment", "vip", "--where", "event.store = '东区'", "-f", "json")
    assert r.returncode == 0, r.stderr
    users = json.loads(r.stdout)["users"]
    assert [u["user_id"] for u in users] == want["user_id"].tolist()
    assert [u["group"] for u in users] == want["group"].tolist()
    r = yy("winback", "-w", str(ws_dir), *args, "--where", "event.stroe = 'x'")
    assert r.returncode != 0 and "did you mean event.store" in r.stderr and "Traceback" not in r.stderr

    token = yy("keys", "create", "-w", str(ws_dir), "--kind", "read").stdout.strip().splitlines()[-1].strip()
    with TestClient(create_app([ws_dir]), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        resp = client.post("/api/query/winback", json={**SETTINGS, "top": 30, "holdout": 0.1,
                                                       "filters": [segment_filter("vip"), "event.store = '东区'"]})
        assert resp.status_code == 200, resp.text
        assert [u["user_id"] for u in resp.json()["users"]] == want["user_id"].tolist()
