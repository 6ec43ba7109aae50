"""Seeded, realistic demo data for a fictional content/shopping app — with ground truth.

``generate(out_dir, users=50_000, days=90, seed=7)`` writes

* ``events.parquet`` (``users <= 200_000``) or ``events/part-00000.parquet`` … (one file per
  chunk of ~100k users) — one row per event, columns ``distinct_id, user_id, event, timestamp,
  event_uuid, utm_source, utm_medium, utm_campaign, channel, revenue, content_id, variant,
  properties`` (see ``EVENTS_SCHEMA``);
* ``spend.csv`` — ``date,channel,campaign,placement,cost,currency,impressions,reads,clicks``;
* ``truth.json`` — the parameters and the analytic expectations the data were drawn from,

and returns the truth dict plus ``"files"`` (the event files written).

Everything is vectorised NumPy; Python loops run only over chunks, days, channels and
placements. The same ``(users, days, seed, start)`` gives the same files byte for byte.
Random streams are separate per stage (spend plan, user acquisition, each user chunk), so a
chunk's data does not depend on how many chunks follow it.

The model
---------
**Acquisition.** Paid channels ``search`` (baidu/cpc; placements ``search_brand``,
``search_generic``), ``feed`` (douyin/feed; ``feed_main``, ``feed_retarget``), ``wechat``
(wechat/article; official-account article slots ``wx_acct_01`` … each bought for a single
day) and ``kol`` (bilibili or xiaohongshu/video; ``kol_01`` … single-day video slots).
Always-on search/feed spend follows a weekly pattern with lognormal noise; wechat/kol spend
happens only on the days their slots run. The number of users whose *first touch* (ad click)
falls on day d is Poisson with mean ``a * ln(1 + spend_d / h)`` (per channel; on a search or
feed day the registrations are split between placements in proportion to their cost), so
channels have different, diminishing returns. ``a`` is set so that the expected signups per
channel are a fixed share of ``users`` (paid 70 %, organic 20 %, referral 10 %);
``true_cost_per_registration`` = spend / expected registrations given the realised spend path.
Free channels: ``organic`` (``landing`` event, no UTM) and ``referral`` (``landing`` with
utm_source ``referral``, medium ``invite``, campaign ``invite_friends``).

**Identity.** Before signup a user is ``anon_<index><4 hex>``: their first touch (the acquiring
channel), for ~30 % a repeat touch of the same channel, and for ~25 % a later touch from
another channel (search, feed, organic or referral), so last-touch attribution over-credits
search. ``signup`` carries both the anonymous ``distinct_id`` and the new ``user_id``
(``u0000001`` …, in signup order) plus the acquiring channel's UTM fields; every later event
uses the user id as ``distinct_id``. In addition ~0.5 anonymous visitors per user click/land
and never sign up (1–2 touch events, ``user_id`` null).

**Activity.** Per user: lifetime ~ Geometric(channel churn) days from signup, daily activity
probability ~ Beta(2, 3) (× 1.25 on weekends), ``activate`` with a channel probability 0–3 days
after signup (that day is active), signup day always active. An active day has 1–3
``app_open``, Poisson ``view_content`` over 200 content pieces (Zipf popularity) with ``share``
and ``follow`` drawn from per-content true rates, and a purchase with probability
``p = daily_purchase_prob[channel] * user_multiplier(Gamma, mean 1) * (1 if activated before
that day else 0.3) * (1 + lift on summer-sale days the user saw the campaign) * (1.15 after
exposure in treatment)``, capped at 0.9; a purchasing day has 1 + Poisson(0.15) purchases,
revenue lognormal with mean 60 CNY (rounded to cents).

**Intra-day times** follow a fixed hourly profile with an evening peak (hour weights
``arrays.HOUR_WEIGHTS``, uniform within the hour). The first purchase of a day is drawn from that
profile (conditioned to be after signup on the signup day and after the exposure on the
exposure day), which is what makes the experiment truth exact.

**Experiment** ``new_checkout`` starts on day ``days // 2``: each user active on/after that day
gets one ``$exposure`` on their first such active day (variant control/treatment 50/50).
Truth: for every exposed user P(≥1 purchase in [exposure, exposure + 14 days]) =
1 - Π(1 - p_d) over their realised active days in the window (day +14 counts with the
share of the hourly profile before the exposure's time of day), under both variants;
averaged over exposed users.

**Campaign** ``summer_sale`` on days ``2*days//3`` … +6: on each active day 70 % of users see it
(``campaign_view``, properties.campaign), which multiplies that day's purchase probability by
1.3 (their purchases that day carry properties.campaign). Truth: expected incremental
purchases/revenue = Σ (p_with - p_without) × E[purchases per purchasing day] (× 60 CNY).
The campaign cost is *not* in spend.csv (it is coupons, not media); it is in truth.json.

**spend.csv** funnels: search/feed ``impressions`` = ad impressions, ``clicks`` = ad clicks and
``reads`` = landing-page views, taken equal to clicks; wechat ``impressions`` = article
impressions in followers' feeds, ``reads`` = article reads, ``clicks`` = link clicks in the
article; kol ``impressions`` = video impressions, ``reads`` = plays, ``clicks`` = link clicks.
Always ``clicks <= reads <= impressions`` and ``clicks >=`` the registrations the row produced.
Costs are whole cents and sum exactly to truth's ``spend_total`` per channel and placement.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .arrays import (DAY_S, DAY_US, _DAY_MAX, _cdf_tod, _digits, _hex, _prefixed, _sample_tod, _strings, _take,
                     _to_us, _uuids)
from .parameters import (ACTIVATION_RATE, BOUNCERS_PER_USER, CAMPAIGN, CAMPAIGN_LIFT,
                         CAMPAIGN_VIEW_SHARE, CHANNELS, CHURN_DAILY, DAILY_PURCHASE_PROB,
                         EXPERIMENT, EXTRA_PURCHASES_MEAN, NON_ACTIVATED_PURCHASE_FACTOR, N_CONTENT,
                         OTHER_TOUCH_P, OTHER_TOUCH_WEIGHTS, PAID, PLATFORMS, PLATFORM_P, PURCHASE_MULTIPLIER,
                         P_MAX, REPEAT_TOUCH_P, REVENUE_MEAN, REVENUE_SIGMA, WEEKLY_ACTIVITY, WEEKLY_VIEWS,
                         WINDOW_DAYS)
from .plan import _Plan, _cents_str, _plan, _spend_rows, _weekly
from .truth import _truth

__all__ = ["generate", "EVENTS_SCHEMA", "CHUNK_USERS", "SINGLE_FILE_MAX_USERS"]

CHUNK_USERS = 100_000
SINGLE_FILE_MAX_USERS = 200_000

EVENT_NAMES = ("ad_click", "landing", "signup", "activate", "app_open", "view_content", "share", "follow",
               "purchase", "$exposure", "campaign_view")
(E_AD_CLICK, E_LANDING, E_SIGNUP, E_ACTIVATE, E_APP_OPEN, E_VIEW, E_SHARE, E_FOLLOW, E_PURCHASE,
 E_EXPOSURE, E_CAMPAIGN_VIEW) = range(len(EVENT_NAMES))

EVENTS_SCHEMA = pa.schema([
    ("distinct_id", pa.string()), ("user_id", pa.string()), ("event", pa.string()),
    ("timestamp", pa.timestamp("us", tz="UTC")), ("event_uuid", pa.string()),
    ("utm_source", pa.string()), ("utm_medium", pa.string()), ("utm_campaign", pa.string()),
    ("channel", pa.string()), ("revenue", pa.float64()), ("content_id", pa.string()),
    ("variant", pa.string()), ("properties", pa.string()),
])


# ----------------------------------------------------------------------------- users

@dataclass
class _Users:
    src: np.ndarray        # (S,) int16 acquiring source
    t1: np.ndarray         # (S,) int64 first touch, µs since start
    ts: np.ndarray         # (S,) int64 signup, µs since start
    multi: np.ndarray      # (S,) bool: has a later touch from another channel


def _acquire(plan: _Plan, days: int, seed: int) -> _Users:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    flat = plan.regs.ravel()                                  # day-major
    cell = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    nsrc = plan.regs.shape[1]
    day = (cell // nsrc).astype(np.int64)
    src = (cell % nsrc).astype(np.int16)
    del cell
    S = src.size
    t1 = day * DAY_US + _to_us(_sample_tod(rng, S))
    multi = rng.random(S) < OTHER_TOUCH_P
    # delay first touch -> signup: mostly minutes, some days; multi-touch users take longer
    quick = np.exp(rng.normal(math.log(20 * 60), 1.0, S))
    slow = rng.uniform(3600.0, 3 * DAY_S, S)
    delay_s = np.where(multi | (rng.random(S) < 0.15), np.where(multi, rng.uniform(2 * 3600.0, 3 * DAY_S, S), slow), quick)
    delay = np.maximum(_to_us(delay_s), 30_000_000)
    end = days * DAY_US
    room = end - t1
    over = delay >= room
    delay = np.where(over, (room * rng.uniform(0.2, 0.95, S)).astype(np.int64), delay)
    delay = np.maximum(delay, 1)
    ts = t1 + delay
    order = np.argsort(ts, kind="stable")
    return _Users(src[order], t1[order], ts[order], multi[order])


# ----------------------------------------------------------------------------- chunk simulation

class _Dicts:
    """String dictionaries shared by all chunks."""

    def __init__(self, plan: _Plan, content_ids: list[str]):
        srcs = plan.sources
        self.nsrc = len(srcs)
        self.event = pa.array(EVENT_NAMES, pa.string())
        self.utm_source = pa.array([s.utm_source for s in srcs], pa.string())
        self.utm_medium = pa.array([s.utm_medium for s in srcs], pa.string())
        self.utm_campaign = pa.array([s.utm_campaign for s in srcs], pa.string())
        self.channel = pa.array([s.channel for s in srcs], pa.string())
        self.content = pa.array(content_ids, pa.string())
        self.variant = pa.array(["control", "treatment"], pa.string())
        props = []
        for s in srcs:                                             # touch events
            props.append({"utm_content": s.placement} if s.placement else {})
        self.signup_off = len(props)
        for s in srcs:                                             # signup
            for p in PLATFORMS:
                props.append({"utm_content": s.placement, "platform": p} if s.placement else {"platform": p})
        self.app_off = len(props)
        for p in PLATFORMS:                                        # in-app: plain / exposure / campaign
            props.append({"platform": p})
            props.append({"platform": p, "experiment": EXPERIMENT})
            props.append({"platform": p, "campaign": CAMPAIGN})
        self.properties = pa.array([json.dumps(d, ensure_ascii=False) for d in props], pa.string())


@dataclass
class _World:
    days: int
    start_us: int
    exp_start: int
    camp_start: int
    camp_end: int
    plan: _Plan
    dicts: _Dicts
    content_cdf: np.ndarray
    share_rate: np.ndarray
    follow_rate: np.ndarray
    paid_src: np.ndarray                   # (nsrc,) bool
    src_by_channel: dict                   # channel -> (src indices, probabilities by base share)
    user_width: int
    anon_width: int
    n_users_total: int
    wk_act: np.ndarray | None = None      # (days,) activity weekday factor
    wk_views: np.ndarray | None = None    # (days,) views weekday factor


def _pick_source(rng, channel_codes: np.ndarray, world: _World) -> np.ndarray:
    """A source for each channel code: a placement by base spend share for search/feed, else the pseudo-source."""
    out = np.empty(channel_codes.size, dtype=np.int16)
    for ci, ch in enumerate(CHANNELS):
        m = channel_codes == ci
        if not m.any():
            continue
        srcs, p = world.src_by_channel[ch]
        out[m] = srcs[rng.choice(len(srcs), size=int(m.sum()), p=p)] if len(srcs) > 1 else srcs[0]
    return out


def _ids(rng, world: _World, i0: int, i1: int, b0: int, nb: int) -> tuple[pa.Array, pa.Array]:
    """User ids of the chunk, and the distinct ids: [0, n) users, [n, 2n) their anonymous ids, then bouncers."""
    user_ids = _strings(_prefixed("u", _digits(np.arange(i0 + 1, i1 + 1), world.user_width)))
    anon_num = np.concatenate([np.arange(i0, i1), world.n_users_total + b0 + np.arange(nb)])
    anon_raw = np.frombuffer(rng.bytes(2 * anon_num.size), dtype=np.uint8).reshape(-1, 2)
    anon_ids = _strings(_prefixed("anon_", np.hstack([_digits(anon_num, world.anon_width), _hex(anon_raw)])))
    distinct_dict = pa.concat_arrays([user_ids, anon_ids])     # [0, n): users; [n, 2n): their anon ids; then bouncers

    return user_ids, distinct_dict


def _simulate_chunk(world: _World, users: _Users, k: int, i0: int, i1: int, b0: int, nb: int, seed: int, acc: dict):
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3, k]))
    D = world.days
    dicts = world.dicts
    n = i1 - i0
    src_u = users.src[i0:i1].astype(np.int64)
    t1 = users.t1[i0:i1]
    ts = users.ts[i0:i1]
    multi = users.multi[i0:i1]
    ch_u = world.plan.src_channel[src_u].astype(np.int64)
    ar = np.arange(n)

    parts: list[dict] = []

    def part(m, **cols):
        cols["_n"] = m
        parts.append(cols)

    user_ids, distinct_dict = _ids(rng, world, i0, i1, b0, nb)

    _touch_events(rng, world, src_u, t1, ts, multi, ch_u, nb, part)

    # ---- signup
    plat = rng.choice(len(PLATFORMS), size=n, p=PLATFORM_P)
    part(n, dist=n + ar, uid=ar, ev=np.full(n, E_SIGNUP, np.int8), t=ts, src=src_u,
         props=dicts.signup_off + src_u * len(PLATFORMS) + plat)

    # ---- per-user traits
    d0 = ts // DAY_US
    tod_s = (ts - d0 * DAY_US) / 1e6
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

    # ---- activity matrix
    dd = np.arange(D)
    wk_act = world.wk_act
    A = rng.random((n, D), dtype=np.float32) < (q[:, None] * wk_act[None, :]).astype(np.float32)
    A &= (dd[None, :] >= d0[:, None]) & (dd[None, :] < (d0 + life)[:, None])
    A[ar, d0] = True
    A[ar[activated], d_a[activated]] = True
    E0 = world.exp_start
    sub = A[:, E0:]
    exposed = sub.any(axis=1)
    d_e = E0 + sub.argmax(axis=1)
    uu, pd = np.nonzero(A)
    del A, sub
    M = uu.size
    is_signup_day = pd == d0[uu]
    lb = np.where(is_signup_day, tod_s[uu], 0.0)

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
    cv = in_camp & (rng.random(M) < CAMPAIGN_VIEW_SHARE)
    cv_idx = np.flatnonzero(cv)
    t_cv = np.full(M, np.inf)
    t_cv[cv_idx] = _sample_tod(rng, cv_idx.size, lb[cv_idx])
    part(cv_idx.size, dist=uu[cv_idx], uid=uu[cv_idx], ev=np.full(cv_idx.size, E_CAMPAIGN_VIEW, np.int8),
         t=pd[cv_idx] * DAY_US + _to_us(t_cv[cv_idx]), props=dicts.app_off + plat[uu[cv_idx]] * 3 + 2)

    # ---- purchase probabilities (day level)
    p0 = base_p[uu] * np.where(activated[uu] & (pd > d_a[uu]), 1.0, NON_ACTIVATED_PURCHASE_FACTOR)
    camp_f = np.where(cv, 1.0 + CAMPAIGN_LIFT, 1.0)
    after_exp = exposed[uu] & (pd >= d_e[uu])
    treat_f = np.where(after_exp & treat[uu], PURCHASE_MULTIPLIER, 1.0)
    p = np.minimum(p0 * camp_f * treat_f, P_MAX)

    _truth_sums(acc, uu, pd, p, p0, camp_f, treat_f, after_exp, in_camp, d_e, t_exp, treat, e_idx)

    # ---- purchases
    buy, t_buy = _purchases(rng, uu, pd, p, lb, cv, is_exp_day, t_exp, exp_us, plat, dicts, part, acc)

    # ---- app opens: 1-3 per active day; the first one precedes everything else that day
    o_start, o_t, n_open = _app_opens(rng, uu, pd, lb, t_cv, buy, t_buy, is_exp_day, t_exp, is_act_day, t_act,
                                      plat, dicts, part)

    # ---- content views, shares, follows
    _content_events(rng, world, uu, pd, o_start, o_t, n_open, lam_views, plat, dicts, part)

    # ---- assemble
    table, total = _assemble(parts, world, rng, distinct_dict, user_ids)
    acc["events"] += total
    return table


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
    part(n_p, dist=bu, uid=bu, ev=np.full(n_p, E_PURCHASE, np.int8), t=np.concatenate([buy_us, x_us]),
         revenue=revenue, props=dicts.app_off + plat[bu] * 3 + np.where(cv[all_buy], 2, 0))
    acc["purchases"] += n_p
    acc["revenue_cents"] += int(np.round(revenue * 100).astype(np.int64).sum())

    return buy, t_buy


def _touch_events(rng, world: _World, src_u, t1, ts, multi, ch_u, nb: int, part) -> None:
    """Pre-signup touches (first, repeated, from another channel) and anonymous visitors who never sign up."""
    n = src_u.size
    ar = np.arange(n)
    paid_src = world.paid_src
    touch_ev = lambda s: np.where(paid_src[s], E_AD_CLICK, E_LANDING).astype(np.int8)  # noqa: E731
    part(n, dist=n + ar, uid=None, ev=touch_ev(src_u), t=t1, src=src_u, props=src_u)
    t_oth = t1 + ((ts - t1) * rng.uniform(0.3, 0.97, n)).astype(np.int64)
    bound = np.where(multi, t_oth, ts)
    rep = rng.random(n) < REPEAT_TOUCH_P
    r_idx = np.flatnonzero(rep)
    t_rep = t1[r_idx] + np.maximum(((bound[r_idx] - t1[r_idx]) * rng.uniform(0.05, 0.9, r_idx.size)).astype(np.int64), 1)
    src_rep = src_u[r_idx].copy()
    always_on = np.isin(ch_u[r_idx], (CHANNELS.index("search"), CHANNELS.index("feed")))
    src_rep[always_on] = _pick_source(rng, ch_u[r_idx][always_on], world)
    part(r_idx.size, dist=n + r_idx, uid=None, ev=touch_ev(src_rep), t=t_rep, src=src_rep, props=src_rep)
    m_idx = np.flatnonzero(multi)
    other_names = list(OTHER_TOUCH_WEIGHTS)
    oth_ch = np.empty(m_idx.size, dtype=np.int64)
    for ci, ch in enumerate(CHANNELS):
        sel = ch_u[m_idx] == ci
        if not sel.any():
            continue
        cands = [c for c in other_names if c != ch]
        w = np.array([OTHER_TOUCH_WEIGHTS[c] for c in cands])
        oth_ch[sel] = np.array([CHANNELS.index(c) for c in cands])[rng.choice(len(cands), int(sel.sum()), p=w / w.sum())]
    src_oth = _pick_source(rng, oth_ch, world)
    part(m_idx.size, dist=n + m_idx, uid=None, ev=touch_ev(src_oth), t=t_oth[m_idx], src=src_oth, props=src_oth)

    # anonymous visitors who never sign up
    j = rng.integers(0, n, nb)
    src_b = src_u[j]
    t_b = (t1[j] // DAY_US) * DAY_US + _to_us(_sample_tod(rng, nb))
    part(nb, dist=2 * n + np.arange(nb), uid=None, ev=touch_ev(src_b), t=t_b, src=src_b, props=src_b)
    second = np.flatnonzero(rng.random(nb) < 0.3)
    room = world.days * DAY_US - 1 - t_b[second]
    t_b2 = t_b[second] + np.minimum(_to_us(rng.uniform(60.0, 4 * 3600.0, second.size)), room)
    part(second.size, dist=2 * n + second, uid=None, ev=touch_ev(src_b[second]), t=t_b2, src=src_b[second],
         props=src_b[second])



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


def _content_events(rng, world: _World, uu, pd, o_start, o_t, n_open, lam_views, plat, dicts, part) -> None:
    """Content views after an app open, and shares and follows of the viewed content."""
    M = uu.size
    n_view = rng.poisson(lam_views[uu] * world.wk_views[pd])
    v_rep = np.repeat(np.arange(M), n_view)
    V = v_rep.size
    v_open = o_start[v_rep] + (rng.random(V) * n_open[v_rep]).astype(np.int64)
    v_t = np.minimum(o_t[v_open] + 1.0 + rng.exponential(180.0, V), _DAY_MAX)
    content = np.searchsorted(world.content_cdf, rng.random(V), side="right").astype(np.int64)
    content = np.minimum(content, N_CONTENT - 1)
    vu = uu[v_rep]
    v_day = pd[v_rep] * DAY_US
    part(V, dist=vu, uid=vu, ev=np.full(V, E_VIEW, np.int8), t=v_day + _to_us(v_t), content=content,
         props=dicts.app_off + plat[vu] * 3)
    for code, rate in ((E_SHARE, world.share_rate), (E_FOLLOW, world.follow_rate)):
        s = np.flatnonzero(rng.random(V) < rate[content])
        st = np.minimum(v_t[s] + rng.uniform(3.0, 90.0, s.size), _DAY_MAX)
        part(s.size, dist=vu[s], uid=vu[s], ev=np.full(s.size, code, np.int8), t=v_day[s] + _to_us(st),
             content=content[s], props=dicts.app_off + plat[vu[s]] * 3)



def _assemble(parts: list[dict], world: _World, rng, distinct_dict, user_ids) -> tuple[pa.Table, int]:
    """All parts as one table in time order (stable), with event UUIDs drawn last."""
    dicts = world.dicts
    total = sum(pp["_n"] for pp in parts)

    def col(name, dtype, fill):
        out = np.empty(total, dtype=dtype)
        pos = 0
        for pp in parts:
            m = pp["_n"]
            v = pp.get(name)
            out[pos:pos + m] = fill if v is None else v
            pos += m
        return out

    t_all = col("t", np.int64, 0)
    order = np.argsort(t_all, kind="stable")
    t_all = t_all[order] + world.start_us
    dist = col("dist", np.int64, 0)[order]
    uid = col("uid", np.int64, -1)[order]
    ev = col("ev", np.int8, 0)[order]
    src = col("src", np.int64, -1)[order]
    cont = col("content", np.int64, -1)[order]
    var = col("variant", np.int8, -1)[order]
    rev = col("revenue", np.float64, np.nan)[order]
    props = col("props", np.int64, 0)[order]
    parts.clear()
    table = pa.Table.from_arrays([
        _take(distinct_dict, dist),
        _take(user_ids, uid),
        _take(dicts.event, ev),
        pa.array(t_all, type=pa.timestamp("us", tz="UTC")),
        _uuids(rng, total),
        _take(dicts.utm_source, src),
        _take(dicts.utm_medium, src),
        _take(dicts.utm_campaign, src),
        _take(dicts.channel, src),
        pa.array(rev, mask=np.isnan(rev), type=pa.float64()),
        _take(dicts.content, cont),
        _take(dicts.variant, var),
        _take(dicts.properties, props),
    ], schema=EVENTS_SCHEMA)
    return table, total


def _world(plan: _Plan, days: int, start: _dt.date, seed: int, S: int, n_bouncers: int):
    """The fixed context of every chunk, and the content catalogue (ids, share and follow rates, popularity)."""
    crng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    width = max(4, len(str(N_CONTENT)))
    content_ids = [f"c{i + 1:0{width}d}" for i in range(N_CONTENT)]
    pop = 1.0 / np.arange(1, N_CONTENT + 1) ** 1.07
    pop = pop[crng.permutation(N_CONTENT)]
    pop /= pop.sum()
    share_rate = crng.beta(2.0, 60.0, N_CONTENT)
    follow_rate = crng.beta(1.5, 100.0, N_CONTENT)

    src_by_channel = {}
    for ci, ch in enumerate(CHANNELS):
        idx = np.flatnonzero(plan.src_channel == ci)
        w = np.array([plan.sources[i].base_share for i in idx], dtype=float)
        src_by_channel[ch] = (idx.astype(np.int16), w / w.sum())

    world = _World(
        days=days, start_us=int(_dt.datetime(start.year, start.month, start.day, tzinfo=_dt.timezone.utc).timestamp())
        * 1_000_000,
        exp_start=days // 2, camp_start=(2 * days) // 3, camp_end=min((2 * days) // 3 + 6, days - 1),
        plan=plan, dicts=_Dicts(plan, content_ids), content_cdf=np.cumsum(pop), share_rate=share_rate,
        follow_rate=follow_rate, paid_src=np.array([s.channel in PAID for s in plan.sources]),
        src_by_channel=src_by_channel, user_width=max(7, len(str(S))),
        anon_width=max(6, len(str(S + n_bouncers))), n_users_total=S,
        wk_act=_weekly(days, start, WEEKLY_ACTIVITY), wk_views=_weekly(days, start, WEEKLY_VIEWS),
    )

    return world, (content_ids, share_rate, follow_rate, pop)


def _write_spend(path: Path, plan: _Plan, days: int, seed: int, start: _dt.date) -> None:
    rows = _spend_rows(plan, days, seed, start)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "channel", "campaign", "placement", "cost", "currency", "impressions", "reads", "clicks"])
        for d, ch, camp, pl, cents, imp, rd, cl in rows:
            w.writerow([d, ch, camp, pl, _cents_str(cents), "CNY", imp, rd, cl])



# ----------------------------------------------------------------------------- entry point

def generate(out_dir: str | Path, users: int = 50_000, days: int = 90, seed: int = 7,
             start: _dt.date = _dt.date(2026, 6, 1), progress: Callable[[int, int], None] | None = None) -> dict:
    """Write ``events.parquet`` (or ``events/part-*.parquet``), ``spend.csv`` and ``truth.json``.

    Returns the truth (as written to truth.json) plus ``"files"``: the event files written.
    ``progress(done_chunks, total_chunks)`` is called after each chunk of ~``CHUNK_USERS`` users.
    """
    if users < 1:
        raise ValueError("users must be >= 1")
    if days < 14:
        raise ValueError("days must be >= 14")
    if isinstance(start, _dt.datetime):
        start = start.date()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    plan = _plan(users, days, seed, start)
    acq = _acquire(plan, days, seed)
    S = int(acq.src.size)

    n_chunks = -(-S // CHUNK_USERS)
    bounds = [S * i // n_chunks for i in range(n_chunks + 1)] if S else [0]
    chunks = list(zip(bounds[:-1], bounds[1:]))
    n_bounce = [int(round(BOUNCERS_PER_USER * (b - a))) for a, b in chunks]
    b_off = np.concatenate([[0], np.cumsum(n_bounce)]).astype(int)

    world, content = _world(plan, days, start, seed, S, int(b_off[-1]))

    # remove our own outputs from an earlier run
    single = users <= SINGLE_FILE_MAX_USERS
    old = out / "events.parquet"
    if old.exists():
        old.unlink()
    if (out / "events").is_dir():
        for f in (out / "events").glob("part-*.parquet"):
            f.unlink()
    if not single:
        (out / "events").mkdir(exist_ok=True)

    acc = {"exp_pc": 0.0, "exp_pt": 0.0, "exp_n": [0, 0], "camp_inc": 0.0, "camp_base": 0.0,
           "events": 0, "purchases": 0, "revenue_cents": 0}
    files: list[str] = []
    writer = None
    try:
        for k, (i0, i1) in enumerate(chunks):
            table = _simulate_chunk(world, acq, k, i0, i1, int(b_off[k]), n_bounce[k], seed, acc)
            if single:
                if writer is None:
                    path = out / "events.parquet"
                    writer = pq.ParquetWriter(path, EVENTS_SCHEMA, compression="zstd")
                    files.append(str(path))
                writer.write_table(table)
            else:
                path = out / "events" / f"part-{k:05d}.parquet"
                pq.write_table(table, path, compression="zstd")
                files.append(str(path))
            del table
            if progress is not None:
                progress(k + 1, len(chunks))
        if not chunks:  # no signups at all: still write an empty file
            path = out / ("events.parquet" if single else "events/part-00000.parquet")
            pq.write_table(EVENTS_SCHEMA.empty_table(), path)
            files.append(str(path))
    finally:
        if writer is not None:
            writer.close()

    _write_spend(out / "spend.csv", plan, days, seed, start)
    truth = _truth(plan, acc, users, days, seed, start, S, world, *content)
    with open(out / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(truth, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return {**truth, "files": files}
