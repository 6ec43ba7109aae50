"""The command line while a server runs, `yunying keys`, and `yunying serve --get`."""
from __future__ import annotations

import json
import uuid

import pytest

from yyserver_helpers import ServerProcess, create_key, make_workspace, run_cli


def test_keys_create_list_revoke(tmp_path):
    ws = make_workspace(tmp_path / "keys")
    out = run_cli("keys", "create", "--workspace", str(ws), "--kind", "read", "--label", "tv wall")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("yyr_") and " " not in secret  # the key alone on the last line
    assert "shown only once" in lines[0]
    listed = json.loads(run_cli("keys", "list", "--workspace", str(ws), "--format", "json").stdout)["keys"]
    (key,) = listed
    assert key["kind"] == "read" and key["label"] == "tv wall" and key["active"] and secret not in json.dumps(listed)
    assert key["id"] == secret.split("_")[1]
    out = run_cli("keys", "revoke", key["id"], "--workspace", str(ws))
    assert out.returncode == 0 and "revoked read key" in out.stdout
    listed = json.loads(run_cli("keys", "list", "--workspace", str(ws), "--format", "json").stdout)["keys"]
    assert listed[0]["revoked_at"] and not listed[0]["active"]
    out = run_cli("keys", "revoke", "nosuchkey", "--workspace", str(ws))
    assert out.returncode == 1 and "no key with id 'nosuchkey'" in out.stderr
    out = run_cli("keys", "create", "--workspace", str(ws), "--kind", "admin")
    assert out.returncode == 1 and "write or read" in out.stderr


def test_projects_folder(tmp_path):
    make_workspace(tmp_path / "projects" / "shop")
    make_workspace(tmp_path / "projects" / "blog")
    out = run_cli("keys", "create", "--workspace", str(tmp_path / "projects"))
    assert out.returncode == 1 and "choose one with --project" in out.stderr
    out = run_cli("keys", "create", "--workspace", str(tmp_path / "projects"), "--project", "blog")
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1].startswith("yyw_")
    listed = json.loads(run_cli("keys", "list", "-w", str(tmp_path / "projects"), "-f", "json").stdout)["keys"]
    assert [k["project"] for k in listed] == ["blog"]
    out = run_cli("keys", "list", "-w", str(tmp_path / "projects"), "--project", "nope")
    assert out.returncode == 1 and "no project 'nope'" in out.stderr


def test_serve_get_answers_one_request_without_a_server(tmp_path):
    ws = make_workspace(tmp_path / "once")
    out = run_cli("serve", "--workspace", str(ws), "--get", "/api/status")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["project"] == "once"
    out = run_cli("serve", "--workspace", str(ws), "--get", "/api/query/nope")
    assert out.returncode == 1 and json.loads(out.stdout)["ok"] is False
    out = run_cli("serve", "--workspace", str(ws), "--setting", "query_timeout=fast", "--get", "/api/status")
    assert out.returncode == 1 and "query_timeout: expected a float" in out.stderr


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    ws = make_workspace(root / "live")
    key = create_key(ws, "write")
    events = root / "more.csv"
    events.write_text("user_id,event,timestamp\nfile-user,import_me,2026-05-02T10:00:00Z\n"
                      "file-user,import_me,2026-05-03T10:00:00Z\n", encoding="utf-8")
    with ServerProcess(ws, settings=("publish_interval=0.2",)) as server:
        batch = [{"event": "cli_seen", "distinct_id": f"u{i % 5}", "uuid": str(uuid.uuid4()),
                  "timestamp": f"2026-05-0{1 + i % 3}T12:00:00Z"} for i in range(30)]
        server.client(token=key).post("/batch/", {"api_key": key, "batch": batch})
        server.client().wait_published()
        yield server, ws, events


def test_cli_analyses_work_while_the_server_runs(running):
    server, ws, _ = running
    out = run_cli("info", "--workspace", str(ws), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["events"] == 30
    out = run_cli("trends", "--workspace", str(ws), "--event", "cli_seen", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [r["value"] for r in json.loads(out.stdout)["series"]] == [10, 10, 10]


def test_cli_keys_work_while_the_server_runs(running):
    server, ws, _ = running
    out = run_cli("keys", "create", "--workspace", str(ws), "--kind", "read")
    secret = out.stdout.strip().splitlines()[-1]
    assert server.client(token=secret).status()["project"] == "live"  # the running server knows it at once


def test_import_while_the_server_runs(running):
    server, ws, events = running
    # `yunying import` sees the server that owns the workspace and imports through it.
    out = run_cli("import", "events", str(events), "--workspace", str(ws), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert "importing through it" in out.stderr
    report = json.loads(out.stdout)
    assert (report["rows_read"], report["rows_added"]) == (2, 2)
    out = run_cli("info", "--workspace", str(ws), "--format", "json")
    assert json.loads(out.stdout)["events"] == 32
    again = run_cli("import", "events", str(events), "--workspace", str(ws), "--format", "json")
    assert json.loads(again.stdout)["rows_added"] == 0  # idempotent through the server too
    out = run_cli("optimize", "--workspace", str(ws))
    assert out.returncode == 1 and "served by yunying serve" in out.stderr and "Traceback" not in out.stderr
