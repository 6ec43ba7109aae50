"""The demo's churn (truth.json: a daily dropout probability per acquisition channel, lifetimes geometric from
signup) recovered by Pareto/NBD on the demo's purchase events, in days.

What is compared: the model's mean dropout rate E[μ] = s/β per day against the truth's mean daily hazard
-ln(1 - churn_daily[channel]) over the customers the model sees (users with a purchase). Lifetimes are
memoryless, so a customer alive at their first purchase keeps their channel's hazard from there, as the model
assumes. Tolerance 15 %: the demo's purchase rates are not a stationary Gamma-Poisson process (activation
lowers them at first, a campaign and an experiment raise them for a while) and the hazard mixture over six
channels is not a Gamma distribution."""
from __future__ import annotations

import numpy as np
import pytest

import yunying
from yunying.analyses.customer_value import CustomerValueSpec, customer_value

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from yunying.demo import generate

    base = tmp_path_factory.mktemp("demo_churn")
    truth = generate(base / "data", users=20_000, days=90, seed=5)
    ws = yunying.Workspace.init(base / "ws")
    ws.import_events(truth["files"])
    yield ws, truth
    ws.close()


def test_pareto_recovers_the_demo_churn(demo):
    ws, truth = demo
    res = customer_value(ws.engine, CustomerValueSpec(model="pareto", period="day"))
    eng = ws.engine
    t = eng.events()
    signups = eng.execute(t.filter(t.event == "signup").select("user_id", "channel")).to_pandas()
    channel = dict(zip(signups["user_id"], signups["channel"]))
    hazard = {c: -np.log1p(-v["churn_daily"]) for c, v in truth["channels"].items()}
    want = float(np.mean([hazard[channel[u]] for u in res.frame["user_id"]]))
    p = res.model.params_
    got = p["s"] / p["beta"]
    assert abs(got - want) <= 0.15 * want, (got, want)
    # and those who stopped buying long ago are mostly judged gone: P(alive) falls with the days since the
    # last purchase
    f = res.frame.assign(idle=res.frame["T"] - res.frame["recency"])
    recent, old = f[f["idle"] <= 7], f[f["idle"] >= 45]
    assert recent["p_alive"].mean() > 0.6 > 0.2 > old["p_alive"].mean()
