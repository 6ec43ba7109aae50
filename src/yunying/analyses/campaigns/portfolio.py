"""The portfolio (docs/campaigns.md#portfolio): every campaign of the workspace in start order with its full cost,
incremental purchases and cost per incremental purchase (each with its interval), and the change of that cost
from the previous reviewed campaign — are campaigns getting cheaper?"""
from __future__ import annotations

from ...errors import YunyingError
from ...storage import campaigns as store
from . import data
from ..preload import preload
from .review import lift_modules, review


def portfolio(ws, reviews: dict | None = None) -> list[dict]:
    """The rows; ``reviews`` (a dict), when given, receives each reviewed campaign's review by name (with its goals,
    which the rows alone do not need)."""
    rows = []
    camps = sorted(store.all_(ws.path), key=lambda c: (c.start, c.name))
    last = data.last_day(ws.engine) if camps else None
    # the reviews' statistics are imported while their queries run (issue 13); nothing when none is reviewed
    preload(*dict.fromkeys(m for c in camps if last is not None and c.start <= last for m in lift_modules(c)))
    previous = None
    for camp in camps:
        row = {"campaign": camp.name, "start": camp.start, "end": camp.end, "holdout": camp.holdout is not None}
        if last is None or last < camp.start:
            rows.append({**row, "status": "planned"})
            continue
        try:
            r = review(ws, camp, after=False, last=last, with_goals=reviews is not None).data
        except YunyingError as exc:
            rows.append({**row, "status": "not_reviewed", "message": exc.message})
            continue
        if reviews is not None:
            reviews[camp.name] = r
        e = r["economics"]
        cpi = e["cost_per_incremental_purchase"]
        row.update(status="complete" if r["complete"] else "running", method=r["lift"]["method"],
                   evidence=r["lift"]["evidence"], cost=r["cost"]["total"],
                   incremental_purchases=e["incremental_purchases"]["value"],
                   incremental_purchases_low=e["incremental_purchases"]["low"],
                   incremental_purchases_high=e["incremental_purchases"]["high"],
                   cost_per_incremental_purchase=cpi["value"], cost_per_incremental_purchase_low=cpi["low"],
                   cost_per_incremental_purchase_high=cpi["high"], roi=e["roi"]["value"])
        if previous is not None and previous.get("cost_per_incremental_purchase") and cpi["value"]:
            row["change_from_previous"] = cpi["value"] / previous["cost_per_incremental_purchase"] - 1
        rows.append(row)
        previous = row
    return rows
