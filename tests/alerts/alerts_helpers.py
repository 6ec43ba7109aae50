"""Alerts tests: workspaces with planted daily series and the real CLI in a subprocess. The local HTTP receiver
and SMTP server are in tests/servers.py (shared with the report tests)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

PATTERN = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3])  # Monday … Sunday


def daily_counts(days: int, *, level: float = 60.0, seed: int = 0, first: dt.date = dt.date(2026, 1, 5)) -> np.ndarray:
    """Poisson buyers a day around ``level`` with a weekly pattern (first day a Monday by default)."""
    rng = np.random.default_rng(seed)
    weekday = np.array([(first + dt.timedelta(days=i)).weekday() for i in range(days)])
    return rng.poisson(level * PATTERN[weekday])


def write_events(path: Path, first: dt.date, buyers, *, viewers_per_buyer: int = 3, revenue: float = 10.0,
                 hour: int = 12) -> Path:
    """A CSV of events: each day, ``buyers[d] * viewers_per_buyer`` users view and ``buyers[d]`` of them buy
    (one purchase of ``revenue`` each). Users are new every day."""
    lines = ["user_id,event,ts,revenue"]
    for d, n in enumerate(buyers):
        day = first + dt.timedelta(days=d)
        for i in range(int(n) * viewers_per_buyer):
            ts = f"{day.isoformat()} {hour:02d}:{i % 60:02d}:00"
            lines.append(f"u{d}_{i},view,{ts},")
            if i < n:
                lines.append(f"u{d}_{i},purchase,{ts},{revenue}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(*args: str, env: dict | None = None, timeout: float = 120):
    """``python -m yunying ARGS`` in a subprocess (the real CLI, as cron runs it)."""
    import os
    import subprocess
    import sys

    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, timeout=timeout,
                          env=full)
