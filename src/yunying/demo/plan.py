"""The spend plan of the demo: sources (placements, organic, referral), daily cost and the
response curve of each channel, and the spend.csv rows."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

from .parameters import (CHANNELS, PAID, SATURATION, SIGNUP_SHARE, TARGET_CPR, WEEKLY_FREE, WEEKLY_SPEND)



@dataclass
class _Source:
    """A place a user can come from: a paid placement, or the organic / referral pseudo-source."""
    id: str
    channel: str
    campaign: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    placement: str | None
    date: int | None                 # day index of a single-day slot
    cost_cents: np.ndarray           # (days,) int64
    base_share: float = 1.0          # share of the channel's typical spend (search/feed)


@dataclass
class _Plan:
    sources: list[_Source]
    src_channel: np.ndarray          # (nsrc,) channel code
    regs: np.ndarray                 # (days, nsrc) realised registrations by first-touch day/source
    expected: np.ndarray             # (days, nsrc) expected registrations
    response: dict                   # channel -> (a, h)


def _weekly(days: int, start: _dt.date, factors) -> np.ndarray:
    dow = (start.weekday() + np.arange(days)) % 7
    return np.asarray(factors, dtype=float)[dow]


def _round_cost(x: np.ndarray, coarse: bool) -> np.ndarray:
    """Cents; slot prices are quoted in whole tens of CNY when large."""
    if coarse:
        return np.maximum(np.round(x / 10.0), 1).astype(np.int64) * 1000
    return np.maximum(np.round(x * 100.0), 1).astype(np.int64)


def _plan(users: int, days: int, seed: int, start: _dt.date) -> _Plan:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    sources: list[_Source] = []
    zeros = lambda: np.zeros(days, dtype=np.int64)  # noqa: E731
    target = {c: SIGNUP_SHARE[c] * users for c in CHANNELS}

    # always-on search / feed
    for ch, src, med, places in (
        ("search", "baidu", "cpc", (("search_brand", "sem_brand", 0.35), ("search_generic", "sem_generic", 0.65))),
        ("feed", "douyin", "feed", (("feed_main", "feed_prospecting", 0.75), ("feed_retarget", "feed_retargeting", 0.25))),
    ):
        base = TARGET_CPR[ch] * target[ch] / days
        wk = _weekly(days, start, WEEKLY_SPEND[ch])
        for pid, camp, share in places:
            cost = base * share * wk * rng.lognormal(-0.18**2 / 2, 0.18, days)
            sources.append(_Source(pid, ch, camp, src, med, camp, pid, None, _round_cost(cost, False), share))

    # single-day slots
    for ch, n_slots, sigma, camp, prefix in (("wechat", max(2, round(days / 7)), 0.35, "wechat_articles", "wx_acct_"),
                                             ("kol", max(2, round(days / 9)), 0.5, "kol_seeding", "kol_")):
        dates = np.sort(rng.choice(days, size=min(n_slots, days), replace=False))
        mean_cost = TARGET_CPR[ch] * target[ch] / len(dates)
        w = rng.lognormal(0.0, sigma, len(dates))
        costs = _round_cost(mean_cost * len(dates) * w / w.sum(), mean_cost >= 2000)
        kol_src = rng.choice(["bilibili", "xiaohongshu"], size=len(dates))
        for i, (d, c) in enumerate(zip(dates, costs)):
            cc = zeros()
            cc[d] = c
            us, med = ("wechat", "article") if ch == "wechat" else (str(kol_src[i]), "video")
            sources.append(_Source(f"{prefix}{i + 1:02d}", ch, camp, us, med, camp, f"{prefix}{i + 1:02d}", int(d), cc))

    sources.append(_Source("organic", "organic", None, None, None, None, None, None, zeros()))
    sources.append(_Source("referral", "referral", None, "referral", "invite", "invite_friends", None, None, zeros()))
    nsrc = len(sources)
    src_channel = np.array([CHANNELS.index(s.channel) for s in sources], dtype=np.int8)

    expected = np.zeros((days, nsrc))
    regs = np.zeros((days, nsrc), dtype=np.int64)
    response = {}
    for ci, ch in enumerate(CHANNELS):
        idx = np.flatnonzero(src_channel == ci)
        if ch in PAID:
            cents = np.stack([sources[i].cost_cents for i in idx], axis=1)      # (days, k)
            spend = cents.sum(axis=1) / 100.0
            typical = spend[spend > 0].mean() if ch in ("wechat", "kol") else TARGET_CPR[ch] * target[ch] / days
            h = typical / SATURATION[ch]
            shape = np.log1p(spend / h)
            a = target[ch] / shape.sum()
            response[ch] = (float(a), float(h))
            lam = a * shape
            n_day = rng.poisson(lam)
            share = np.divide(cents, cents.sum(axis=1, keepdims=True), out=np.zeros(cents.shape),
                              where=cents.sum(axis=1, keepdims=True) > 0)
            expected[:, idx] = lam[:, None] * share
            remaining = n_day.copy()
            rest = np.ones(days)
            for j in range(len(idx) - 1):        # sequential binomial split = multinomial
                pj = np.divide(share[:, j], rest, out=np.zeros(days), where=rest > 1e-12)
                x = rng.binomial(remaining, np.clip(pj, 0.0, 1.0))
                regs[:, idx[j]] = x
                remaining -= x
                rest = rest - share[:, j]
            regs[:, idx[-1]] = remaining
        else:
            w = _weekly(days, start, WEEKLY_FREE)
            if ch == "referral":
                w = w * (1.0 + 0.6 * np.arange(days) / days)
            lam = target[ch] * w / w.sum()
            expected[:, idx[0]] = lam
            regs[:, idx[0]] = rng.poisson(lam)
    return _Plan(sources, src_channel, regs, expected, response)


def _spend_rows(plan: _Plan, days: int, seed: int, start: _dt.date) -> list[tuple]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    rows = []
    funnel = {  # (cpc or cost per read, ctr or read rate) per placement kind
        "search_brand": (1.5, 0.08), "search_generic": (2.8, 0.03), "feed_main": (0.9, 0.012), "feed_retarget": (1.2, 0.02),
    }
    for si, s in enumerate(plan.sources):
        if s.channel not in PAID:
            continue
        days_idx = np.flatnonzero(s.cost_cents > 0)
        cost = s.cost_cents[days_idx] / 100.0
        k = len(days_idx)
        regs = plan.regs[days_idx, si]
        if s.channel in ("search", "feed"):
            cpc, ctr = funnel[s.id]
            clicks = np.round(cost / cpc * rng.lognormal(0, 0.1, k)).astype(np.int64)
            clicks = np.maximum(clicks, regs)
            reads = clicks.copy()
            impressions = np.round(clicks / (ctr * rng.lognormal(0, 0.1, k))).astype(np.int64)
        elif s.channel == "wechat":
            reads = np.round(cost / (0.6 * rng.lognormal(0, 0.25, k))).astype(np.int64)
            clicks = np.maximum(np.round(reads * rng.uniform(0.05, 0.09, k)).astype(np.int64), regs)
            impressions = np.round(reads / rng.uniform(0.08, 0.15, k)).astype(np.int64)
        else:
            reads = np.round(cost / (0.15 * rng.lognormal(0, 0.3, k))).astype(np.int64)
            clicks = np.maximum(np.round(reads * rng.uniform(0.006, 0.012, k)).astype(np.int64), regs)
            impressions = np.round(reads / rng.uniform(0.2, 0.4, k)).astype(np.int64)
        reads = np.maximum(reads, clicks)
        impressions = np.maximum(impressions, reads)
        for j, d in enumerate(days_idx):
            rows.append(((start + _dt.timedelta(days=int(d))).isoformat(), s.channel, s.campaign, s.placement,
                         int(s.cost_cents[d]), int(impressions[j]), int(reads[j]), int(clicks[j])))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return rows


def _cents_str(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}"
