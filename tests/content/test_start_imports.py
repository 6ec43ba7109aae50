"""Issue 13 start-up: referrals, clv and winback, and ``content`` (per piece), ``content flags`` and
``content timing`` compute without pandas (≈ 0.3 s to import) and without Ibis, on the DuckDB engine; the pandas
piece table (reports, other engines) runs its DuckDB queries before pandas is imported. Not timed
(benchmarks/bench_startup.py measures): this checks the property that keeps them fast."""
from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import yunying
from util import csv_workspace

SRC = str(Path(yunying.__file__).resolve().parents[1])


def _loaded(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(m for m in ('pandas', 'ibis', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_referrals_clv_winback_load_neither_pandas_nor_ibis(tmp_path):
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue,inviter,campaign"]
    for i in range(40):
        lines.append(f"u{i},u{i},signup,2026-01-{1 + i % 20:02d}T10:00:00Z,{'c1' if i % 3 else ''},,"
                     f"{'u0' if i % 2 else ''},{'spring' if i % 4 else ''}")
        lines.append(f"u{i},u{i},view_content,2026-01-{1 + i % 20:02d}T09:00:00Z,c{1 + i % 2},,,")
    rng = random.Random(5)
    for i in range(150):  # customers who buy at their own rate until they leave (what the models assume)
        t, rate, leaves = rng.uniform(0, 60), rng.uniform(0.02, 0.3), rng.expovariate(1 / 90)
        while t < min(leaves, 200):
            when = dt.datetime(2026, 1, 1) + dt.timedelta(days=t)
            lines.append(f"b{i},b{i},purchase,{when.isoformat()}Z,,{rng.randint(1, 800) / 4},,")
            t += rng.expovariate(rate)
    with csv_workspace(tmp_path, lines):
        pass
    ws = str(tmp_path / "ws")
    code = f"""
import yunying
from yunying.analyses.content.referrals import referrals
from yunying.analyses.customer_value import customer_value, winback
e = yunying.open({ws!r}, read_only=True).engine
r = referrals(e).to_dict()
assert r['referred_signups'] == 20 and r['rows'][0]['content_id'] == 'c1', r
assert referrals(e, by='campaign').records()
assert len(customer_value(e, period='day').records()) > 100
w = winback(e, period='day', top=5).to_dict()
assert [x['rank'] for x in w['users']] == list(range(1, len(w['users']) + 1))
"""
    loaded = _loaded(code)
    assert "numpy" in loaded and not {"pandas", "ibis"} & loaded, loaded
    assert "pandas" not in _loaded("import yunying.analyses.content")
    assert "pandas" in _loaded(code + "\nw = winback(e, period='day', top=5).frame")  # a frame when asked for


def _content_workspace(tmp_path) -> str:
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue"]
    for i in range(30):
        lines.append(f"u{i},u{i},view_content,2026-01-{1 + i % 20:02d}T09:00:00Z,c{i % 3},")
        lines.append(f"u{i},u{i},{'follow' if i % 2 else 'signup'},2026-01-{1 + i % 20:02d}T10:00:00Z,c{i % 3},")
        lines.append(f"u{i},u{i},purchase,2026-01-{1 + i % 20:02d}T11:00:00Z,,{i}.25")
    with csv_workspace(tmp_path, lines):
        pass
    return str(tmp_path / "ws")


def _run_cli(args: list[str], ws, checks: str) -> str:
    """A program running the CLI with ``args`` on ``ws`` in one interpreter, then ``checks`` on what it loaded."""
    return f"""
import sys
from yunying.cli import main
sys.argv = ['yunying', *{args!r}, '-w', {str(ws)!r}]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
{checks}"""


def test_content_and_flags_load_neither_pandas_nor_ibis(tmp_path):
    """The CLI's ``content``, ``content flags`` and ``content timing``, as JSON and as tables, on the DuckDB engine: no pandas, no Ibis
    and neither the ``scipy.optimize`` nor the ``scipy.special`` package (the priors are fitted by SciPy's compiled
    L-BFGS-B through stats/lbfgsb.py; the likelihood and the intervals use ``scipy.special``'s compiled ufuncs,
    loaded alone by stats/ufuncs.py)."""
    ws = _content_workspace(tmp_path)
    for args in (["content"], ["content", "-f", "json"], ["content", "flags"], ["content", "flags", "-f", "json"]):
        code = _run_cli(args, ws, """
assert not {'scipy.optimize', 'scipy.special', 'scipy.stats'} & set(sys.modules), sorted(sys.modules)
assert 'scipy.special._ufuncs' in sys.modules
""")
        loaded = _loaded(code)
        assert "numpy" in loaded and not {"pandas", "ibis"} & loaded, (args, loaded)
    assert "pandas" in _loaded(code.replace("'-f', 'json'", "'-f', 'csv'"))  # CSV is written by pandas
    for args in (["content", "timing"], ["content", "timing", "--by", "weekday_hour", "-f", "json"]):
        code = _run_cli(args, ws, """
assert not [m for m in sys.modules if m.startswith('scipy')], 'content timing needs no SciPy'
""")
        loaded = _loaded(code)
        assert "numpy" in loaded and not {"pandas", "ibis"} & loaded, (args, loaded)


def test_piece_table_queries_run_before_pandas_is_needed(tmp_path):
    """The pandas piece table (reports; other engines) runs its DuckDB queries before anything imports pandas, so
    that ``data.preload``'s import overlaps them (with no preload, pandas is still absent when the last query
    starts)."""
    ws = _content_workspace(tmp_path)
    code = f"""
import sys
import yunying
from yunying.analyses.content import data, data_sql
from yunying.analyses.content.funnel import ContentSpec
seen = []
for name in ("event_counts", "conversions", "conversion_pieces"):
    def spy(*a, _f=getattr(data_sql, name), _n=name):
        seen.append((_n, "pandas" in sys.modules))
        return _f(*a)
    setattr(data_sql, name, spy)
df = data.piece_table(yunying.open({ws!r}, read_only=True).engine, ContentSpec.build())
assert seen == [("event_counts", False), ("conversions", False)], seen
assert df.set_index("content_id").readers.to_dict() == {{"c0": 10, "c1": 10, "c2": 10}}
"""
    assert "pandas" in _loaded(code)
