"""The acquisition tables' rows and results without pandas: the revenue curve's observed days, the pooled LTV
shape, one channel row's figures, and the result classes (both the pandas path and the DuckDB path build them)."""
from __future__ import annotations

import math

import numpy as np

from ...stats.acquisition import cac_interval
from ..base import Result, ratio
from .weights import MODEL_LABELS

# ------------------------------------------------------------------------------------------ curves

OBSERVED_SHARE = 0.2


def observed_mask(den: np.ndarray, registrations: float, share: float = OBSERVED_SHARE) -> np.ndarray:
    """Days d where at least ``share`` of the row's (credited) registrations are observed d days.

    ``den`` comes from running sums of fractional credits, so a row with exactly 20 % observed
    can be off by a few ulps (0.4 + 0.2 + 0.4 − 0.4 − 0.4 = 0.19999999999999996): compare with a
    tolerance relative to the row's registrations.
    """
    need = max(share * registrations, 1e-9)
    return den >= need - 1e-9 * max(registrations, 1e-9)


def _power_exponent(num: np.ndarray, den: np.ndarray, min_share: float) -> float | None:
    """Exponent b of a power law ARPU(d) ~ d^b fitted to a pooled curve (d >= 7)."""
    tot = den[1] if len(den) > 1 else 0
    if tot <= 0:
        return None
    d = np.arange(len(den))
    ok = (d >= 7) & observed_mask(den, tot, min_share) & (num > 0)
    if ok.sum() < 5:
        return None
    x = np.log(d[ok])
    y = np.log(num[ok] / den[ok])
    w = den[ok]
    xm = np.average(x, weights=w)
    ym = np.average(y, weights=w)
    b = np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2)
    return float(np.clip(b, 0.0, 1.0))


# ------------------------------------------------------------------------------------------ rows

INT_COLUMNS = ("payback_days", "observed_days", "rank", "spend_days", "fit_days")


def _int_records(recs: list[dict]) -> list[dict]:
    for r in recs:
        for k in INT_COLUMNS:
            if isinstance(r.get(k), float):
                r[k] = int(r[k])
    return recs


class AcquisitionResult(Result):
    kind = "channels"
    rows_key = "rows"

    def records(self):
        return _int_records(super().records())

    def chart(self):
        import plotly.graph_objects as go

        df = self.frame
        key = self.meta.get("key", "channel")
        label = df[key].astype(str) if key in df else df.index.astype(str)
        if "campaign" in df and key == "campaign":
            label = df["channel"].astype(str) + " / " + df["campaign"].astype(str)
        if "placement" in df and key == "placement":
            label = df["channel"].astype(str) + " / " + df["placement"].astype(str)
        cur = self.meta.get("currency", "")
        fig = go.Figure([
            go.Bar(name=f"cost per registration ({cur})", x=label, y=df["cost_per_registration"]),
            go.Bar(name=f"cost per paying user ({cur})", x=label, y=df["cost_per_paying_user"]),
        ])
        fig.update_layout(barmode="group", title=self.meta.get("title", "Acquisition"))
        return fig


def _num(x):
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else x


def _payback_ltv(num: np.ndarray, den: np.ndarray, regs: float, spend: float, cpr, ltv_days: int, pooled_b):
    """(payback days, observed days, LTV per registration) of one row (docs/acquisition.md#channels)."""
    payback = ltv = horizon = None
    ok = observed_mask(den, regs)
    ok[0] = False
    arpu = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    if cpr is not None and spend > 0:
        hit = np.flatnonzero(ok & (arpu >= cpr - 1e-9))
        payback = int(hit[0]) if len(hit) else None
    obs = np.flatnonzero(ok)
    if len(obs):
        horizon = int(obs[-1])
        level = arpu[min(horizon, ltv_days)]
        if ltv_days > horizon:
            ltv = level * (ltv_days / horizon) ** pooled_b if pooled_b is not None else None
        else:
            ltv = level
    return payback, horizon, ltv


def _channel_row(r, gcols: list, spec, num, den, pooled_b) -> dict:
    spend = float(r["spend"])
    regs = float(r["registrations"])
    payers = float(r["paying_users"])
    rev = float(r["revenue"])
    # no spend recorded: no cost per user at all (None, shown "—"), not a cost of 0
    cpr = ratio(spend, regs) if spend > 0 else None
    low, high = cac_interval(spend, payers, spec.confidence)
    payback = ltv = horizon = None
    if num is not None:
        payback, horizon, ltv = _payback_ltv(num, den, regs, spend, cpr, spec.ltv_days, pooled_b)
    return {
        **{c: r[c] for c in gcols},
        "paid": bool(r["paid"]),
        "spend": spend,
        "impressions": _num(r["impressions"]),
        "reads": _num(r["reads"]),
        "clicks": _num(r["clicks"]),
        "ctr": ratio(_num(r["clicks"]), _num(r["impressions"])),
        "cpc": ratio(spend, _num(r["clicks"])) if _num(r["clicks"]) is not None else None,
        "registrations": r["registrations"],
        "cost_per_registration": cpr,
        "activated": r["activated"],
        "activation_rate": ratio(float(r["activated"]), regs),
        "paying_users": r["paying_users"],
        "paying_rate": ratio(payers, regs),
        "cost_per_paying_user": ratio(spend, payers) if spend > 0 else None,
        "cac_low": low,
        "cac_high": high,
        "first_purchase_revenue": float(r["first_purchase_revenue"]),
        "revenue": rev,
        "revenue_per_registration": ratio(rev, regs),
        "roas": ratio(rev, spend),
        "payback_days": payback,
        "observed_days": horizon,
        "ltv_per_registration": ltv,
        "ltv_per_paying_user": ratio(ltv * regs, payers) if ltv is not None else None,
        "ltv_cac": ratio(ltv, cpr) if ltv is not None and cpr else None,
    }




