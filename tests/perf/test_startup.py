"""Issue 13/18 start-up: what a command loads before it works. Not timed (speed is measured in benchmarks/);
these check the property that keeps it fast — heavy libraries load only where they are used."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yunying

SRC = str(Path(yunying.__file__).resolve().parents[1])
HEAVY = ("duckdb", "pyarrow", "numpy", "pandas", "numba", "scipy", "ibis", "plotly", "fastapi", "pyspark",
         "pydantic", "asyncio")


def _loaded(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_help_and_the_package_load_no_heavy_library():
    assert _loaded("import yunying") == []
    assert _loaded("import yunying.cli") == []  # every command module registered, `yunying --help` ready


def test_a_funnel_and_retention_on_the_sequence_store_do_not_load_ibis(tmp_path):
    """Funnels and retention read the sequence store through the kernels: Ibis (≈ 0.5 s) is not imported."""
    from yunying.storage import sequence_store as store

    ws = yunying.Workspace.init(tmp_path / "ws")
    with open(tmp_path / "e.csv", "w") as fh:
        fh.write("user_id,event,timestamp\n")
        for u in range(300):
            fh.write(f"u{u},signup,2024-01-01 10:00:00\nu{u},open,2024-01-0{1 + u % 9} 11:00:00\n")
    ws.import_events([str(tmp_path / "e.csv")])
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    code = f"""
import yunying
from yunying.storage import sequence_store as store
ws = yunying.open({str(tmp_path / 'ws')!r}, read_only=True)
assert store.open_store(ws) is not None
f = yunying.funnel(ws, steps=['signup', 'open'], window='30d').to_dict()
assert (f['entered'], f['converted']) == (300, 300), f
yunying.retention(ws, start_event='signup', return_event='open', period='week')
"""
    loaded = _loaded(code)
    assert "ibis" not in loaded and "numba" in loaded
