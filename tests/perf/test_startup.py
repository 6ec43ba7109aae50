"""Issue 13/18 start-up: what a command loads before it works. Not timed (speed is measured in benchmarks/);
these check the property that keeps it fast — heavy libraries load only where they are used."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import yunying
from util import signup_open_workspace

SRC = str(Path(yunying.__file__).resolve().parents[1])
HEAVY = ("duckdb", "pyarrow", "numpy", "pandas", "numba", "scipy", "ibis", "plotly", "fastapi", "pyspark",
         "pydantic", "asyncio")


def _loaded(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_help_and_the_package_load_no_heavy_library():
    assert _loaded("import yunying") == []
    assert _loaded("import yunying.cli") == []  # every command module registered, `yunying --help` ready


@pytest.fixture(scope="module")
def store_ws(tmp_path_factory):
    """A workspace with a fresh sequence store: 300 users who sign up on 2024-01-01 and open on days 1-9."""
    return signup_open_workspace(tmp_path_factory.mktemp("startup"))


def test_a_funnel_and_retention_on_the_sequence_store_do_not_load_ibis(store_ws):
    """Funnels and retention read the sequence store through the kernels: Ibis (≈ 0.5 s) is not imported (here on
    the JIT kernels; with the ahead-of-time build Numba is not imported either: test_kernels_aot.py)."""
    code = f"""
import yunying
from yunying.storage import sequence_store as store
ws = yunying.open({store_ws!r}, read_only=True)
assert store.open_store(ws) is not None
f = yunying.funnel(ws, steps=['signup', 'open'], window='30d').to_dict()
assert (f['entered'], f['converted']) == (300, 300), f
yunying.retention(ws, start_event='signup', return_event='open', period='week')
"""
    loaded = _loaded(code)
    assert "ibis" not in loaded and "numba" in loaded and "pandas" not in loaded  # results are plain columns


def test_analyses_without_a_per_user_kernel_do_not_load_numba(store_ws):
    """Trends, the overview, new users and revenue are plain SQL on DuckDB: neither Numba (≈ 0.25 s to import, ≈ 0.5 s more to
    set up before a cached kernel runs) nor Ibis (≈ 0.85 s) nor pandas (≈ 0.3 s) is imported, though the calendar,
    the engines and the store's event list are used; a filter brings Ibis back (it compiles the filter)."""
    code = f"""
import yunying
from yunying.storage import sequence_store as store
ws = yunying.open({store_ws!r}, read_only=True)
assert store.open_store(ws).events == ['open', 'signup']
t = yunying.trends(ws, event='open', measure='users', interval='day').to_dict()
assert [p['value'] for p in t['series']] == [34] * 3 + [33] * 6, t['series']  # u % 9 opens on day 1 + u % 9
o = yunying.overview(ws).to_dict()
assert o['metrics'][0]['current'] == 300, o['metrics']  # every signup is in the week of 2024-01-01
yunying.trends(ws, event='open', by='event', interval='week', compare=True).to_csv()
from yunying.analyses.users import new_users, revenue
assert sum(r['new_users'] for r in new_users(ws.engine, by_channel=True).to_dict()['series']) == 300
revenue(ws.engine).to_dict()
"""
    loaded = _loaded(code)
    assert not {"numba", "ibis", "pandas"} & set(loaded), loaded
    rfm = f"import yunying\nfrom yunying.analyses.rfm import rfm\nrfm(yunying.open({store_ws!r}, read_only=True).engine)"
    assert "ibis" not in _loaded(rfm)  # RFM's scores are still computed in pandas
    assert "ibis" in _loaded(code.replace("interval='day')", "interval='day', filters=['event.event = \\'open\\''])"))
