"""Registrations and revenue per key under several attribution models side by side."""
from __future__ import annotations

import pandas as pd

from .rows import AttributionResult
from .data import AcqData, credits, load_filtered, user_facts
from .specs import BY_COLUMNS, AttributionSpec

# ------------------------------------------------------------------------------------------ compare models

def attribution(engine, spec: AttributionSpec | None = None, **kwargs) -> AttributionResult:
    """Registrations and revenue per key under each attribution model (same users, same revenue). Filters keep
    the events they hold for: signups, touches and purchases alike (docs/users.md#where-each-filter-applies)."""
    spec = spec or AttributionSpec.build(**kwargs)
    data = load_filtered(engine, spec, nonconverting="markov" in spec.models, with_spend=False)
    return attribution_from(data, spec)


def attribution_from(data: AcqData, spec: AttributionSpec) -> AttributionResult:
    keycols = BY_COLUMNS[spec.by]
    facts = user_facts(data)[["user_id", "revenue"]]
    out = None
    for model in spec.models:
        ms = spec.model_copy(update={"attribution": model})
        c = credits(data, ms, spec.by).merge(facts, on="user_id", how="left")
        c["w_rev"] = c["credit"] * c["revenue"]
        g = c.groupby(keycols, as_index=False).agg(**{f"registrations_{model}": ("credit", "sum"),
                                                      f"revenue_{model}": ("w_rev", "sum")})
        out = g if out is None else out.merge(g, on=keycols, how="outer")
    if out is None:
        out = pd.DataFrame(columns=keycols)
    out = out.fillna(0.0)
    first = f"registrations_{spec.models[0]}" if spec.models else None
    if first and len(out):
        out = out.sort_values(first, ascending=False, kind="stable").reset_index(drop=True)
    meta = {"title": f"Attribution models compared by {spec.by}", "key": spec.by,
            "models": list(spec.models), "lookback_days": spec.lookback_days,
            "half_life_days": spec.half_life_days, "position_shares": list(spec.position_shares),
            "registrations": int(len(data.signups)), "revenue": float(facts["revenue"].sum()),
            "currency": data.currency, "filters": spec.filters}
    return AttributionResult(spec, out, meta)
