"""`winback --save-holdout / --save-list` (issue 14): the seeded holdout and the treated list are stored as static
segments equal to what was printed; the same seed stores the same members; nothing is overwritten by accident."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cv_helpers import CAL_END, cdnow_events_csv
from yunying.storage.workspace import Workspace


def yy(*a):
    return subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("wbs")
    src = cdnow_events_csv(d / "cdnow.csv")
    w = d / "w"
    assert yy("init", str(w)).returncode == 0
    r = yy("import", "events", str(src), "-w", str(w))
    assert r.returncode == 0, r.stderr
    return w


ARGS = ["--calibration-end", CAL_END, "--horizon", "365d", "--top", "200", "--holdout", "20%", "-f", "json"]


def run(ws_dir, *extra):
    r = yy("winback", "-w", str(ws_dir), *ARGS, *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def stored(ws_dir, name):
    ws = Workspace.open(ws_dir, read_only=True)
    try:
        seg = ws.segment(name)
        return seg, ws.segment_static_ids(name), sorted(
            r[0] for r in ws.con.execute("SELECT user_id FROM segment_members WHERE segment = ?", [name]).fetchall())
    finally:
        ws.close()


def test_stored_segments_equal_the_printed_groups(ws_dir):
    out = run(ws_dir, "--seed", "5", "--save-holdout", "wb-hold", "--save-list", "wb-treat")
    hold = sorted(u["user_id"] for u in out["users"] if u["group"] == "holdout")
    treat = sorted(u["user_id"] for u in out["users"] if u["group"] == "target")
    assert len(hold) == 40 and len(treat) == 160
    for name, ids in (("wb-hold", hold), ("wb-treat", treat)):
        seg, static, members = stored(ws_dir, name)
        assert seg["kind"] == "static" and "seed 5" in seg["description"]
        assert static == ids and members == ids  # what segment filters read, too
    assert out["segments"] == {"holdout": {"name": "wb-hold", "users": 40}, "target": {"name": "wb-treat", "users": 160}}

    # the same seed stores the same members; another seed draws another holdout
    run(ws_dir, "--seed", "5", "--save-holdout", "wb-hold-again")
    assert stored(ws_dir, "wb-hold-again")[1] == hold
    run(ws_dir, "--seed", "6", "--save-holdout", "wb-hold-6")
    assert stored(ws_dir, "wb-hold-6")[1] != hold and len(stored(ws_dir, "wb-hold-6")[1]) == 40

    # the stored holdout works as a segment filter: winback --segment lists exactly its members
    again = run(ws_dir, "--seed", "5", "--segment", "wb-hold")
    assert sorted(u["user_id"] for u in again["users"]) == hold


def test_no_accidental_overwrite_and_clear_errors(ws_dir, tmp_path):
    run(ws_dir, "--seed", "1", "--save-holdout", "keep-me")
    before = stored(ws_dir, "keep-me")[1]
    # an existing name is refused before anything is written (the other name is not created either)
    r = yy("winback", "-w", str(ws_dir), *ARGS, "--seed", "2", "--save-list", "new-list", "--save-holdout", "keep-me")
    assert r.returncode != 0 and "keep-me" in r.stderr and "--replace" in r.stderr and "Traceback" not in r.stderr
    assert stored(ws_dir, "keep-me")[1] == before and stored(ws_dir, "new-list")[0] is None
    # --replace overwrites
    out = run(ws_dir, "--seed", "2", "--save-holdout", "keep-me", "--replace")
    assert stored(ws_dir, "keep-me")[1] == sorted(u["user_id"] for u in out["users"] if u["group"] == "holdout") != before
    r = yy("winback", "-w", str(ws_dir), *ARGS, "--save-holdout", "x", "--save-list", "x")
    assert r.returncode != 0 and "different" in r.stderr
    csv = tmp_path / "e.csv"
    csv.write_text("user_id,event,ts\na,purchase,2024-01-01\n", encoding="utf-8")
    r = yy("winback", "--events", str(csv), "--save-holdout", "x")
    assert r.returncode != 0 and "--workspace" in r.stderr and "Traceback" not in r.stderr
    r = yy("winback", "-w", str(ws_dir), *ARGS, "--replace")
    assert r.returncode != 0 and "--replace only applies" in r.stderr
