"""Issue 18 item 1: ``--events FILE`` analyses read only the columns they need (storage/adhoc.py), with the rules
and results of a full import — proved here by importing the same files both ways."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import yunying
from yunying.errors import YunyingError

SRC = str(Path(yunying.__file__).resolve().parents[1])
COLS = "user_id, distinct_id, event, ts, event_uuid"


def _both(files, **kw):
    full, narrow = yunying.Workspace.in_memory(), yunying.Workspace.in_memory()
    full.import_events(files, **kw)
    narrow.import_events(files, columns=(), **kw)
    return full, narrow


def _rows(ws, q):
    return ws.con.execute(q).fetchall()


def _same(full, narrow):
    q = f"SELECT {COLS} FROM events ORDER BY ALL"
    assert _rows(full, q) == _rows(narrow, q)
    q = "SELECT distinct_id, user_id FROM identities ORDER BY ALL"
    assert _rows(full, q) == _rows(narrow, q)
    assert _rows(narrow, "SELECT count(*) FROM events WHERE properties IS NOT NULL") == [(0,)]  # not read


def test_demo_data_same_events_funnel_and_retention(tmp_path):
    from yunying.demo import generate

    truth = generate(tmp_path / "demo", users=1500, days=30, seed=3)
    files = [str(f) for f in truth["files"]]
    assert len(files) == 1
    full, narrow = _both(files)
    _same(full, narrow)
    steps = ["signup", "activate", "view_content", "purchase"]
    for a, b in [(yunying.funnel(full, steps=steps, window="14d"), yunying.funnel(narrow, steps=steps, window="14d")),
                 (yunying.retention(full, start_event="signup", return_event="app_open", period="week", periods=4),
                  yunying.retention(narrow, start_event="signup", return_event="app_open", period="week", periods=4))]:
        assert a.to_dict() == b.to_dict()
    full.close(), narrow.close()


EDGE = """user_id,anonymous_id,event,timestamp,uuid,amount,note
,anon-1,view,2024-01-01 09:00:00,,1,a
u1,anon-1,signup,2024-01-01 10:00:00,,2,b
u1,,view,2024-01-01 10:00:00,,3,c
u1,,view,2024-01-01 10:00:00,,3,c
u2,,purchase,2024-01-02 10:00:00,e-1,5,x
u2,,purchase,2024-01-02 10:00:01,e-1,6,y
 u3 ,,  signup ,2024-01-03T10:00:00+08:00,,,
u3,,purchase,1704247200,,7,
,anon-9,view,2024-01-04,,,
"""


def test_edge_cases_identities_duplicates_typing(tmp_path):
    f = tmp_path / "edge.csv"
    f.write_text(EDGE)
    full, narrow = _both([str(f)])
    _same(full, narrow)
    # anonymous events go to the user their id was linked to; identical rows are separate events; an event id
    # counts once; text is trimmed; an offset and epoch seconds are times
    assert _rows(narrow, "SELECT count(*) FROM events WHERE user_id = 'u1'") == [(4,)]
    assert _rows(narrow, "SELECT count(*) FROM events WHERE event_uuid = 'e-1'") == [(1,)]
    assert _rows(narrow, "SELECT count(*) FROM events WHERE user_id = 'u3'") == [(2,)]


def test_bad_rows_same_error_and_unread_columns_not_checked(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,event,timestamp\nu1,view,2024-01-01\nu2,view,not a time\n,view,2024-01-02\n")
    errors = []
    for cols in (None, ()):
        with pytest.raises(YunyingError) as exc:
            yunying.Workspace.in_memory().import_events([str(bad)], columns=cols)
        errors.append(exc.value.message)
    assert errors[0] == errors[1] and "row 2" in errors[0] and "row 3" in errors[0]
    # A column the analysis does not read is not read, so its bad values are not an error here.
    ok = tmp_path / "ok.csv"
    ok.write_text("user_id,event,timestamp,revenue\nu1,view,2024-01-01,12x\n")
    narrow = yunying.Workspace.in_memory()
    narrow.import_events([str(ok)], columns=())
    assert _rows(narrow, "SELECT user_id, event FROM events") == [("u1", "view")]
    with pytest.raises(YunyingError):
        yunying.Workspace.in_memory().import_events([str(ok)])


def test_several_files_are_imported_in_full(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("user_id,event,timestamp,x\nu1,view,2024-01-01,1\n")
    b.write_text("user_id,event,timestamp,x\nu1,view,2024-01-01,1\n")  # the same event again
    full, narrow = _both([str(a), str(b)])
    _same_all = f"SELECT {COLS}, properties FROM events ORDER BY ALL"
    assert _rows(full, _same_all) == _rows(narrow, _same_all)
    assert _rows(narrow, "SELECT count(*) FROM events") == [(1,)]


def test_cli_funnel_on_a_file_matches_the_workspace(tmp_path):
    f = tmp_path / "edge.csv"
    f.write_text(EDGE)
    ws = yunying.Workspace.init(tmp_path / "ws")
    ws.import_events([str(f)])
    ws.close()
    args = ["funnel", "--steps", "signup,purchase", "-f", "json"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *args, *a], capture_output=True,  # noqa: E731
                                    text=True, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"}, timeout=300)
    on_file, on_ws = run("--events", str(f)), run("-w", str(tmp_path / "ws"))
    assert on_file.returncode == 0 and on_ws.returncode == 0, on_file.stderr + on_ws.stderr
    assert json.loads(on_file.stdout) == json.loads(on_ws.stdout)
    assert json.loads(on_file.stdout)["converted"] == 1
