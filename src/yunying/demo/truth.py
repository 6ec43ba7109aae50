"""The truth of the demo: the parameters the data were drawn from and their analytic expectations
(written to truth.json)."""
from __future__ import annotations

import datetime as _dt

import numpy as np

from .parameters import (ACTIVATION_RATE, CAMPAIGN, CAMPAIGN_COST_PER_USER, CAMPAIGN_LIFT, CAMPAIGN_TARGET_UPLIFT,
                         CAMPAIGN_VIEW_SHARE, CHANNELS, CHURN_DAILY, DAILY_PURCHASE_PROB, EXPERIMENT, PAID,
                         PURCHASE_MULTIPLIER, REVENUE_MEAN, WINDOW_DAYS)
from .plan import _Plan


def _truth(plan: _Plan, acc: dict, users: int, days: int, seed: int, start: _dt.date, S: int, world,
           content_ids, share_rate, follow_rate, pop) -> dict:
    iso = lambda d: (start + _dt.timedelta(days=int(d))).isoformat()  # noqa: E731
    channels = {}
    for ci, ch in enumerate(CHANNELS):
        idx = np.flatnonzero(plan.src_channel == ci)
        cents = int(sum(int(plan.sources[i].cost_cents.sum()) for i in idx))
        exp_regs = float(plan.expected[:, idx].sum())
        paid = ch in PAID
        a, h = plan.response.get(ch, (None, None))
        channels[ch] = {
            "paid": paid,
            "response": {"model": "log", "a": a, "h": h} if paid else None,
            "true_cost_per_registration": (cents / 100.0) / exp_regs if paid and exp_regs > 0 else None,
            "spend_total": cents / 100.0,
            "registrations": int(plan.regs[:, idx].sum()),
            "expected_registrations": exp_regs,
            "activation_rate": ACTIVATION_RATE[ch],
            "daily_purchase_prob": DAILY_PURCHASE_PROB[ch],
            "churn_daily": CHURN_DAILY[ch],
        }
    placements = {}
    for si, s in enumerate(plan.sources):
        if s.channel not in PAID:
            continue
        placements[s.id] = {
            "channel": s.channel, "campaign": s.campaign,
            "date": iso(s.date) if s.date is not None else None,
            "spend_total": int(s.cost_cents.sum()) / 100.0,
            "registrations": int(plan.regs[:, si].sum()),
            "expected_registrations": float(plan.expected[:, si].sum()),
        }
    n_c, n_t = acc["exp_n"]
    n_e = n_c + n_t
    rc = acc["exp_pc"] / n_e if n_e else 0.0
    rt = acc["exp_pt"] / n_e if n_e else 0.0
    base = acc["camp_base"]
    target_purchases = int(round(base * (1 + CAMPAIGN_TARGET_UPLIFT)))
    return {
        "seed": seed, "users": users, "days": days, "start_date": start.isoformat(), "end_date": iso(days - 1),
        "timezone": "UTC",
        "events": {"signup": "signup", "activation": "activate", "purchase": "purchase", "exposure": "$exposure"},
        "channels": channels,
        "placements": placements,
        "experiment": {
            "name": EXPERIMENT, "exposure_event": "$exposure", "variants": ["control", "treatment"],
            "control": "control", "split": [0.5, 0.5], "start_date": iso(world.exp_start),
            "window_days": WINDOW_DAYS, "purchase_multiplier": PURCHASE_MULTIPLIER,
            "exposed_users": {"control": n_c, "treatment": n_t},
            "true_rate_control": rc, "true_rate_treatment": rt,
            "true_effect_abs": rt - rc, "true_effect_rel": (rt / rc - 1.0) if rc > 0 else None,
        },
        "campaign": {
            "name": CAMPAIGN, "start_date": iso(world.camp_start), "end_date": iso(world.camp_end),
            "cost": round(CAMPAIGN_COST_PER_USER * users, 2), "purchase_lift": CAMPAIGN_LIFT,
            "target_purchases": target_purchases,
            "target_revenue": round(target_purchases * REVENUE_MEAN, 2),
            "expected_incremental_purchases": acc["camp_inc"],
            "expected_incremental_revenue": acc["camp_inc"] * REVENUE_MEAN,
            "expected_baseline_purchases": base,
            "view_event": "campaign_view", "viewer_share": CAMPAIGN_VIEW_SHARE,
        },
        "content": {cid: {"share_rate": float(share_rate[i]), "follow_rate": float(follow_rate[i]),
                          "popularity": float(pop[i])} for i, cid in enumerate(content_ids)},
        "totals": {"events": int(acc["events"]), "signups": S, "purchases": int(acc["purchases"]),
                   "revenue": acc["revenue_cents"] / 100.0, "users_with_events": S},
    }
