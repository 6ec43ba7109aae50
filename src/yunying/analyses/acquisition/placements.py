"""The placement funnel: exposure → read → click → registration → purchase (docs/acquisition.md#placements)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...stats.acquisition import binomial_shortfall_p, verdict
from ..base import ratio
from .channels import AcquisitionResult, _num, channels_from
from .data import AcqData, hide_costs_per_user, load_filtered
from .models import MODEL_LABELS
from .specs import ChannelsSpec, PlacementsSpec

# ------------------------------------------------------------------------------------------ placements

STAGES = [
    # stage name, rate column, numerator, denominator, what a leak there means
    ("exposure→read", "read_rate", "reads", "impressions",
     "few reads for its exposure: the title / cover does not draw readers"),
    ("read→click", "click_rate", "clicks", "reads",
     "many reads but few clicks: the copy does not lead to the landing page"),
    ("click→registration", "registration_rate", "registrations", "clicks",
     "many clicks but few registrations: the landing page fails"),
    ("registration→purchase", "purchase_rate", "paying_users", "registrations",
     "registrations do not turn into paying users: wrong audience or a weak offer"),
]


class PlacementsResult(AcquisitionResult):
    kind = "placements"

    def chart(self):
        import plotly.graph_objects as go

        df = self.frame
        if df.empty:
            return go.Figure()
        label = df["channel"].astype(str) + " / " + df["placement"].astype(str)
        fig = go.Figure()
        for col, name in (("cost_per_paying_user", "cost per paying user"),):
            err_hi = [(h - v) if h is not None and v is not None and not pd.isna(h) else None
                      for v, h in zip(df[col], df["cac_high"])]
            err_lo = [(v - lo) if lo is not None and v is not None and not pd.isna(v) else None
                      for v, lo in zip(df[col], df["cac_low"])]
            fig.add_bar(x=label, y=df[col], name=name,
                        error_y=dict(type="data", array=err_hi, arrayminus=err_lo, visible=True))
        fig.update_layout(title=self.meta.get("title", "Placements"),
                          yaxis_title=f"cost per paying user ({self.meta.get('currency', '')}, log scale)",
                          yaxis_type="log")
        return fig

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
    rows = []
    camp = {}
    if len(data.spend):
        g = data.spend.groupby(["channel", "placement"])["campaign"].agg(lambda s: ", ".join(sorted(set(s))))
        camp = g.to_dict()
        days = data.spend[data.spend["cost"] > 0].groupby(["channel", "placement"])["date"].agg(["min", "max", "nunique"])
    for _, r in df.iterrows():
        spend = r["spend"]
        imp, reads, clicks = _num(r["impressions"]), _num(r["reads"]), _num(r["clicks"])
        regs, payers = float(r["registrations"]), float(r["paying_users"])
        click_den = reads if reads else imp
        key = (r["channel"], r["placement"])
        row = {
            "channel": r["channel"], "placement": r["placement"], "campaign": camp.get(key),
            "first_day": days.loc[key, "min"] if len(data.spend) and key in days.index else None,
            "last_day": days.loc[key, "max"] if len(data.spend) and key in days.index else None,
            "spend_days": int(days.loc[key, "nunique"]) if len(data.spend) and key in days.index else 0,
            "spend": spend, "impressions": imp, "reads": reads, "clicks": clicks,
            "registrations": r["registrations"], "paying_users": r["paying_users"],
            "read_rate": ratio(reads, imp) if reads is not None else None,
            "click_rate": ratio(clicks, click_den) if clicks is not None else None,
            "registration_rate": ratio(regs, clicks) if clicks else None,
            "purchase_rate": ratio(payers, regs),
            "cpm": ratio(spend * 1000.0, imp) if imp else None,
            "cost_per_read": ratio(spend, reads) if reads else None,
            "cpc": ratio(spend, clicks) if clicks else None,
            "cost_per_registration": r["cost_per_registration"],
            "cost_per_paying_user": r["cost_per_paying_user"],
            "cac_low": r["cac_low"], "cac_high": r["cac_high"],
            "revenue": r["revenue"], "roas": r["roas"],
            "_click_den": click_den,
        }
        rows.append(row)
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
    meta = {**table.meta,
            "title": f"Placement funnel ({MODEL_LABELS[spec.attribution]} attribution)",
            "key": "placement", "benchmark_cac": bench,
            "leak_threshold": spec.leak_threshold, "min_denominator": spec.min_denominator,
            "stages": [s[0] for s in STAGES], "unpaid": unpaid,
            "notes": [
                "stages: impressions → reads → clicks (spend table) → registrations → paying users (attributed)",
                "click_rate = clicks / reads (clicks / impressions where reads are not reported)",
                f"leak: the stage whose conversion is lowest relative to the channel's median, flagged when below "
                f"{spec.leak_threshold:.0%} of it and significantly so (one-sided binomial p < 0.05)",
                "rank: by cost per paying user (no payers last); verdict vs benchmark_cac (all placements): "
                "'too early to tell' when the interval includes it and is wider than x2",
            ]}
    meta.pop("totals", None)
    return PlacementsResult(spec, out, meta)
