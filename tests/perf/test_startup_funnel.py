"""Issue 18 item 5: what ``yunying funnel -w WS`` loads and does at start-up on a workspace with a sequence store
(not timed: benchmarks/bench_firstanswer.py measures it). Arrow's compute functions (≈ 0.1 s to import) are not
loaded when the kernels read the store in place; the CLI's start-up leaves Python's collector on for the caller."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import yunying
from util import signup_open_workspace

SRC = str(Path(yunying.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def store_ws(tmp_path_factory):
    """300 users who sign up on 2024-01-01; user u opens on day 1 + u % 9, and u % 3 == 0 also buy on day 12."""
    return signup_open_workspace(tmp_path_factory.mktemp("startfunnel"), buyers=True)


def _cli(args: list[str]) -> tuple[dict, list[str]]:
    code = f"""
import sys
sys.argv = ['yunying'] + {args!r}
import yunying.cli
try:
    yunying.cli.main()
except SystemExit as e:
    assert not e.code, e.code
print('\\n#LOADED ' + ' '.join(m for m in ('pyarrow.compute', 'ibis', 'pandas') if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    text, loaded = out.stdout.rsplit("\n#LOADED", 1)
    return json.loads(text), loaded.split()


def test_a_funnel_on_the_store_answers_without_arrow_compute(store_ws):
    res, loaded = _cli(["funnel", "-w", store_ws, "--steps", "signup,open,buy", "--window", "30d", "-f", "json"])
    # everyone opens after signing up; the 100 users u % 3 == 0 buy on day 12, after their open (days 1-9)
    assert [s["count"] for s in res["steps"]] == [300, 300, 100]
    assert res["steps"][2]["median_seconds_from_start"] == 11 * 86400 - 3600
    assert loaded == []


def test_importing_the_cli_leaves_the_collector_on():
    code = "import gc\nimport yunying.cli\nprint(gc.isenabled(), gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["True", "0"], out.stderr  # only `main()` (the real command line) freezes


def test_a_command_line_builds_the_tree_of_its_command_only(monkeypatch, capsys):
    """Typer builds the command tree before it parses: a line naming a command builds that command's only (its
    answer is the same); a line that names none gets the whole tree ("did you mean" needs it)."""
    import typer.main

    from yunying.cli import common

    built = []
    real = typer.main.get_command

    def spy(app):
        cmd = real(app)
        built.append(sorted(getattr(cmd, "commands", {})))
        return cmd

    monkeypatch.setattr(typer.main, "get_command", spy)
    for argv, code in ((["funnel", "--help"], 0), (["segments", "--help"], 0), (["funel"], 2)):
        monkeypatch.setattr(sys, "argv", ["yunying", *argv])
        try:
            common.run_app()
            got = 0
        except SystemExit as e:
            got = e.code
        assert got == code, argv
    out = capsys.readouterr()
    assert built[0] == ["funnel"] and built[1] == ["segments"] and len(built[2]) > 30
    assert "Did you mean 'funnel'?" in out.err + out.out
    assert len(common.app.registered_commands) > 20  # the whole tree is back for the next line
