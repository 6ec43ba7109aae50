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

from . import content as content_ops
from .arrays import (DAY_S, DAY_US, _digits, _hex, _prefixed, _sample_tod, _strings, _take, _to_us, _uuids)
from .parameters import (BOUNCERS_PER_USER, CAMPAIGN, CAMPAIGN_LIFT, CHANNELS,
                         EXPERIMENT, NON_ACTIVATED_PURCHASE_FACTOR, N_CONTENT, OTHER_TOUCH_P,
                         OTHER_TOUCH_WEIGHTS, PAID, PLATFORMS, PLATFORM_P,
                         PURCHASE_MULTIPLIER, P_MAX, REPEAT_TOUCH_P, WEEKLY_ACTIVITY, WEEKLY_VIEWS)
from .behaviour import (_activity, _app_opens, _content_events, _exposure_activation_views, _purchases,
                        _truth_sums, _user_traits)
from .parameters import E_AD_CLICK, E_LANDING, E_SIGNUP, EVENT_NAMES
from .plan import _Plan, _cents_str, _plan, _spend_rows, _weekly
from .truth import _truth
from .campaigns import COUPON_VALUES, extend_truth, held_out, second_factor, second_truth_sums
from ..errors import Text

__all__ = ["generate", "EVENTS_SCHEMA", "CHUNK_USERS", "SINGLE_FILE_MAX_USERS"]

CHUNK_USERS = 100_000
SINGLE_FILE_MAX_USERS = 200_000

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
        self.coupon_off = len(props)                               # campaign purchases: platform x coupon value
        props += [{"platform": p, "campaign": CAMPAIGN, "coupon": v} for p in PLATFORMS for v in COUPON_VALUES]
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
    content_ops: object = None            # demo/content.py: catalogue, growth curves, planted pieces


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

    # ---- per-user traits and the activity matrix (who is active on which day)
    d0 = ts // DAY_US
    tod_s = (ts - d0 * DAY_US) / 1e6
    u = _user_traits(rng, world, ch_u, d0, n)
    activated, d_a = u.activated, u.d_a
    lam_views, treat, base_p = u.lam_views, u.treat, u.base_p
    u.held = held_out(user_ids)
    uu, pd, exposed, d_e = _activity(rng, world, u, d0, ar)
    is_signup_day = pd == d0[uu]
    lb = np.where(is_signup_day, tod_s[uu], 0.0)

    t_exp, exp_us, is_exp_day, t_act, is_act_day, cv, t_cv, in_camp, e_idx = _exposure_activation_views(
        rng, world, u, uu, pd, lb, d0, tod_s, exposed, d_e, plat, part)

    # ---- purchase probabilities (day level)
    p0 = base_p[uu] * np.where(activated[uu] & (pd > d_a[uu]), 1.0, NON_ACTIVATED_PURCHASE_FACTOR)
    camp_f = np.where(cv, 1.0 + CAMPAIGN_LIFT, 1.0)
    after_exp = exposed[uu] & (pd >= d_e[uu])
    treat_f = np.where(after_exp & treat[uu], PURCHASE_MULTIPLIER, 1.0)
    c2_f, in_c2 = second_factor(world, plat, uu, pd)
    p = np.minimum(p0 * camp_f * c2_f * treat_f, P_MAX)

    _truth_sums(acc, uu, pd, p, p0, camp_f * c2_f, treat_f, after_exp, in_camp, d_e, t_exp, treat, e_idx)
    second_truth_sums(acc, p, c2_f, in_c2)

    # ---- purchases
    buy, t_buy = _purchases(rng, uu, pd, p, lb, cv, is_exp_day, t_exp, exp_us, plat, dicts, part, acc)

    # ---- app opens: 1-3 per active day; the first one precedes everything else that day
    o_start, o_t, n_open = _app_opens(rng, uu, pd, lb, t_cv, buy, t_buy, is_exp_day, t_exp, is_act_day, t_act,
                                      plat, dicts, part)

    # ---- content views, shares, follows
    _content_events(rng, world, uu, pd, o_start, o_t, n_open, lam_views, plat, dicts, part)

    # ---- assemble
    table, total = _assemble(parts, world, rng, distinct_dict, user_ids)
    table = content_ops.add_referrals(table, world.content_ops, world.dicts.content, rng, world.start_us)
    acc["events"] += total
    return table


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
    cw, share_rate, follow_rate = content_ops.build(seed, days, pop)

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
        wk_act=_weekly(days, start, WEEKLY_ACTIVITY), wk_views=_weekly(days, start, WEEKLY_VIEWS), content_ops=cw,
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
             start: _dt.date = _dt.date(2026, 6, 1), progress: Callable[[int, int], None] | None = None,
             lang: str = "zh-Hans") -> dict:
    """Write ``events.parquet`` (or ``events/part-*.parquet``), ``spend.csv``, ``content.csv`` and ``truth.json``.

    Returns the truth (as written to truth.json) plus ``"files"``: the event files written.
    ``progress(done_chunks, total_chunks)`` is called after each chunk of ~``CHUNK_USERS`` users. ``lang``: the
    language of the content catalogue's topics, titles and authors (the events are the same in every language).
    """
    if users < 1:
        raise ValueError(Text("demo.generator.users_must_1"))
    if days < 14:
        raise ValueError(Text("demo.generator.days_must_14"))
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
    content_ops.write_catalogue(out / "content.csv", world.content_ops, content[0], start, lang)
    truth["content_ops"] = content_ops.truth(world.content_ops, content[0], start, {
        ch: v["expected_registrations"] for ch, v in truth["channels"].items()}, lang)
    extend_truth(truth, acc, world, users)
    with open(out / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(truth, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return {**truth, "files": files}