class PlacementsResult(AcquisitionResult):
    kind = "placements"

    def chart(self):
        import pandas as pd
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


class BudgetResult(Result):
    kind = "budget"
    rows_key = "rows"

    def records(self):
        return _int_records(super().records())

    def chart(self):
        import plotly.graph_objects as go

        from plotly.subplots import make_subplots

        curves = self.meta.get("curves", {})
        fig = make_subplots(rows=1, cols=max(1, len(curves)), subplot_titles=list(curves) or [""])
        for i, (ch, c) in enumerate(curves.items(), start=1):
            pts = c.get("points", [])
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                     name=f"{ch}: observed days", marker=dict(size=5, opacity=0.6)), row=1, col=i)
            fig.add_trace(go.Scatter(x=c["grid"], y=c["fitted"], mode="lines", name=f"{ch}: fitted"), row=1, col=i)
            if c.get("current_day_spend") is not None:
                fig.add_vline(x=c["current_day_spend"], line_dash="dot", row=1, col=i)
            if c.get("proposed_day_spend") is not None:
                fig.add_vline(x=c["proposed_day_spend"], line_dash="dash", line_color="green", row=1, col=i)
        fig.update_layout(title="Response curves (model estimate): registrations per day vs daily spend — "
                                "dots: observed days; dotted: typical day now; dashed green: proposed",
                          showlegend=False)
        return fig


class AttributionResult(Result):
    kind = "attribution"
    rows_key = "rows"

    def chart(self):
        import plotly.express as px

        df = self.frame
        key = self.meta.get("key", "channel")
        cols = [c for c in df.columns if c.startswith("registrations_")]
        long = df.melt(id_vars=[key], value_vars=cols, var_name="model", value_name="registrations")
        long["model"] = long["model"].str.replace("registrations_", "", regex=False)
        return px.bar(long, x=key, y="registrations", color="model", barmode="group",
                      title="Registrations credited by each attribution model")


# ------------------------------------------------------------------------------------------ channels table

def channels_meta(data, spec, as_of, timezone: str, bench, pooled_b, totals: dict) -> dict:
    """The channels table's meta (``data``: its currency and warnings; ``as_of``: the UTC date of the last event)."""
    return {
        "title": f"Acquisition by {spec.by} ({MODEL_LABELS[spec.attribution]} attribution)",
        "key": spec.by,
        "currency": data.currency,
        "attribution": spec.attribution,
        "attribution_label": MODEL_LABELS[spec.attribution],
        "lookback_days": spec.lookback_days,
        "period": {"from": spec.date_from, "to": spec.date_to, "interval": spec.interval, "revenue_to": as_of},
        "timezone": timezone,
        "benchmark_cac": bench,
        "confidence": spec.confidence,
        "ltv_days": spec.ltv_days,
        "ltv_shape_exponent": pooled_b,
        "totals": totals,
        "warnings": data.warnings,
        "notes": [
            "registrations: users whose signup (in the period) is credited to the row; revenue: all their "
            "purchases to the end of the data",
            "n/a (null) where a ratio divides by zero",
            "cac_low/cac_high: interval for cost per paying user (spend fixed, payers ~ Poisson)",
            "verdict vs benchmark_cac (all paid rows): better/worse when the interval excludes it; "
            "'too early to tell' when it includes it and the interval is wider than x2",
        ],
    }


def channel_totals(rows: list[dict]) -> dict:
    """The totals line of the channels table's rows (records)."""
    if not rows:
        return {}

    def total(col, rs=rows):
        return float(sum(r[col] for r in rs))

    spend, regs, payers, rev = total("spend"), total("registrations"), total("paying_users"), total("revenue")
    paid = [r for r in rows if r["spend"] > 0]
    p_regs, p_pay = total("registrations", paid), total("paying_users", paid)
    return {
        "spend": spend, "registrations": regs, "paying_users": payers, "revenue": rev,
        "first_purchase_revenue": total("first_purchase_revenue"),
        "cost_per_registration": ratio(spend, regs), "cost_per_paying_user": ratio(spend, payers),
        "roas": ratio(rev, spend),
        "paid_registrations": p_regs, "paid_cost_per_registration": ratio(spend, p_regs),
        "paid_cost_per_paying_user": ratio(spend, p_pay),
        "paid_roas": ratio(total("revenue", paid), spend),
    }


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

def placement_row(r, campaign, days) -> dict:
    """One placement's funnel row from its channels-table row ``r`` (by placement), its campaigns (text) and its
    spend days (first, last, count; None: no day with cost)."""
    spend = r["spend"]
    imp, reads, clicks = _num(r["impressions"]), _num(r["reads"]), _num(r["clicks"])
    regs, payers = float(r["registrations"]), float(r["paying_users"])
    click_den = reads if reads else imp
    return {
        "channel": r["channel"], "placement": r["placement"], "campaign": campaign,
        "first_day": days[0] if days else None, "last_day": days[1] if days else None,
        "spend_days": days[2] if days else 0,
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


def placements_meta(table_meta: dict, spec, bench, unpaid: list) -> dict:
    """The placements result's meta: the channels table's (by placement) without its totals, and its own."""
    meta = {**table_meta,
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
    return meta
