"""Helpers shared by tests (importable as `util` thanks to pythonpath = tests)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ARTIFACTS = ROOT / "test-artifacts"


def shared_file(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():  # a published-figure test must not vanish: a missing dataset is a failure
        pytest.fail(f"shared dataset {p} is absent (expected in ../shared beside the project root)")
    return p


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def csv_workspace(path: Path, lines: list[str], timezone: str = "UTC"):
    """A workspace at ``path/ws`` in ``timezone`` with the CSV ``lines`` (header first) imported as events."""
    import yunying
    from yunying.config import WorkspaceConfig

    ws = yunying.Workspace.init(path / "ws", config=WorkspaceConfig(name="t", timezone=timezone))
    ws.import_events(str(write(path / "events.csv", "\n".join(lines) + "\n")))
    return ws


def add_config(ws_path: Path, text: str) -> None:
    """Append ``text`` to the workspace's yunying.toml."""
    cfg = ws_path / "yunying.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def cli(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """The CLI in this process, through the same entry point as the console script (no traceback, exit codes):
    (exit code, stdout, stderr)."""
    from yunying.cli.common import run_app

    monkeypatch.setattr("sys.argv", ["yunying", *args])
    code = 0
    try:
        run_app()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_same_rows(a, b):
    """Equal nested results, floats to 1e-9 relative: two loads of the same data may sum in another order
    (DuckDB aggregates in parallel), so their last bits can differ."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), (a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same_rows(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_rows(x, y)
    else:
        assert a == b, (a, b)


def signup_open_workspace(folder, buyers: bool = False) -> str:
    """A workspace in ``folder``/ws with a fresh sequence store: 300 users who sign up on 2024-01-01; user u opens
    on day 1 + u % 9; with ``buyers``, u % 3 == 0 also buy on day 12. Returns the workspace's path."""
    import yunying

    ws = yunying.Workspace.init(Path(folder) / "ws")
    with open(Path(folder) / "e.csv", "w") as fh:
        fh.write("user_id,event,timestamp\n")
        for u in range(300):
            fh.write(f"u{u},signup,2024-01-01 10:00:00\nu{u},open,2024-01-0{1 + u % 9} 11:00:00\n")
            if buyers and u % 3 == 0:
                fh.write(f"u{u},buy,2024-01-12 09:00:00\n")
    ws.import_events([str(Path(folder) / "e.csv")])
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    return str(Path(folder) / "ws")


def workspaces_by_zone(build, params: list[tuple[str, int]], prefix: str):
    """A module-scoped fixture: one workspace per ``(time zone, seed)`` of ``params``, made in a fresh folder by
    ``build(folder, timezone, seed)`` and closed after the module's tests. ``ws = workspaces_by_zone(…)`` in a test
    module makes the fixture ``ws``."""
    @pytest.fixture(scope="module", params=params, ids=[f"{tz}-{seed}" for tz, seed in params])
    def ws(request, tmp_path_factory):
        tz, seed = request.param
        w = build(tmp_path_factory.mktemp(prefix), tz, seed)
        yield w
        w.close()

    return ws
