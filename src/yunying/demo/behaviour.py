"""The demo users' behaviour, one chunk of users at a time: traits, daily activity, the experiment exposure,
activation, campaign views, purchases, app opens and content events (the generator assembles them)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from .campaigns import COUPON_VALUES, coupon_tier
from .arrays import DAY_US, _DAY_MAX, _cdf_tod, _sample_tod, _to_us
from .content import pick as content_pick
from .parameters import (ACTIVATION_RATE, CAMPAIGN_VIEW_SHARE, CHANNELS, CHURN_DAILY, DAILY_PURCHASE_PROB,
                         E_ACTIVATE, E_APP_OPEN, E_CAMPAIGN_VIEW, E_EXPOSURE, E_FOLLOW, E_PURCHASE, E_SHARE, E_VIEW,
                         EXTRA_PURCHASES_MEAN, P_MAX, PURCHASE_MULTIPLIER, REVENUE_MEAN, REVENUE_SIGMA,
                         WINDOW_DAYS)


def _user_traits(rng, world, ch_u, d0, n: int) -> SimpleNamespace:
    """Per-user traits drawn once: lifetime, activity level, activation, taste for content, spend, arm."""
    D = world.days
    churn = np.array([CHURN_DAILY[c] for c in CHANNELS])[ch_u]
    life = rng.geometric(churn)
    q = rng.beta(2.0, 3.0, n)
    activated = rng.random(n) < np.array([ACTIVATION_RATE[c] for c in CHANNELS])[ch_u]
    act_delay = rng.choice(4, size=n, p=(0.55, 0.25, 0.12, 0.08))
    d_a = d0 + act_delay
    activated &= d_a < D
    life = np.where(activated, np.maximum(life, act_delay + 1), life)
    lam_views = rng.gamma(2.0, 1.25, n)
    m_user = rng.gamma(2.0, 0.5, n)
    treat = rng.random(n) < 0.5
    base_p = np.array([DAILY_PURCHASE_PROB[c] for c in CHANNELS])[ch_u] * m_user
    return SimpleNamespace(life=life, q=q, activated=activated, act_delay=act_delay, d_a=d_a,
                           lam_views=lam_views, treat=treat, base_p=base_p)


def _activity(rng, world, u: SimpleNamespace, d0, ar):
    """(user, day) pairs of activity, and each user's first day in the experiment (if any)."""
    D = world.days
    n = ar.size
    dd = np.arange(D)
    A = rng.random((n, D), dtype=np.float32) < (u.q[:, None] * world.wk_act[None, :]).astype(np.float32)
    A &= (dd[None, :] >= d0[:, None]) & (dd[None, :] < (d0 + u.life)[:, None])
    A[ar, d0] = True
    A[ar[u.activated], u.d_a[u.activated]] = True
    sub = A[:, world.exp_start:]
    exposed = sub.any(axis=1)
    d_e = world.exp_start + sub.argmax(axis=1)
    uu, pd = np.nonzero(A)
    return uu, pd, exposed, d_e


