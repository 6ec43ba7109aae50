"""Issue 13 start-up: ``campaign list`` (the portfolio: a holdout review and a difference-in-differences review) on
the DuckDB engine loads neither pandas, Ibis, statsmodels, SciPy's statistics or optimiser nor the synthetic control's
module — it reads its data in plain SQL and computes on arrays. Not timed (benchmarks/bench_startup.py measures):
this checks the property that keeps it fast."""
from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import yunying
from yunying.analyses.campaigns import assign_holdout
from yunying.storage import campaigns as store
from util import csv_workspace

SRC = str(Path(yunying.__file__).resolve().parents[1])
HEAVY = ("pandas", "ibis", "statsmodels", "scipy.stats", "scipy.optimize", "yunying.stats.causal.synth")


def _events() -> list[str]:
    rng = random.Random(3)
    lines = ["user_id,event,timestamp,revenue,platform"]
    for u in range(120):
        first = dt.datetime(2026, 3, 1) + dt.timedelta(hours=rng.randint(0, 24 * 20))
        plat = rng.choice(["ios", "android"])
        lines.append(f"u{u},signup,{first.isoformat()}Z,,{plat}")
        for _ in range(rng.randint(1, 12)):
            when = first + dt.timedelta(hours=rng.randint(0, 24 * 50))
            lines.append(f"u{u},purchase,{when.isoformat()}Z,{rng.randint(4, 200)},{plat}")
    return lines


def test_campaign_list_loads_no_heavy_library(tmp_path):
    with csv_workspace(tmp_path, _events()) as ws:
        for doc in ({"name": "sale", "start": "2026-04-01", "end": "2026-04-07", "audience": {"all_users": True},
                     "holdout": {"share": 0.3, "seed": 2}},
                    {"name": "push", "start": "2026-04-05", "end": "2026-04-10",
                     "audience": {"event": "signup", "property": "platform", "value": "ios"}}):
            camp = store.parse({**doc, "goals": [{"metric": "purchases", "target": 50}]}, "test")
            store.save(ws.path, camp)
            if camp.holdout is not None:
                assign_holdout(ws, camp)
    code = f"""
import sys
import yunying
from yunying.analyses.campaigns.portfolio import portfolio
rows = portfolio(yunying.open({str(tmp_path / 'ws')!r}, read_only=True))
assert [r['method'] for r in rows] == ['holdout', 'did'], rows
print(' '.join(m for m in {HEAVY!r} if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []
    # the check can tell: asking the package for the synthetic control loads its module
    sc = code.replace("print(", "from yunying.stats.causal import synthetic_control\nprint(")
    out = subprocess.run([sys.executable, "-c", sc], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["yunying.stats.causal.synth"]


def test_a_portfolio_of_planned_campaigns_imports_no_statistics(tmp_path):
    """Nothing to review (every campaign starts after the data): the statistics are not imported, not even by the
    background import that overlaps the reviews' queries."""
    with csv_workspace(tmp_path, _events()) as ws:
        camp = store.parse({"name": "later", "start": "2027-01-01", "end": "2027-01-07", "audience": {"all_users": True},
                            "goals": [{"metric": "purchases", "target": 5}]}, "test")
        store.save(ws.path, camp)
    code = f"""
import sys, threading
import yunying
from yunying.analyses.campaigns.portfolio import portfolio
rows = portfolio(yunying.open({str(tmp_path / 'ws')!r}, read_only=True))
assert [r['status'] for r in rows] == ['planned'], rows
for t in threading.enumerate():
    if t is not threading.main_thread():
        t.join()
print(' '.join(m for m in ('scipy.special', 'yunying.analyses.experiment.core', 'yunying.stats.causal.did')
               if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []
