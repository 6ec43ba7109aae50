"""Funnel ties (issue #19, item 3): events at one instant have no order, so an attempt may use them in
whichever order advances it furthest (docs/definitions.md#funnels, "Ties").

Checked against a brute-force reference that literally tries every ordering of every group of tied
events: per attempt, the no-tie definition is applied to each ordering and the ordering that advances
the attempt furthest (then reaches each step earliest) is kept. Random small logs with many ties; every
funnel mode (ordered, strict, unordered), several windows, exclusions and repeat counting.
"""
from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from yunying.analyses.funnel import FunnelSpec, funnel

from analytics_helpers import T0, make_ws

NAMES = ["A", "B", "C", "X"]


# ----------------------------------------------------------------------------- the reference

def orderings(evs):
    """Every ordering of the events (name, t, id) that keeps time order: ties permuted in all ways."""
    groups = [list(g) for _, g in itertools.groupby(sorted(evs, key=lambda e: e[1]), key=lambda e: e[1])]
    for combo in itertools.product(*(list(itertools.permutations(g)) for g in groups)):
        yield [e for g in combo for e in g]


def attempt_in(seq, i, steps, w, mode, used):
    """The no-tie definition on one ordering: the attempt starting at position ``i``."""
    t0 = seq[i][1]
    pos = [i]
    for k in range(1, len(steps)):
        if mode == "strict":
            j = pos[-1] + 1
            ok = j < len(seq) and seq[j][0] == steps[k] and seq[j][2] not in used and seq[j][1] - t0 <= w
            if not ok:
                break
        else:
            j = next((j for j in range(pos[-1] + 1, len(seq)) if seq[j][0] == steps[k] and seq[j][2] not in used
                      and seq[j][1] - t0 <= w), None)
            if j is None:
                break
        pos.append(j)
    return [seq[p] for p in pos]


def best_attempt(evs, start, steps, w, mode, used):
    """Over every ordering of the ties: the attempt from event ``start`` that gets furthest, then earliest."""
    best = None
    for seq in orderings(evs):
        i = next(p for p, e in enumerate(seq) if e[2] == start[2])
        att = attempt_in(seq, i, steps, w, mode, used)
        key = (-len(att), [e[1] for e in att])
        if best is None or key < best[0]:
            best = (key, att)
    return best[1]


def void(evs, att, w, exclusions):
    """Exclusion rule on the attempt's step times; an exclusion at the instant of step FROM or TO is not
    between them (ties are placed outside)."""
    lvl, t0 = len(att), att[0][1]
    for name, f, to in exclusions:
        if lvl <= f:
            continue
        hits = [t for n, t, _ in evs if n == name and t > att[f][1]]
        if not hits:
            continue
        if (min(hits) < att[to][1]) if lvl > to else (min(hits) <= t0 + w):
            return True
    return False


def reference(evs, steps, w, mode, exclusions=(), repeat=False):
    """Counted attempts: (level, step times) of the user's best attempt, or every attempt in repeat mode."""
    starts = sorted((e for e in evs if e[0] == steps[0]), key=lambda e: e[1])
    used: set = set()
    out = []
    for s in starts:
        if s[2] in used:
            continue
        att = best_attempt(evs, s, steps, w, mode, used if repeat else set())
        if void(evs, att, w, exclusions):
            continue
        if repeat:
            used.update(e[2] for e in att)
        out.append((len(att), [e[1] for e in att]))
    if repeat or not out:
        return out
    # the user's attempt: furthest level, then reached first, then the latest start
    return [min(out, key=lambda a: (-a[0], a[1][-1], -a[1][0]))]


def unordered_level(evs, steps, w):
    best = 0
    for _, t, _ in evs:
        inside = [n for n, s, _ in evs if t <= s <= t + w]
        if any(n in steps for n, s, _ in evs if s == t):
            best = max(best, sum(min(inside.count(d), steps.count(d)) for d in set(steps)))
    return best


# ----------------------------------------------------------------------------- random logs

def random_users(seed, users=70):
    rng = np.random.default_rng(seed)
    out = {}
    for u in range(users):
        n = int(rng.integers(1, 7))
        times = rng.integers(0, 4, size=n) * 600  # four instants: ties everywhere
        names = rng.choice(NAMES, size=n, p=[0.35, 0.3, 0.2, 0.15])
        evs = [(str(a), int(t), i) for i, (a, t) in enumerate(zip(names, times))]
        # at most 4 events per instant keeps the orderings enumerable
        if max(np.bincount(times)) <= 4:
            out[f"u{u:03d}"] = evs
    return out


@pytest.fixture(scope="module")
def data():
    out = []
    for seed in (7, 8, 9):
        users = random_users(seed)
        rows = [(u, n, T0 + dt.timedelta(seconds=t)) for u, evs in users.items() for n, t, _ in evs]
        out.append((users, make_ws(rows)))
    yield out
    for _, ws in out:
        ws.close()


def got_attempts(result, n_steps):
    a = result.attempts
    out = {}
    for r in a.itertuples(index=False):
        d = r._asdict()
        times = [int((d[f"step_{k + 1}_at"] - pd.Timestamp(T0)).total_seconds()) for k in range(int(d["level"]))]
        out[d["user_id"]] = (int(d["level"]), times)
    return out


STEPSETS = [["A", "B", "C"], ["A", "A", "B"], ["B", "A", "B"], ["A", "B", "A", "B"], ["C", "A"]]
WINDOWS = [0, 600, 1800]


@pytest.mark.parametrize("steps", STEPSETS)
@pytest.mark.parametrize("mode", ["ordered", "strict"])
@pytest.mark.parametrize("w", WINDOWS)
def test_counted_attempt_matches_brute_force(data, steps, mode, w):
    if w == 0:  # the smallest window the spec takes; on a 10-minute grid it only joins ties
        w = 1
    for users, ws in data:
        got = got_attempts(funnel(ws.engine, FunnelSpec(steps=steps, window=f"{w}s", order=mode)), len(steps))
        want = {}
        for u, evs in users.items():
            ref = reference(evs, steps, w, mode)
            if ref:
                want[u] = ref[0]
        assert got == want, (steps, mode, w)


@pytest.mark.parametrize("steps", STEPSETS[:4])
@pytest.mark.parametrize("w", [1, 1800])
def test_unordered_matches_brute_force(data, steps, w):
    for users, ws in data:
        r = funnel(ws.engine, FunnelSpec(steps=steps, window=f"{w}s", order="unordered"))
        got = dict(zip(r.attempts["user_id"], r.attempts["level"].astype(int)))
        want = {u: lv for u, evs in users.items() if (lv := unordered_level(evs, steps, w))}
        assert got == want


@pytest.mark.parametrize("steps,exclusions,mode", [
    (["A", "B", "C"], [("X", 0, 2)], "ordered"),
    (["A", "A", "B"], [("X", 1, 2)], "ordered"),
    (["A", "B", "A"], [("X", 0, 1)], "ordered"),
    (["A", "B", "C"], [("X", 1, 2)], "strict"),
])
def test_exclusions_match_brute_force(data, steps, exclusions, mode):
    w = 1800
    spec = FunnelSpec(steps=steps, window=f"{w}s", order=mode,
                      exclusions=[{"event": e, "from_step": f + 1, "to_step": t + 1} for e, f, t in exclusions])
    for users, ws in data:
        got = got_attempts(funnel(ws.engine, spec), len(steps))
        want = {}
        for u, evs in users.items():
            ref = reference(evs, steps, w, mode, exclusions)
            if ref:
                want[u] = ref[0]
        assert got == want


@pytest.mark.parametrize("steps", [["A", "B"], ["A", "A", "B"], ["A", "B", "A"]])
@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_repeat_matches_brute_force(data, steps, mode):
    w = 1800
    for users, ws in data:
        r = funnel(ws.engine, FunnelSpec(steps=steps, window=f"{w}s", order=mode, repeat=True))
        levels = [lv for evs in users.values() for lv, _ in reference(evs, steps, w, mode, repeat=True)]
        assert r.frame["count"].tolist() == [sum(1 for lv in levels if lv >= k) for k in range(1, len(steps) + 1)]


# ----------------------------------------------------------------------------- hand-worked cases

def test_posthog_same_timestamp_repeated_steps():
    """PostHog's ``test_events_same_timestamp_no_exclusions``: ten steps over events at one instant, each
    step's event present as often as the steps use it. Every step is reached (yunying used to say 2)."""
    steps = ["one", "two", "two", "four", "four", "six", "two", "four", "six", "one"]
    at = T0 + dt.timedelta(hours=1)
    rows = [("p", name, at) for name in steps]  # one event per use of it, all at the same instant
    ws = make_ws(rows)
    try:
        r = funnel(ws.engine, FunnelSpec(steps=steps, window="14d"))
        assert r.frame["count"].tolist() == [1] * 10
        strict = funnel(ws.engine, FunnelSpec(steps=steps, window="14d", order="strict"))
        assert strict.frame["count"].tolist() == [1] * 10
    finally:
        ws.close()


def test_repeated_step_times_come_from_the_counted_attempt():
    """A, A, B: the counted attempt is the furthest, then the first to complete, then the latest start;
    the time to convert and the dropped-user times are that attempt's."""
    m = lambda x: T0 + dt.timedelta(minutes=x)  # noqa: E731
    rows = [("u", "A", m(0)), ("u", "A", m(10)), ("u", "A", m(30)), ("u", "B", m(60)),
            # v: the attempt from 0 completes at 20; the one from 5 would complete at 20 too: latest start
            ("v", "A", m(0)), ("v", "A", m(5)), ("v", "A", m(15)), ("v", "B", m(20)),
            # w: drops after step 2; its best attempt (latest start among those reaching 2 first)
            ("w", "A", m(0)), ("w", "A", m(40)), ("w", "A", m(50))]
    ws = make_ws(rows)
    try:
        r = funnel(ws.engine, FunnelSpec(steps=["A", "A", "B"], window="1h"))
        got = got_attempts(r, 3)
        # u: attempt from 0: A@10, B@60; from 10: A@30, B@60 (same completion) -> latest start, 10
        assert got["u"] == (3, [600, 1800, 3600])
        assert got["v"] == (3, [300, 900, 1200])
        assert got["w"] == (2, [0, 2400])  # 0 -> 40 reaches step 2 first
        steps = r.to_dict()["steps"]
        assert steps[2]["avg_seconds_from_previous"] == pytest.approx((1800 + 300) / 2)
        assert steps[2]["median_seconds_from_start"] == pytest.approx((3000 + 900) / 2)
        assert steps[1]["avg_seconds_from_start"] == pytest.approx((1200 + 600 + 2400) / 3)
        dropped = r.dropped_after(2)
        assert dropped["user_id"].tolist() == ["w"]
        assert dropped["last_step_at"].tolist() == [pd.Timestamp(m(40))]
    finally:
        ws.close()