def _exposure_activation_views(rng, world, u: SimpleNamespace, uu, pd, lb, d0, tod_s, exposed, d_e, plat,
                               part):
    """The experiment exposure (once per exposed user), the activation event and the campaign's page views."""
    n = d0.size
    M = uu.size
    dicts = world.dicts
    activated, act_delay, d_a, treat = u.activated, u.act_delay, u.d_a, u.treat
    # exposure (one per exposed user)
    e_idx = np.flatnonzero(exposed)
    t_exp = np.full(n, np.inf)
    t_exp[e_idx] = _sample_tod(rng, e_idx.size, np.where(d_e[e_idx] == d0[e_idx], tod_s[e_idx], 0.0))
    exp_us = d_e * DAY_US + _to_us(np.where(exposed, t_exp, 0.0))
    part(e_idx.size, dist=e_idx, uid=e_idx, ev=np.full(e_idx.size, E_EXPOSURE, np.int8), t=exp_us[e_idx],
         variant=treat[e_idx].astype(np.int8), props=dicts.app_off + plat[e_idx] * 3 + 1)
    is_exp_day = exposed[uu] & (pd == d_e[uu])

    # activation
    a_idx = np.flatnonzero(activated)
    t_act = np.full(n, np.inf)
    t_act[a_idx] = _sample_tod(rng, a_idx.size, np.where(act_delay[a_idx] == 0, tod_s[a_idx], 0.0))
    part(a_idx.size, dist=a_idx, uid=a_idx, ev=np.full(a_idx.size, E_ACTIVATE, np.int8),
         t=d_a[a_idx] * DAY_US + _to_us(t_act[a_idx]), props=dicts.app_off + plat[a_idx] * 3)
    is_act_day = activated[uu] & (pd == d_a[uu])

    # campaign views
    in_camp = (pd >= world.camp_start) & (pd <= world.camp_end)
    cv = in_camp & (rng.random(M) < CAMPAIGN_VIEW_SHARE) & ~u.held[uu]   # the holdout never sees it
    cv_idx = np.flatnonzero(cv)
    t_cv = np.full(M, np.inf)
    t_cv[cv_idx] = _sample_tod(rng, cv_idx.size, lb[cv_idx])
    part(cv_idx.size, dist=uu[cv_idx], uid=uu[cv_idx], ev=np.full(cv_idx.size, E_CAMPAIGN_VIEW, np.int8),
         t=pd[cv_idx] * DAY_US + _to_us(t_cv[cv_idx]), props=dicts.app_off + plat[uu[cv_idx]] * 3 + 2)

    return t_exp, exp_us, is_exp_day, t_act, is_act_day, cv, t_cv, in_camp, e_idx


def _truth_sums(acc: dict, uu, pd, p, p0, camp_f, treat_f, after_exp, in_camp, d_e, t_exp, treat, e_idx) -> None:
    """The experiment's potential outcomes and the campaign's increment, summed into ``acc`` (no draws)."""
    n = treat.size
    # experiment truth: potential outcomes over realised active days in the window
    win = after_exp & (pd <= d_e[uu] + WINDOW_DAYS)
    wu = uu[win]
    frac = np.where(pd[win] == d_e[wu] + WINDOW_DAYS, _cdf_tod(t_exp[wu]), 1.0)
    pc = np.minimum(p0[win] * camp_f[win], P_MAX) * frac
    pt = np.minimum(p0[win] * camp_f[win] * PURCHASE_MULTIPLIER, P_MAX) * frac
    log_c = np.bincount(wu, weights=np.log1p(-pc), minlength=n)
    log_t = np.bincount(wu, weights=np.log1p(-pt), minlength=n)
    acc["exp_pc"] += float((1.0 - np.exp(log_c[e_idx])).sum())
    acc["exp_pt"] += float((1.0 - np.exp(log_t[e_idx])).sum())
    acc["exp_n"][1] += int(treat[e_idx].sum())
    acc["exp_n"][0] += int(e_idx.size - treat[e_idx].sum())

    # campaign truth
    p_without = np.minimum(p0 * treat_f, P_MAX)
    per_day = 1.0 + EXTRA_PURCHASES_MEAN
    acc["camp_inc"] += float((p[in_camp] - p_without[in_camp]).sum()) * per_day
    acc["camp_base"] += float(p_without[in_camp].sum()) * per_day


