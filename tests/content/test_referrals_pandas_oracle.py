"""Referrals without pandas (issue 13, start-up): on random workspaces in three time zones, with and without a
date range, per piece and per campaign, the result equals the former pandas computation (kept here as the
oracle): first signup per user, generations, K-factor, new users per piece / campaign with the piece counts."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from test_content_sql_oracle import _workspace
from util import assert_same_rows
from yunying.analyses.content import referrals as R


def _pandas_referrals(engine, spec) -> dict:
    names = [spec.inviter_property] if spec.inviter_property else list(R.INVITER_NAMES)
    df = R._signup_rows(engine, names).to_pandas()
    found = [n for i, n in enumerate(names) if df[f"_p{i}"].notnull().any()]
    df["inviter"] = df[f"_p{names.index(found[0])}"]
    s = df.sort_values("ts", kind="stable").drop_duplicates("user_id")
    s["generation"] = R.generations(s.user_id.to_numpy(object), s.inviter.to_numpy(object))
    in_range = pd.Series(True, index=s.index)
    if spec.date_from is not None:
        in_range &= s["__day"] >= spec.date_from
    if spec.date_to is not None:
        in_range &= s["__day"] <= spec.date_to
    cohort = set(s.user_id[in_range])
    referred = s[s.inviter.notnull()]
    brought = referred[referred.inviter.isin(cohort)]
    gens = s[in_range].groupby("generation").size()
    meta = {"inviter_property": found[0], "signups": int(in_range.sum()), "referred_signups": int(len(brought)),
            "k_factor": len(brought) / len(cohort) if cohort else None, "inviters": int(brought.inviter.nunique()),
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
        agg = R._piece_counts(engine, spec).to_pandas()
        per = new[new.content_id.notnull()].groupby("content_id").agg(
            new_users=("user_id", "nunique"), inviters=("inviter", "nunique")).reset_index()
        frame = per.merge(agg, on="content_id", how="left").fillna({"readers": 0, "sharers": 0, "shares": 0})
        frame["new_users_per_share"] = np.where(frame.shares > 0, frame.new_users / frame.shares.where(
            frame.shares > 0, 1), np.nan)
        frame["k_factor"] = np.where(frame.readers > 0, frame.new_users / frame.readers.where(frame.readers > 0, 1),
                                     np.nan)
    frame = frame.sort_values(["new_users", frame.columns[0]], ascending=[False, True]).reset_index(drop=True)
    return {"meta": meta, "rows": R.ReferralResult(spec, frame).records(), "csv": R.ReferralResult(spec, frame).to_csv()}


@pytest.fixture(scope="module", params=[("UTC", 11), ("Asia/Shanghai", 12), ("America/Los_Angeles", 13)])
def ws(request, tmp_path_factory):
    with _workspace(tmp_path_factory.mktemp("referrals"), *request.param) as w:
        yield w


@pytest.mark.parametrize("by", ["piece", "campaign"])
@pytest.mark.parametrize("date_from,date_to", [(None, None), (dt.date(2026, 5, 6), dt.date(2026, 5, 24))])
def test_referrals_equal_pandas(ws, by, date_from, date_to):
    spec = R.ReferralSpec.build(by=by, date_from=date_from, date_to=date_to)
    got = R.referrals(ws.engine, spec)
    exp = _pandas_referrals(ws.engine, spec)
    assert len(exp["rows"]) > 2 and exp["meta"]["referred_signups"] > 5
    assert_same_rows({k: v for k, v in got.meta.items()}, exp["meta"])
    assert_same_rows(got.records(), exp["rows"])
    assert got.to_csv() == exp["csv"]
