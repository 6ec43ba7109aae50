"""The hand-worked report example of docs/report.md: two weeks of a small shop."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yunying

WEEK_A, WEEK_B = dt.date(2026, 3, 2), dt.date(2026, 3, 9)  # Mondays


def shop_events(path: Path, *, third_week_days: int = 0) -> Path:
    """Week A: 100 active users, 20 buy CNY 100 each; week B: 90 active, 27 buy CNY 90 each. Optionally the first
    ``third_week_days`` days of a third week: 10 active users a day, 3 of them buying CNY 90 each."""
    rows = ["user_id,event,ts,revenue"]
    for week, (active, buyers, price) in ((WEEK_A, (100, 20, 100.0)), (WEEK_B, (90, 27, 90.0))):
        for i in range(active):
            day = week + dt.timedelta(days=i % 7)
            rows.append(f"{week}-u{i},view,{day} 10:00:00,")
            if i < buyers:
                rows.append(f"{week}-u{i},purchase,{day} 11:00:00,{price}")
    for d in range(third_week_days):
        day = WEEK_B + dt.timedelta(days=7 + d)
        for i in range(10):
            rows.append(f"{day}-u{i},view,{day} 10:00:00,")
            if i < 3:
                rows.append(f"{day}-u{i},purchase,{day} 11:00:00,90.0")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def shop(tmp: Path, **kw) -> Path:
    ws = yunying.Workspace.init(tmp / "shop")
    ws.import_events(str(shop_events(tmp / "shop.csv", **kw)))
    ws.close()
    return tmp / "shop"
