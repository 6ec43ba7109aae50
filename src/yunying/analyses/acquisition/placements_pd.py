"""The placement funnel: exposure → read → click → registration → purchase (docs/acquisition.md#placements)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...stats.acquisition import binomial_shortfall_p, verdict
from ..base import ratio
from .channels_pd import channels_from
from .rows import STAGES, PlacementsResult, placement_row, placements_meta
from .data import AcqData, hide_costs_per_user, load_filtered
from .specs import ChannelsSpec, PlacementsSpec

# ------------------------------------------------------------------------------------------ placements

def placements(engine, spec: PlacementsSpec | None = None, **kwargs) -> PlacementsResult:
    """The placement funnel with leak flags and CAC ranking (docs/acquisition.md#placements)."""
    spec = spec or PlacementsSpec.build(**kwargs)
    data = load_filtered(engine, spec)
    return hide_costs_per_user(placements_from(data, spec, engine.timezone))


def _leak_flags(out: pd.DataFrame, spec: PlacementsSpec) -> None:
    """Adds leak_stage / leak_vs_channel_median / leak_channel_median / leak_note (docs: "Leak rule")."""
    # leak flags against the channel median of each stage's conversion
    for stage, col, numc, denc, _ in STAGES:
        den_col = "_click_den" if col == "click_rate" else denc
        ok = out[den_col].fillna(0).astype(float) >= spec.min_denominator
        med = out[ok & out[col].notna()].groupby("channel")[col].median()
        cnt = out[ok & out[col].notna()].groupby("channel")[col].size()
        out[f"_{col}_median"] = out["channel"].map(med)
        out[f"_{col}_n"] = out["channel"].map(cnt).fillna(0)
    leaks, ratios, notes, medians = [], [], [], []
    for _, r in out.iterrows():
        worst = None
        for stage, col, numc, denc, msg in STAGES:
            den_col = "_click_den" if col == "click_rate" else denc
            rate, med = r[col], r[f"_{col}_median"]
            den = r[den_col]
            if rate is None or pd.isna(rate) or pd.isna(med) or not med or r[f"_{col}_n"] < 2:
                continue
            if den is None or pd.isna(den) or den < spec.min_denominator:
                continue
            rel = rate / med
            if rel >= spec.leak_threshold:
                continue
            num = r[numc] if numc in r else None
            if binomial_shortfall_p(float(num), float(den), float(med)) >= 0.05:
                continue  # not clearly below the median: could be chance
            if worst is None or rel < worst[1]:
                worst = (stage, rel, msg, med)
        leaks.append(worst[0] if worst else None)
        ratios.append(worst[1] if worst else None)
        notes.append(worst[2] if worst else None)
        medians.append(worst[3] if worst else None)
    out["leak_stage"] = leaks
    out["leak_vs_channel_median"] = ratios
    out["leak_channel_median"] = medians
    out["leak_note"] = notes


def placements_from(data: AcqData, spec: PlacementsSpec, timezone: str = "UTC") -> PlacementsResult:
    cs = ChannelsSpec.parse({**spec.model_dump(exclude={"channel", "leak_threshold", "min_denominator"}),
                             "by": "placement"})
    table = channels_from(data, cs, timezone)
    df = table.frame.copy()
    unpaid = []
    if len(df):
        unpaid = [{"channel": r["channel"], "placement": r["placement"], "registrations": r["registrations"]}
                  for _, r in df[~df["paid"]].iterrows()]
        df = df[df["paid"]].reset_index(drop=True)
    if spec.channel is not None and len(df):
        df = df[df["channel"] == spec.channel].reset_index(drop=True)
    camp, days = {}, {}
    if len(data.spend):
        camp = data.spend.groupby(["channel", "placement"])["campaign"].agg(lambda s: ", ".join(sorted(set(s)))).to_dict()
        g = data.spend[data.spend["cost"] > 0].groupby(["channel", "placement"])["date"].agg(["min", "max", "nunique"])
        days = {k: (v["min"], v["max"], int(v["nunique"])) for k, v in g.iterrows()}
    rows = [placement_row(r, camp.get((r["channel"], r["placement"])), days.get((r["channel"], r["placement"])))
            for _, r in df.iterrows()]
    out = pd.DataFrame(rows)
    if len(out):
        _leak_flags(out, spec)
        bench = ratio(float(out["spend"].sum()), float(out["paying_users"].sum()))
        out["verdict"] = [verdict(lo, hi, bench, s) for lo, hi, s in zip(out["cac_low"], out["cac_high"], out["spend"])]
        order = out["cost_per_paying_user"].astype(float).fillna(np.inf)
        out["rank"] = order.rank(method="min").astype("int64")
        out = out.assign(_o=order).sort_values(["_o", "spend"], ascending=[True, True], kind="stable")
        out = out.drop(columns=[c for c in out.columns if c.startswith("_")]).reset_index(drop=True)
    else:
        bench = None
        out = pd.DataFrame(columns=["channel", "placement", "spend", "impressions", "reads", "clicks", "registrations",
                                    "paying_users", "cost_per_paying_user", "leak_stage", "verdict", "rank"])
    return PlacementsResult(spec, out, placements_meta(table.meta, spec, bench, unpaid))
