"""Small generated event data for the metrics and explain tests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from util import add_config

CHANNELS = ("feed", "search", "kol")


def events_frame(seed: int = 1, users: int = 300, days: int = 28, start=dt.date(2024, 1, 1)) -> pd.DataFrame:
    """app_open and purchase events of ``users`` users over ``days`` days, with channel / platform / revenue."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        ch = CHANNELS[int(rng.integers(0, 3))]
        for d in range(days):
            if rng.random() < 0.3:
                ts = dt.datetime.combine(start, dt.time()) + dt.timedelta(days=d, hours=int(rng.integers(0, 23)))
                plat = ("ios", "android")[int(rng.integers(0, 2))]
                rows.append(dict(user_id=f"u{u}", event="app_open", timestamp=ts.isoformat(), channel=ch,
                                 platform=plat))
                if rng.random() < 0.2:
                    rows.append(dict(user_id=f"u{u}", event="purchase", timestamp=ts.isoformat(), channel=ch,
                                     platform=plat, revenue=float(rng.integers(10, 100))))
    return pd.DataFrame(rows)


def workspace_from(tmp: Path, df: pd.DataFrame, toml_extra: str = ""):
    """A workspace in ``tmp/ws`` with ``df`` imported (and extra yunying.toml text appended)."""
    import yunying

    ws = yunying.Workspace.init(tmp / "ws")
    if toml_extra:
        ws.close()
        add_config(tmp / "ws", toml_extra)
        ws = yunying.open(tmp / "ws")
    path = tmp / "events.csv"
    df.to_csv(path, index=False)
    ws.import_events([str(path)])
    return ws
