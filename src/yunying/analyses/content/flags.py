"""Flags with their evidence (docs/content.md#flags).

Within each baseline group (the account by default), with shrunk rates and ``level`` credible intervals:

* ``wrong_audience``: reads in the group's top ``top_share`` (by readers) and the follow or conversion rate
  credibly below the baseline — the interval's upper end under ``(1 − margin) ×`` the group's prior mean;
* ``under_distributed``: reads at or below the group's median and the follow or share rate credibly above the
  baseline — the interval's lower end over ``(1 + margin) ×`` the prior mean: push it again;
* ``shares_without_follows``: share rate credibly above and follow rate credibly below the baseline.

``margin`` keeps ordinary piece-to-piece variation (which, with 30,000 reads, is always "credible") from being
flagged: a flag needs a large difference that is also sure.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

if TYPE_CHECKING:  # pandas is loaded where a frame is built (start-up: issue 13)
    import pandas as pd

from ..base import Result, Spec, clean
from .data import MAX_WINDOW_HOURS, piece_table, preload
from .funnel import FIT_MODULES, SCIPY_MODULES, group_positions, shrink, shrink_columns

FLAGS = ("wrong_audience", "under_distributed", "shares_without_follows")
RATE_NAMES = ("follow_rate", "share_rate", "conversion_rate")


class FlagsSpec(Spec):
    kind = "content_flags"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    baseline: Literal["account", "topic", "platform", "author", "all"] = "account"
    level: float = Field(0.9, gt=0.5, lt=1)
    method: Literal["mle", "mom"] = "mle"
    window_hours: float = Field(24.0, ge=0, le=MAX_WINDOW_HOURS)
    top_share: float = Field(0.2, gt=0, le=1)
    margin: float = Field(0.5, ge=0, lt=1)
    min_readers: int = Field(20, ge=1)
    view_event: str = "view_content"
    share_event: str = "share"
    follow_event: str = "follow"


def _evidence(r, rate: str) -> dict:
    return {"metric": rate, "rate": r[rate], "shrunk_rate": r[rate + "_shrunk"],
            "interval": [r[rate + "_lo"], r[rate + "_hi"]], "baseline": r[rate + "_baseline"]}


def find_flags(df: pd.DataFrame, spec: FlagsSpec) -> list[dict]:
    """The flags of a shrunk piece frame (``funnel.shrink``)."""
    return find_flags_columns({c: df[c].to_numpy() for c in df.columns}, spec)


def find_flags_columns(t: dict, spec: FlagsSpec) -> list[dict]:
    """The flags of a shrunk column table (``funnel.shrink_columns``; ``find_flags`` on a frame's columns)."""
    rows = []
    lo_f, hi_f = 1 - spec.margin, 1 + spec.margin
    readers = np.asarray(t["readers"])
    names = [c for c in t if c.endswith(("_rate", "_shrunk", "_lo", "_hi", "_baseline"))]
    for g, idx in group_positions(t["baseline_group"]).items():
        idx = idx[readers[idx] >= spec.min_readers]
        if not len(idx):
            continue
        reads = readers[idx].astype(float)
        cut = np.quantile(reads, 1 - spec.top_share)
        median = np.median(reads)
        for i in idx:
            r = {c: t[c][i] for c in names}
            n = readers[i]
            base = {"content_id": t["content_id"][i], "baseline_group": g, "reads": int(n),
                    "reads_percentile": float((reads <= n).mean()),
                    "title": t["title"][i] if "title" in t else None,
                    "account": t["account"][i] if "account" in t else None,
                    "rates": {m: r[m] for m in RATE_NAMES}, "shrunk_rates": {m: r[m + "_shrunk"] for m in RATE_NAMES},
                    "baselines": {m: r[m + "_baseline"] for m in RATE_NAMES}}
            below = [m for m in ("follow_rate", "conversion_rate")
                     if r[m + "_hi"] < lo_f * r[m + "_baseline"] and r[m + "_baseline"] > 0]
            above = [m for m in ("follow_rate", "share_rate") if r[m + "_lo"] > hi_f * r[m + "_baseline"]]
            if n >= cut and below:
                rows.append({**base, "flag": "wrong_audience", **_evidence(r, below[0]),
                             "evidence": [_evidence(r, m) for m in below]})
            if n <= median and above:
                rows.append({**base, "flag": "under_distributed", **_evidence(r, above[0]),
                             "evidence": [_evidence(r, m) for m in above]})
            if "share_rate" in above and r["follow_rate_hi"] < lo_f * r["follow_rate_baseline"]:
                rows.append({**base, "flag": "shares_without_follows", **_evidence(r, "share_rate"),
                             "evidence": [_evidence(r, "share_rate"), _evidence(r, "follow_rate")]})
    order = {f: i for i, f in enumerate(FLAGS)}
    return sorted(rows, key=lambda x: (order[x["flag"]], -x["reads"], x["content_id"]))


class FlagsResult(Result):
    kind = "content_flags"
    rows_key = "flags"

    def __init__(self, spec, flags: list[dict], meta: dict):
        from ..table import Columns

        rows = [{k: v for k, v in f.items() if not isinstance(v, (dict, list)) or k == "interval"} for f in flags]
        names = list(dict.fromkeys(k for r in rows for k in r))
        super().__init__(spec, Columns.from_rows(rows, names), meta)
        self.flags = flags

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "spec": self.spec.model_dump(mode="json"), **clean(self.meta)}
        out["flags"] = clean(self.flags)
        return out

    def to_csv(self) -> str:
        self.frame  # written by pandas, as before the table was built without it
        return super().to_csv()


def flags(engine, spec: FlagsSpec | None = None, **kwargs) -> FlagsResult:
    """The flags; on the DuckDB engine over its whole events table without pandas (``pieces.piece_columns``)."""
    from ..sql import plain_duckdb

    spec = spec or FlagsSpec.build(**kwargs)
    if plain_duckdb(engine):
        from .pieces import piece_columns

        preload(*SCIPY_MODULES)
        t = piece_columns(engine, spec)
        priors = shrink_columns(t, spec)
        return _result(find_flags_columns(t, spec), len(t["content_id"]), spec, priors)
    preload(*FIT_MODULES)
    return flags_from(piece_table(engine, spec), spec)


def _result(found: list[dict], pieces: int, spec: FlagsSpec, priors: dict) -> FlagsResult:
    meta = {"pieces": int(pieces), "baseline": spec.baseline, "level": spec.level, "margin": spec.margin,
            "top_share": spec.top_share, "counts": {f: sum(1 for x in found if x["flag"] == f) for f in FLAGS},
            "priors": priors}
    return FlagsResult(spec, found, meta)


def flags_from(base: pd.DataFrame, spec: FlagsSpec) -> FlagsResult:
    """The flags from a ``piece_table``."""
    df, priors = shrink(base, spec)
    return _result(find_flags(df, spec), len(df), spec, priors)
