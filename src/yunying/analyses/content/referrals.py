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
import math
from typing import Literal

import numpy as np

from ...errors import SpecError
from ..arrow_numpy import ints
from ..base import Result, Spec
from ..table import Columns

INVITER_NAMES = ("inviter", "referrer", "inviter_id", "referrer_id", "invited_by")


class ReferralSpec(Spec):
    kind = "referrals"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    inviter_property: str | None = None
    by: Literal["piece", "campaign"] = "piece"  # a choice: any other word is an error, not silently "piece"
    view_event: str = "view_content"
    share_event: str = "share"


def _signups(engine, spec) -> tuple[dict[str, list], str]:
    """Every signup as columns (user_id, ts, content_id, utm_campaign, __day, __camp, inviter) and the property
    that names the inviter (the first of the names that some signup carries)."""
    names = [spec.inviter_property] if spec.inviter_property else list(INVITER_NAMES)
    tab = _signup_rows(engine, names)
    found = [n for i, n in enumerate(names) if tab[f"_p{i}"].null_count < len(tab)]
    if not found:
        raise SpecError(key="content.referrals.no_signup_carries_inviter", names=', '.join(names))
    cols = {c: tab[c].to_pylist() for c in ("user_id", "content_id", "utm_campaign", "__camp")}
    cols["inviter"] = tab[f"_p{names.index(found[0])}"].to_pylist()
    cols["ts"], cols["__day"] = ints(tab["ts"]), ints(tab["__day"])
    return cols, found[0]


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


def _first_signups(s: dict) -> list[int]:
    """Row of each user's first signup (by time; the earlier row among signups at the same instant)."""
    seen, keep = set(), []
    for j in np.argsort(s["ts"], kind="stable").tolist():
        u = s["user_id"][j]
        if u not in seen:
            seen.add(u)
            keep.append(j)
    return keep


def referrals(engine, spec: ReferralSpec | None = None, **kwargs) -> ReferralResult:
    spec = spec or ReferralSpec.build(**kwargs)
    s, prop = _signups(engine, spec)
    rows = _first_signups(s)
    user = [s["user_id"][j] for j in rows]
    inviter = [s["inviter"][j] for j in rows]
    gen = generations(np.asarray(user, dtype=object), np.asarray(inviter, dtype=object))
    day = s["__day"][rows]
    in_range = np.ones(len(rows), dtype=bool)
    if spec.date_from is not None:
        in_range &= day >= (spec.date_from - dt.date(1970, 1, 1)).days
    if spec.date_to is not None:
        in_range &= day <= (spec.date_to - dt.date(1970, 1, 1)).days
    cohort = {u for u, ok in zip(user, in_range.tolist()) if ok}
    referred = [i for i, p in enumerate(inviter) if p is not None]
    brought = [inviter[i] for i in referred if inviter[i] in cohort]
    gens, counts = np.unique(gen[in_range], return_counts=True)
    meta = {"inviter_property": prop, "signups": int(in_range.sum()), "referred_signups": len(brought),
            "k_factor": len(brought) / len(cohort) if cohort else None, "inviters": len(set(brought)),
            "new_users_per_inviter": len(brought) / len(set(brought)) if brought else None,
            "generations": {int(g): int(n) for g, n in zip(gens, counts)}, "max_generation": int(gen.max())}
    new = [rows[i] for i in referred if in_range[i]]  # referred signups of the range (rows of ``s``)
    if spec.by == "campaign":
        frame = _per_campaign(s, new)
    else:
        frame = _per_piece(engine, spec, s, new)
    first = frame.columns[0]
    order = sorted(range(len(frame)), key=lambda i: (-frame.data["new_users"][i], frame.data[first][i]))
    frame.data = {k: [v[i] for i in order] for k, v in frame.data.items()}
    return ReferralResult(spec, frame, meta)


def _nunique(groups: list, values: list, rows: list[int]) -> dict:
    """Per group key (``groups[i]`` for ``rows[i]``): the distinct non-missing ``values`` of its rows."""
    out: dict = {}
    for k, j in zip(groups, rows):
        if values[j] is not None:
            out.setdefault(k, set()).add(values[j])
    return out


def _per_campaign(s: dict, new: list[int]) -> Columns:
    """New users, inviters and new users per inviter per campaign (``utm_campaign``, else ``campaign``)."""
    camp = [s["utm_campaign"][j] if s["utm_campaign"][j] is not None else
            s["__camp"][j] if s["__camp"][j] is not None else "(none)" for j in new]
    size: dict = {}
    for c in camp:
        size[c] = size.get(c, 0) + 1
    inviters = _nunique(camp, s["inviter"], new)
    keys = sorted(size)
    return Columns({"campaign": keys, "new_users": [size[k] for k in keys],
                    "inviters": [len(inviters.get(k, ())) for k in keys],
                    "new_users_per_inviter": [size[k] / len(inviters[k]) if inviters.get(k) else math.nan
                                              for k in keys]},
                   dtypes={"campaign": "object", "new_users": "int64", "inviters": "int64",
                           "new_users_per_inviter": "float64"})


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


def _per_piece(engine, spec, s: dict, new: list[int]) -> Columns:
    """Per piece carried by a referred signup: new users, inviters, the piece's readers, sharers and shares of
    the range, new users per share and per reader (K-factor)."""
    agg = _piece_counts(engine, spec).to_pydict()
    counts = {c: {k: int(v) for k, v in zip(agg["content_id"], agg[c])} for c in ("readers", "sharers", "shares")}
    with_piece = [j for j in new if s["content_id"][j] is not None]
    piece = [s["content_id"][j] for j in with_piece]
    users, inviters = _nunique(piece, s["user_id"], with_piece), _nunique(piece, s["inviter"], with_piece)
    keys = sorted(set(piece))
    out = {"content_id": keys, "new_users": [len(users.get(k, ())) for k in keys],
           "inviters": [len(inviters.get(k, ())) for k in keys]}
    dtypes = {"content_id": "object", "new_users": "int64", "inviters": "int64"}
    for c, per in counts.items():  # a piece without such events: 0 (a float column then, as pandas' merge gives)
        out[c] = [per.get(k, 0) for k in keys]
        dtypes[c] = "int64" if all(k in per for k in keys) else "float64"
    out["new_users_per_share"] = [n / sh if sh > 0 else math.nan for n, sh in zip(out["new_users"], out["shares"])]
    out["k_factor"] = [n / r if r > 0 else math.nan for n, r in zip(out["new_users"], out["readers"])]
    dtypes.update(new_users_per_share="float64", k_factor="float64")
    return Columns(out, dtypes=dtypes)
