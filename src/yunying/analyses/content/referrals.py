"""Sharing (分享裂變): the share tree, the K-factor per piece and per campaign (docs/content.md#referrals).

A referred signup is a signup whose ``inviter`` property (or ``referrer``, ``inviter_id``, ``referrer_id``,
``invited_by``) names the user who brought them. The tree: users without an inviter are generation 0; a referred
user's generation is their inviter's + 1.

* ``k_factor`` (overall) = referred signups whose inviter signed up in the range / signups in the range: new users
  each user brings;
* per piece (the signup's ``content_id``: the shared piece): ``new_users``, ``sharers`` and ``shares`` of the piece,
  ``new_users_per_share`` = new users / shares, ``k_factor`` = new users / readers of the piece;
* per campaign (the signup's ``utm_campaign``, else ``properties.campaign``): new users, inviters and new users per
  inviter.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from ...errors import SpecError
from ..base import Result, Spec

INVITER_NAMES = ("inviter", "referrer", "inviter_id", "referrer_id", "invited_by")


class ReferralSpec(Spec):
    kind = "referrals"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    inviter_property: str | None = None
    by: Literal["piece", "campaign"] = "piece"  # a choice: any other word is an error, not silently "piece"
    view_event: str = "view_content"
    share_event: str = "share"


def _signups(engine, spec) -> tuple[pd.DataFrame, str]:
    names = [spec.inviter_property] if spec.inviter_property else list(INVITER_NAMES)
    df = _signup_rows(engine, names).to_pandas()
    found = [n for i, n in enumerate(names) if df[f"_p{i}"].notnull().any()]
    if not found:
        raise SpecError(key="content.referrals.no_signup_carries_inviter", names=', '.join(names))
    i = names.index(found[0])
    df["inviter"] = df[f"_p{i}"]
    return df.drop(columns=[c for c in df.columns if c.startswith("_p")]), found[0]


def _signup_rows(engine, names: list[str]):
    """user_id, ts, content_id, utm_campaign, __day (local), __camp, _p0… (the properties ``names``) of every
    signup, as Arrow: plain SQL on the DuckDB engine over its whole events table, Ibis otherwise (filters, Spark);
    tests/content/test_content_sql_oracle.py checks both agree."""
    from ..sql import Query, plain_duckdb

    signup = engine.workspace.config.events.signup
    if plain_duckdb(engine):
        q = Query(engine)  # parameters are added in the order of their ``?`` in the text
        sql = (f"SELECT user_id, ts, content_id, utm_campaign, CAST({q.local()} AS DATE) AS __day, "
               f"{q.prop('campaign')} AS __camp")
        sql += "".join(f", {q.prop(n)} AS _p{i}" for i, n in enumerate(names))
        return q.arrow(sql + f" FROM events WHERE event = {q.value(signup)}")
    t = engine.events()
    t = t.filter(t.event == signup)
    cols = {f"_p{i}": engine.prop(t, n) for i, n in enumerate(names)}
    day = engine.local_ts(t.ts).date()
    return engine.execute(t.select("user_id", "ts", "content_id", "utm_campaign", __day=day,
                                   __camp=engine.prop(t, "campaign"), **cols))


def generations(user: np.ndarray, inviter: np.ndarray) -> np.ndarray:
    """Generation of each user in the share tree: 0 without an inviter; else the inviter's + 1 (an inviter who is
    not among the signups counts as generation 0; a cycle is cut where it closes)."""
    parent = {u: p for u, p in zip(user, inviter) if isinstance(p, str) and p != u}
    gen: dict = {}
    out = np.zeros(len(user), dtype=np.int64)
    for j, u in enumerate(user):
        chain, seen, x = [], set(), u
        while x not in gen and x in parent and x not in seen:
            seen.add(x)
            chain.append(x)
            x = parent[x]
        g = gen.get(x, 0)
        if x not in seen:
            gen.setdefault(x, g)
        for y in reversed(chain):
            g += 1
            gen[y] = g
        out[j] = gen[u]
    return out


class ReferralResult(Result):
    kind = "referrals"

    def chart(self):
        """New users brought by shares, per piece or campaign (the 30 that brought most)."""
        import plotly.graph_objects as go

        f = self.frame.head(30)
        x = f.columns[0]
        fig = go.Figure(go.Bar(x=[str(v) for v in f[x]], y=f["new_users"].tolist(), name="new_users"))
        return fig.update_layout(xaxis_title=x, yaxis_title="new_users", xaxis_type="category")


def referrals(engine, spec: ReferralSpec | None = None, **kwargs) -> ReferralResult:
    spec = spec or ReferralSpec.build(**kwargs)
    s, prop = _signups(engine, spec)
    s = s.sort_values("ts").drop_duplicates("user_id")
    s["generation"] = generations(s.user_id.to_numpy(object), s.inviter.to_numpy(object))
    in_range = pd.Series(True, index=s.index)
    if spec.date_from is not None:
        in_range &= s["__day"] >= spec.date_from
    if spec.date_to is not None:
        in_range &= s["__day"] <= spec.date_to
    cohort = set(s.user_id[in_range])
    referred = s[s.inviter.notnull()]
    brought = referred[referred.inviter.isin(cohort)]
    gens = s[in_range].groupby("generation").size()
    meta = {"inviter_property": prop, "signups": int(in_range.sum()), "referred_signups": int(len(brought)),
            "k_factor": len(brought) / len(cohort) if cohort else None,
            "inviters": int(brought.inviter.nunique()),
            "new_users_per_inviter": len(brought) / brought.inviter.nunique() if len(brought) else None,
            "generations": {int(g): int(n) for g, n in gens.items()}, "max_generation": int(s.generation.max())}
    new = referred[in_range[referred.index]]
    if spec.by == "campaign":
        camp = new["utm_campaign"].fillna(new["__camp"]).fillna("(none)")
        g = new.groupby(camp)
        frame = pd.DataFrame({"campaign": list(g.groups), "new_users": g.size().to_numpy(),
                              "inviters": g.inviter.nunique().to_numpy()})
        frame["new_users_per_inviter"] = frame.new_users / frame.inviters
    else:
        frame = _per_piece(engine, spec, new)
    return ReferralResult(spec, frame.sort_values(["new_users", frame.columns[0]], ascending=[False, True])
                          .reset_index(drop=True), meta)


def _piece_counts(engine, spec):
    """readers, sharers, shares per content_id in the range, as Arrow (plain SQL on DuckDB, else Ibis)."""
    from ..sql import plain_duckdb

    if plain_duckdb(engine):
        from .data_sql import referral_counts

        return referral_counts(engine, spec)
    from ..base import local_date_filter

    t = local_date_filter(engine, engine.events(), spec.date_from, spec.date_to)
    t = t.filter(t.event.isin([spec.view_event, spec.share_event]) & t.content_id.notnull())
    return engine.execute(t.group_by("content_id").aggregate(
        readers=t.user_id.nunique(where=t.event == spec.view_event),
        sharers=t.user_id.nunique(where=t.event == spec.share_event),
        shares=(t.event == spec.share_event).sum()))


def _per_piece(engine, spec, new: pd.DataFrame) -> pd.DataFrame:
    agg = _piece_counts(engine, spec).to_pandas()
    agg["shares"] = agg["shares"].astype("int64")  # Ibis on DuckDB sums the flags as decimals: a count is whole
    per = new[new.content_id.notnull()].groupby("content_id").agg(new_users=("user_id", "nunique"),
                                                                  inviters=("inviter", "nunique")).reset_index()
    df = per.merge(agg, on="content_id", how="left").fillna({"readers": 0, "sharers": 0, "shares": 0})
    df["new_users_per_share"] = np.where(df.shares > 0, df.new_users / df.shares.where(df.shares > 0, 1), np.nan)
    df["k_factor"] = np.where(df.readers > 0, df.new_users / df.readers.where(df.readers > 0, 1), np.nan)
    return df[["content_id", "new_users", "inviters", "readers", "sharers", "shares", "new_users_per_share",
               "k_factor"]]
