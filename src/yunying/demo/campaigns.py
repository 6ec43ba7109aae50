"""The demo's campaigns (docs/campaigns.md#demo): ``summer_sale`` with a randomized, seeded holdout (held-out users
never see it) and coupons carried on purchase events, and ``autumn_push`` — a push to iOS users without a holdout
(reviewed by difference-in-differences against the other users). Their definitions are written into the demo
workspace's ``campaigns/`` folder; their truth goes to truth.json."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from ..storage import campaigns as store
from .parameters import CAMPAIGN, P_MAX, PLATFORMS, REVENUE_MEAN, EXTRA_PURCHASES_MEAN
from .words import word

HOLDOUT_SHARE = 0.2
HOLDOUT_SEED = 2026
COUPON_VALUES = (5, 10, 20)            # CNY; by order value: < 40, < 100, >= 100
COUPON_EDGES = (40.0, 100.0)
SUMMER_FEES = 800.0                    # CNY: creative design and landing page
MARGIN = 0.4                           # gross margin share of (pre-coupon) revenue
SECOND = "autumn_push"
SECOND_LIFT = 0.25                     # purchase probability x 1.25 on its days for its audience
SECOND_PLATFORM = "ios"
SECOND_FEE_PER_CONTACT = 0.05          # CNY per push to an audience user
SECOND_GAP = 8                         # days from the end of summer_sale to the start of autumn_push
SECOND_DAYS = 7


def held_out(user_ids) -> np.ndarray:
    """Whether each user id is in summer_sale's holdout (the workspace's own seeded draw, so the review's recorded
    assignment is the one the data were generated with)."""
    ids = user_ids.to_pylist() if hasattr(user_ids, "to_pylist") else list(user_ids)
    return store.holdout_draws(CAMPAIGN, HOLDOUT_SEED, ids) < HOLDOUT_SHARE


def coupon_tier(revenue: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(COUPON_EDGES), revenue, side="right")


def second_window(days: int, camp_end: int) -> tuple[int, int] | None:
    start = camp_end + SECOND_GAP
    end = min(start + SECOND_DAYS - 1, days - 1)
    return (start, end) if end - start >= 2 else None


def second_factor(world, plat: np.ndarray, uu: np.ndarray, pd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(purchase-probability factor, in-window mask) of autumn_push for each active (user, day)."""
    win = second_window(world.days, world.camp_end)
    if win is None:
        return np.ones(uu.size), np.zeros(uu.size, dtype=bool)
    in_win = (pd >= win[0]) & (pd <= win[1])
    aud = plat[uu] == PLATFORMS.index(SECOND_PLATFORM)
    return np.where(in_win & aud, 1.0 + SECOND_LIFT, 1.0), in_win & aud


def second_truth_sums(acc: dict, p: np.ndarray, factor: np.ndarray, mask: np.ndarray) -> None:
    """Expected incremental purchases of autumn_push: Σ (p − p without it) × E[purchases per purchasing day]."""
    without = np.minimum(np.divide(p, factor), P_MAX)
    acc["c2_inc"] = acc.get("c2_inc", 0.0) + float((p[mask] - without[mask]).sum()) * (1.0 + EXTRA_PURCHASES_MEAN)


def extend_truth(truth: dict, acc: dict, world, users: int) -> None:
    """summer_sale's holdout, coupons and full cost; autumn_push's truth (truth.json)."""
    camp = truth["campaign"]
    coupons = acc.get("coupon_cents", 0) / 100.0
    camp.update({
        "holdout": {"share": HOLDOUT_SHARE, "seed": HOLDOUT_SEED, "assignment": "blake2b(campaign:seed:user_id)"},
        "coupon_property": "coupon", "coupons_redeemed": round(coupons, 2), "fees": SUMMER_FEES,
        "cost": round(coupons + SUMMER_FEES, 2), "margin": MARGIN,
    })
    iso = lambda d: (_dt.date.fromisoformat(truth["start_date"]) + _dt.timedelta(days=int(d))).isoformat()  # noqa
    win = second_window(world.days, world.camp_end)
    if win is not None:
        inc = acc.get("c2_inc", 0.0)
        truth["second_campaign"] = {
            "name": SECOND, "start_date": iso(win[0]), "end_date": iso(win[1]), "purchase_lift": SECOND_LIFT,
            "audience": {"event": "signup", "property": "platform", "value": SECOND_PLATFORM},
            "expected_incremental_purchases": inc, "expected_incremental_revenue": inc * REVENUE_MEAN,
            "fee_per_contact": SECOND_FEE_PER_CONTACT,
        }


