"""`yunying import` while a server owns the workspace: all files or none (as without a server), and reports
and errors name the user's paths, never the server's upload files (issue 19, item 11)."""
from __future__ import annotations

import json

import pytest

from yyserver_helpers import ServerProcess, make_workspace, run_cli

HEAD = "user_id,event,timestamp\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("imports")
    ws = make_workspace(root / "ws")
    logs = root / "logs"
    logs.mkdir()
    (logs / "2026-06-01.csv").write_text(HEAD + "a,open,2026-06-01T10:00:00Z\n")
    (logs / "2026-06-02.csv").write_text(HEAD + "b,open,2026-06-02T10:00:00Z\nb,open,2026-06-02T10:00:00Z\n")
    (logs / "2026-06-03.csv").write_text(HEAD + "c,open,yesterday\n")  # the last file of the glob is bad
    with ServerProcess(ws, settings=("publish_interval=0.2",)) as server:
        yield server, ws, root


def _events(ws) -> int:
    out = run_cli("info", "--workspace", str(ws), "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["events"]


def test_a_bad_last_file_imports_nothing_and_names_the_users_path(served):
    server, ws, root = served
    out = run_cli("import", "events", "logs/2026-06-0*.csv", "--workspace", str(ws), cwd=root)
    assert out.returncode == 1
    assert "logs/2026-06-03.csv: 1 of 1 row(s) are invalid; nothing was imported" in out.stderr, out.stderr
    assert "uploads" not in out.stderr and str(ws.resolve()) not in out.stderr
    assert _events(ws) == 0


def test_good_files_import_in_one_transaction(served):
    server, ws, root = served
    out = run_cli("import", "events", "logs/2026-06-01.csv", "logs/2026-06-02.csv", "--workspace", str(ws),
                  "--format", "json", cwd=root)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["files"] == ["logs/2026-06-01.csv", "logs/2026-06-02.csv"]
    assert (report["rows_read"], report["rows_added"], report["identical_rows"]) == (3, 3, 1)
    server.client().wait_published()
    assert _events(ws) == 3
    again = run_cli("import", "events", "logs/2026-06-01.csv", "logs/2026-06-02.csv", "--workspace", str(ws),
                    "--format", "json", cwd=root)
    assert json.loads(again.stdout)["rows_added"] == 0


def test_sizes_must_match_the_body(served):
    server, ws, root = served
    from yunying.server.client import ServerError

    client = server.client()
    with pytest.raises(ServerError) as err:
        client.request("POST", "/api/import/events?filename=a.csv&filename=b.csv&size=3&size=4", b"abcdefghij",
                       "application/octet-stream")
    assert err.value.status == 400 and "sizes add up to (7 bytes)" in str(err.value)
    with pytest.raises(ServerError) as err:
        client.request("POST", "/api/import/events?filename=a.csv&filename=b.csv", b"abc", "application/octet-stream")
    assert err.value.status == 400 and "one byte count per filename" in str(err.value)
