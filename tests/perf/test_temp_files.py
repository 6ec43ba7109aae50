"""Issue 18 item 3: DuckDB's temporary files belong to yunying — in the workspace folder for workspaces, in the
system temp directory for in-memory work, removed on exit, on Ctrl-C and by the next run after a kill; never in
the user's current directory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.storage.tempfiles import WORKSPACE_TEMP

SRC = str(Path(yunying.__file__).resolve().parents[1])

# Forces DuckDB to spill: a sort of ~150 MB of rows under a 32 MB memory limit, kept as a temp table.
SPILL = """
import os, sys, time
import yunying
from yunying.config import WorkspaceConfig
ws = yunying.Workspace.in_memory(WorkspaceConfig(name="m", memory_limit="32MB", threads=1)) if sys.argv[1] == "memory" \
    else yunying.open(sys.argv[1])
ws.con.execute("SET memory_limit = '64MB'")
ws.con.execute("SET threads = 1")
ws.con.execute("SET enable_progress_bar = false")
ws.con.execute("CREATE TEMP TABLE t AS SELECT i, md5(CAST(i AS VARCHAR)) || md5(CAST(i + 1 AS VARCHAR)) AS s "
               "FROM range(1500000) r(i) ORDER BY s")
spill = ws.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
print(spill, sum(len(f) for _, _, f in os.walk(spill)), flush=True)
if len(sys.argv) > 2:
    time.sleep(600)
ws.close()
"""


def _env(tmp: Path) -> dict:
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=SRC)
    return env


def _run(args, cwd: Path, env: dict, **kw):
    return subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_in_memory_work_spills_into_system_temp_and_cleans_up(tmp_path):
    cwd, tmp = tmp_path / "cwd", tmp_path / "systmp"
    cwd.mkdir(), tmp.mkdir()
    p = _run(["-c", SPILL, "memory"], cwd, _env(tmp))
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    spill, files = out.split()
    assert Path(spill).parent.parent == tmp and int(files) > 0  # it did spill, into the system temp dir
    assert not Path(spill).exists()                               # and removed its folder on exit
    assert list(cwd.iterdir()) == []                               # nothing in the current directory


def test_sigkill_leaves_nothing_in_cwd_and_next_run_sweeps(tmp_path):
    cwd, tmp = tmp_path / "cwd", tmp_path / "systmp"
    cwd.mkdir(), tmp.mkdir()
    p = _run(["-c", SPILL, "memory", "wait"], cwd, _env(tmp))
    spill = Path(p.stdout.readline().split()[0])
    assert spill.is_dir() and any(spill.iterdir())
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert spill.is_dir()                 # a killed process cannot clean up …
    assert list(cwd.iterdir()) == []
    q = subprocess.run([sys.executable, "-c", "import yunying; yunying.Workspace.in_memory().close()"],
                       cwd=cwd, env=_env(tmp), capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    assert not spill.exists()             # … the next run removes the folder of the dead process
    assert list(spill.parent.iterdir()) == []


def test_workspace_spills_in_its_folder_and_ctrl_c_cleans_up(tmp_path):
    cwd, tmp = tmp_path / "cwd", tmp_path / "systmp"
    cwd.mkdir(), tmp.mkdir()
    yunying.Workspace.init(tmp_path / "ws").close()
    p = _run(["-c", SPILL, str(tmp_path / "ws"), "wait"], cwd, _env(tmp))
    spill = Path(p.stdout.readline().split()[0])
    assert spill.parent == (tmp_path / "ws" / WORKSPACE_TEMP).resolve() and any(spill.iterdir())
    p.send_signal(signal.SIGINT)          # Ctrl-C
    p.wait(timeout=60)
    assert not spill.exists() and not spill.parent.exists()
    assert list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []


def test_cli_events_file_killed_mid_import_then_cleaned(tmp_path):
    """``yunying funnel --events FILE`` from a temp CWD, SIGKILLed while it imports: nothing in CWD; the next
    run cleans up what the killed one left."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "systmp"
    cwd.mkdir(), tmp.mkdir()
    data = tmp_path / "events.csv"
    with data.open("w") as fh:
        fh.write("user_id,event,timestamp,amount\n")
        for i in range(300_000):
            fh.write(f"u{i % 5000},{'signup' if i % 7 == 0 else 'purchase'},2024-01-{1 + i % 28:02d} 10:00:00,{i}\n")
    args = ["-m", "yunying", "funnel", "--events", str(data), "--steps", "signup,purchase", "-f", "json"]
    p = _run(args, cwd, _env(tmp))
    deadline = time.time() + 120
    while time.time() < deadline and not any(d for d in tmp.glob("yunying-tmp-*/*")):
        time.sleep(0.02)
    left = list(tmp.glob("yunying-tmp-*/*"))
    assert left, "the run never created its spill folder"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert list(cwd.iterdir()) == []
    q = subprocess.run([sys.executable, *args], cwd=cwd, env=_env(tmp), capture_output=True, text=True, timeout=300)
    assert q.returncode == 0, q.stderr
    assert list(cwd.iterdir()) == []
    assert list(tmp.glob("yunying-tmp-*/*")) == []


def test_workspace_open_and_close_leave_no_temp_folder(tmp_path):
    ws = yunying.Workspace.init(tmp_path / "ws", WorkspaceConfig(name="ws"))
    assert (tmp_path / "ws" / WORKSPACE_TEMP).is_dir()
    ws.close()
    assert not (tmp_path / "ws" / WORKSPACE_TEMP).exists()


def test_cli_ctrl_c_and_kill_stop_a_running_statement_and_clean_up(tmp_path):
    """SIGINT / SIGTERM while DuckDB runs a long statement (the import of a file): the command stops at once
    (it interrupts the connection), exits 130 / 143 and leaves no temporary files."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "systmp"
    cwd.mkdir(), tmp.mkdir()
    data = tmp_path / "events.csv"
    with data.open("w") as fh:
        fh.write("user_id,event,timestamp,note\n")
        for i in range(1_500_000):
            fh.write(f"u{i % 50000},{'signup' if i % 7 == 0 else 'buy'},2024-01-{1 + i % 28:02d} 10:00:00,{i}\n")
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        p = subprocess.Popen([sys.executable, "-m", "yunying", "trends", "--events", str(data), "-e", "buy", "--by",
                              "note", "-f", "json"], cwd=cwd, env=_env(tmp), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 120
        while time.time() < deadline and not list(tmp.glob("yunying-tmp-*/*")):
            time.sleep(0.02)
        time.sleep(0.5)
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
        assert p.returncode == code, (sig, p.returncode, err)
        assert list(tmp.glob("yunying-tmp-*/*")) == [] and list(cwd.iterdir()) == []


def test_an_interrupted_statements_own_error_still_exits_as_the_signal(monkeypatch):
    """The statement a signal interrupted can fail (DuckDB's "Query interrupted") before Python has run the signal's
    handler: the CLI's error handler then exits as the signal asks (143 for SIGTERM, 130 for SIGINT), never 1."""
    from yunying.cli import common

    monkeypatch.setattr(common, "_RECEIVED", [])
    assert common._exit_if_signalled() is None
    for received, code in (([signal.SIGTERM], 143), ([signal.SIGINT], 130), ([signal.SIGINT, signal.SIGTERM], 143)):
        monkeypatch.setattr(common, "_RECEIVED", list(received))
        with pytest.raises(SystemExit) as info:
            common._exit_if_signalled()
        assert info.value.code == code