def _task(name: str, owner: str, start, end, after=(), *, lang: str) -> dict:
    """One task of a plan, its name, owner and dependencies in ``lang``."""
    task = {"name": word(f"task.{name}", lang), "owner": word(f"owner.{owner}", lang), "start": start, "end": end}
    if after:
        task["depends_on"] = [word(f"task.{a}", lang) for a in after]
    return task


def definitions(truth: dict, lang: str = "en") -> list[store.Campaign]:
    """The demo campaigns' definitions, as an operator would have written them before they ran: descriptions, budget
    lines, task names and owners in ``lang`` (demo/words.py); campaign names, metrics and events are identifiers."""
    camp = truth["campaign"]
    start, end = _dt.date.fromisoformat(camp["start_date"]), _dt.date.fromisoformat(camp["end_date"])
    d = lambda k: start + _dt.timedelta(days=k)  # noqa: E731
    planned_coupons = round(camp["target_purchases"] * 0.6 * 10.0, -2)
    review_at = (end - start).days + 15
    out = [store.parse({
        "name": CAMPAIGN, "start": start, "end": end, "margin": MARGIN,
        "description": word("summer.description", lang),
        "goals": [{"metric": "purchases", "target": camp["target_purchases"]},
                  {"metric": "revenue", "target": camp["target_revenue"]}],
        "audience": {"all_users": True},
        "holdout": {"share": HOLDOUT_SHARE, "seed": HOLDOUT_SEED},
        "budget": [{"kind": "coupons", "amount": planned_coupons, "event": "purchase", "property": "coupon",
                    "label": word("summer.coupons", lang)},
                   {"kind": "fees", "amount": SUMMER_FEES, "label": word("summer.fees", lang)}],
        "tasks": [
            _task("brief", "wang", d(-21), d(-18), lang=lang),
            _task("coupon_rules", "li", d(-17), d(-12), ["brief"], lang=lang),
            _task("creative_design", "chen", d(-17), d(-8), ["brief"], lang=lang),
            _task("holdout_list", "zhao", d(-7), d(-5), ["coupon_rules"], lang=lang),
            _task("launch", "wang", start, end, ["creative_design", "holdout_list"], lang=lang),
            _task("review", "zhao", d(review_at), d(review_at + 3), ["launch"], lang=lang),
        ],
    }, "demo")]
    second = truth.get("second_campaign")
    if second:
        s2, e2 = _dt.date.fromisoformat(second["start_date"]), _dt.date.fromisoformat(second["end_date"])
        ios = truth["totals"]["signups"] * 0.46
        out.append(store.parse({
            "name": SECOND, "start": s2, "end": e2, "margin": MARGIN,
            "description": word("autumn.description", lang),
            "goals": [{"metric": "purchases", "target": max(1.0, round(second["expected_incremental_purchases"] * 4))}],
            "audience": second["audience"],
            "budget": [{"kind": "fees", "amount": round(ios * SECOND_FEE_PER_CONTACT, 2),
                        "label": word("autumn.fees", lang)}],
            "tasks": [_task("copy", "li", s2 - _dt.timedelta(days=5), s2 - _dt.timedelta(days=2), lang=lang),
                      _task("send", "li", s2, e2, ["copy"], lang=lang)],
        }, "demo"))
    return out


def write_definitions(ws_dir: str | Path, truth: dict, lang: str = "en") -> list[Path]:
    return [store.save(ws_dir, c, replace=True) for c in definitions(truth, lang)]


def setup_workspace(ws, truth: dict, lang: str | None = None) -> dict:
    """Write the campaign definitions into the demo workspace — their texts in ``lang``, else the workspace's
    ``lang`` setting — and record summer_sale's holdout assignment (the one the data were generated with: the same
    seeded draw)."""
    from ..analyses.campaigns import assign_holdout

    write_definitions(ws.path, truth, lang or getattr(ws.config, "lang", None) or "en")
    return assign_holdout(ws, store.load(ws.path, CAMPAIGN))