def _purchases(rng, uu, pd, p, lb, cv, is_exp_day, t_exp, exp_us, plat, dicts, part, acc: dict):
    """A day's first purchase with probability p (after the exposure on its day), extra ones, revenue."""
    M = uu.size
    buy = np.flatnonzero(rng.random(M) < p)
    lb_p = np.where(is_exp_day[buy], np.maximum(lb[buy], t_exp[uu[buy]]), lb[buy])
    t_buy = _sample_tod(rng, buy.size, lb_p)
    buy_us = pd[buy] * DAY_US + _to_us(t_buy)
    ex = is_exp_day[buy]
    buy_us[ex] = np.maximum(buy_us[ex], exp_us[uu[buy[ex]]] + 1)
    n_extra = rng.poisson(EXTRA_PURCHASES_MEAN, buy.size)
    x_rep = np.repeat(np.arange(buy.size), n_extra)
    day_end = (pd[buy[x_rep]] + 1) * DAY_US - 1
    x_us = np.minimum(buy_us[x_rep] + _to_us(rng.uniform(60.0, 3 * 3600.0, x_rep.size)), day_end)
    all_buy = np.concatenate([buy, buy[x_rep]])
    n_p = all_buy.size
    revenue = np.round(rng.lognormal(math.log(REVENUE_MEAN) - REVENUE_SIGMA**2 / 2, REVENUE_SIGMA, n_p), 2)
    revenue = np.maximum(revenue, 0.01)
    bu = uu[all_buy]
    tier = coupon_tier(revenue)   # a campaign-view day's purchases redeem a coupon (by order value)
    part(n_p, dist=bu, uid=bu, ev=np.full(n_p, E_PURCHASE, np.int8), t=np.concatenate([buy_us, x_us]),
         revenue=revenue, props=np.where(cv[all_buy], dicts.coupon_off + plat[bu] * len(COUPON_VALUES) + tier,
                                         dicts.app_off + plat[bu] * 3))
    acc["coupon_cents"] = acc.get("coupon_cents", 0) + 100 * int(np.asarray(COUPON_VALUES)[tier[cv[all_buy]]].sum())
    acc["purchases"] += n_p
    acc["revenue_cents"] += int(np.round(revenue * 100).astype(np.int64).sum())

    return buy, t_buy


def _app_opens(rng, uu, pd, lb, t_cv, buy, t_buy, is_exp_day, t_exp, is_act_day, t_act, plat, dicts, part):
    """1-3 app opens per active day, the first one before everything else that day; returns their layout."""
    M = uu.size
    n_open = 1 + rng.binomial(2, 0.3, M)
    o_rep = np.repeat(np.arange(M), n_open)
    o_t = _sample_tod(rng, o_rep.size, lb[o_rep])
    o_start = np.concatenate([[0], np.cumsum(n_open)[:-1]])
    o_min = np.minimum.reduceat(o_t, o_start)
    first_other = t_cv.copy()
    fb = np.full(M, np.inf)
    fb[buy] = t_buy
    first_other = np.minimum(first_other, fb)
    first_other = np.where(is_exp_day, np.minimum(first_other, t_exp[uu]), first_other)
    first_other = np.where(is_act_day, np.minimum(first_other, t_act[uu]), first_other)
    cand = first_other - rng.uniform(5.0, 300.0, M)
    cand = np.where(cand <= lb, lb + (first_other - lb) * 0.5, cand)
    o_t[o_start] = np.minimum(o_min, cand)
    ou = uu[o_rep]
    part(o_rep.size, dist=ou, uid=ou, ev=np.full(o_rep.size, E_APP_OPEN, np.int8), t=pd[o_rep] * DAY_US + _to_us(o_t),
         props=dicts.app_off + plat[ou] * 3)

    return o_start, o_t, n_open


def _content_events(rng, world, uu, pd, o_start, o_t, n_open, lam_views, plat, dicts, part) -> None:
    """Content views after an app open, and shares and follows of the viewed content."""
    M = uu.size
    n_view = rng.poisson(lam_views[uu] * world.wk_views[pd])
    v_rep = np.repeat(np.arange(M), n_view)
    V = v_rep.size
    v_open = o_start[v_rep] + (rng.random(V) * n_open[v_rep]).astype(np.int64)
    v_t = np.minimum(o_t[v_open] + 1.0 + rng.exponential(180.0, V), _DAY_MAX)
    content = content_pick(rng, world.content_ops, pd[v_rep], pd[v_rep] * DAY_US + _to_us(v_t))
    vu = uu[v_rep]
    v_day = pd[v_rep] * DAY_US
    part(V, dist=vu, uid=vu, ev=np.full(V, E_VIEW, np.int8), t=v_day + _to_us(v_t), content=content,
         props=dicts.app_off + plat[vu] * 3)
    for code, rate in ((E_SHARE, world.share_rate), (E_FOLLOW, world.follow_rate)):
        s = np.flatnonzero(rng.random(V) < rate[content])
        st = np.minimum(v_t[s] + rng.uniform(3.0, 90.0, s.size), _DAY_MAX)
        part(s.size, dist=vu[s], uid=vu[s], ev=np.full(s.size, code, np.int8), t=v_day[s] + _to_us(st),
             content=content[s], props=dicts.app_off + plat[vu[s]] * 3)



