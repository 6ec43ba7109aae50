"""Hand-worked cases for every attribution model, and properties that hold for any path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yunying.analyses.acquisition.models import (MODELS, attribute, collapse_touches, markov_removal_effects, touch_weights)

CONV = pd.Timestamp("2026-06-20 12:00")


def path(user, keys_ages, conv=CONV):
    """Touch rows for one user: [(key, days before conversion), ...] in time order."""
    return pd.DataFrame({"user_id": user, "key": [k for k, _ in keys_ages],
                         "ts": [conv - pd.Timedelta(days=a) for _, a in keys_ages], "conv_ts": conv})


def credits(df, model, **kw):
    out = attribute(df, model, **kw)
    return {(r.user_id, r.key): r.credit for r in out.itertuples()}


THREE = path("a", [("search", 10), ("feed", 4), ("kol", 1)])


def test_first_last_linear_by_hand():
    assert credits(THREE, "first") == {("a", "search"): 1.0}
    assert credits(THREE, "last") == {("a", "kol"): 1.0}
    c = credits(THREE, "linear")
    assert c == pytest.approx({("a", "search"): 1 / 3, ("a", "feed"): 1 / 3, ("a", "kol"): 1 / 3})


def test_time_decay_by_hand():
    # half-life 7 days: weights 2^(-10/7)=0.371499, 2^(-4/7)=0.672950, 2^(-1/7)=0.905724; sum 1.950172
    c = credits(THREE, "time_decay", half_life_days=7)
    assert c[("a", "search")] == pytest.approx(0.190495, abs=1e-6)
    assert c[("a", "feed")] == pytest.approx(0.345072, abs=1e-6)
    assert c[("a", "kol")] == pytest.approx(0.464433, abs=1e-6)
    # half-life 1 day: 2^-10, 2^-4, 2^-1 -> 0.000976562, 0.0625, 0.5 / 0.563477
    c1 = credits(THREE, "time_decay", half_life_days=1)
    assert c1[("a", "kol")] == pytest.approx(0.5 / 0.5634766, abs=1e-6)


def test_position_by_hand():
    assert credits(THREE, "position") == pytest.approx({("a", "search"): 0.4, ("a", "feed"): 0.2, ("a", "kol"): 0.4})
    four = path("b", [("search", 9), ("feed", 7), ("wechat", 3), ("kol", 1)])
    assert credits(four, "position") == pytest.approx(
        {("b", "search"): 0.4, ("b", "feed"): 0.1, ("b", "wechat"): 0.1, ("b", "kol"): 0.4})
    two = path("c", [("search", 3), ("kol", 1)])
    assert credits(two, "position") == pytest.approx({("c", "search"): 0.5, ("c", "kol"): 0.5})
    assert credits(two, "position", position_shares=(0.3, 0.5)) == pytest.approx(
        {("c", "search"): 0.375, ("c", "kol"): 0.625})
    one = path("d", [("feed", 2)])
    for m in ("first", "last", "linear", "time_decay", "position", "markov"):
        assert credits(one, m) == pytest.approx({("d", "feed"): 1.0})


def test_last_non_direct_skips_direct_touches():
    p = path("e", [("search", 5), ("direct/unknown", 2), ("direct/unknown", 1)])
    w = touch_weights(p, "last", direct=(p["key"] == "direct/unknown").to_numpy())
    assert list(w) == [1.0, 0.0, 0.0]
    only_direct = path("f", [("direct/unknown", 2)])
    assert list(touch_weights(only_direct, "last", direct=np.array([True]))) == [1.0]


def test_same_key_twice_is_summed_per_key():
    p = path("g", [("search", 5), ("feed", 3), ("search", 1)])
    assert credits(p, "linear") == pytest.approx({("g", "search"): 2 / 3, ("g", "feed"): 1 / 3})
    assert credits(p, "position") == pytest.approx({("g", "search"): 0.8, ("g", "feed"): 0.2})


def test_markov_removal_effect_by_hand():
    # paths: A -> conv, A -> B -> conv, B -> null
    # P(S->A)=2/3, P(S->B)=1/3, P(A->conv)=P(A->B)=1/2, P(B->conv)=P(B->null)=1/2
    # P(conv) = 2/3 * 3/4 + 1/3 * 1/2 = 2/3
    # without A: 1/3 * 1/2 = 1/6  -> removal effect 1 - (1/6)/(2/3) = 3/4
    # without B: 2/3 * 1/2 = 1/3  -> removal effect 1 - (1/3)/(2/3) = 1/2
    conv = pd.DataFrame({"user_id": ["u1", "u2", "u2"], "key": ["A", "A", "B"]})
    null = pd.DataFrame({"user_id": ["n1"], "key": ["B"]})
    eff = markov_removal_effects(conv, null)
    assert eff == pytest.approx({"A": 0.75, "B": 0.5})
    # user u2's credit is split 0.75 : 0.5 -> 0.6 / 0.4; u1 has only A
    paths = pd.concat([path("u1", [("A", 2)]), path("u2", [("A", 3), ("B", 1)])], ignore_index=True)
    c = credits(paths, "markov", nonconverting=null)
    assert c == pytest.approx({("u1", "A"): 1.0, ("u2", "A"): 0.6, ("u2", "B"): 0.4})


def test_markov_formula_matches_brute_force_removal():
    rng = np.random.default_rng(3)
    keys = list("ABCDE")
    rows, nrows = [], []
    for i in range(400):
        n = rng.integers(1, 5)
        ks = rng.choice(keys, n, p=[0.35, 0.25, 0.2, 0.15, 0.05])
        (rows if rng.random() < 0.6 else nrows).extend({"user_id": f"x{i}", "key": k} for k in ks)
    conv, null = pd.DataFrame(rows), pd.DataFrame(nrows)
    eff = markov_removal_effects(conv, null)

    # brute force: build the chain, then for each key redirect transitions into it to null and solve
    def chain(df, conv_flag):
        out = []
        for _, g in df.groupby("user_id", sort=False):
            seq = [k for i, k in enumerate(g["key"]) if i == 0 or k != g["key"].iloc[i - 1]]
            out.append(["S", *seq, "CONV" if conv_flag else "NULL"])
        return out

    seqs = chain(conv, True) + chain(null, False)
    states = ["S", *keys, "CONV", "NULL"]
    idx = {s: i for i, s in enumerate(states)}
    C = np.zeros((len(states), len(states)))
    for s in seqs:
        for a, b in zip(s, s[1:]):
            C[idx[a], idx[b]] += 1

    def p_conv(removed=None):
        P = np.zeros_like(C)
        for i in range(len(states)):
            tot = C[i].sum()
            if tot:
                P[i] = C[i] / tot
        if removed is not None:
            r = idx[removed]
            P[:, idx["NULL"]] += P[:, r]
            P[:, r] = 0
        P[idx["CONV"], idx["CONV"]] = 1
        P[idx["NULL"], idx["NULL"]] = 1
        return np.linalg.matrix_power(P, 400)[idx["S"], idx["CONV"]]

    base = p_conv()
    for k in keys:
        assert eff[k] == pytest.approx(1 - p_conv(k) / base, abs=1e-6)


def test_collapse_same_touch_within_gap():
    t0 = pd.Timestamp("2026-06-01 10:00")
    df = pd.DataFrame({
        "user_id": ["a", "a", "a", "a", "b", "b", "b"],
        "ts": [t0, t0 + pd.Timedelta(minutes=10), t0 + pd.Timedelta(minutes=35), t0 + pd.Timedelta(hours=3),
               t0, t0 + pd.Timedelta(minutes=5), t0 + pd.Timedelta(minutes=10)],
        "channel": ["search", "search", "search", "search", "search", "feed", "search"],
    })
    out = collapse_touches(df, ["channel"], 30)
    # a: a click, its landing 10 min later and another 25 min after that are one visit; 3 h later is a new touch
    assert list(out.loc[out.user_id == "a", "ts"]) == [t0, t0 + pd.Timedelta(hours=3)]
    # b: search, feed, search — different keys in between: three touches
    assert len(out[out.user_id == "b"]) == 3


_paths = st.lists(st.lists(st.tuples(st.sampled_from(["s", "f", "k", "w", "direct/unknown"]),
                                     st.floats(0, 29, allow_nan=False)), min_size=1, max_size=6),
                  min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(_paths, st.sampled_from(MODELS), st.floats(0.1, 30))
def test_credits_sum_to_one_per_user(paths, model, half_life):
    frames = []
    for i, p in enumerate(paths):
        p = sorted(p, key=lambda x: -x[1])
        frames.append(path(f"u{i}", p))
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
    w = touch_weights(df, model, half_life_days=half_life, direct=(df["key"] == "direct/unknown").to_numpy())
    assert np.all(w >= -1e-12)
    sums = pd.Series(w).groupby(df["user_id"]).sum()
    assert np.allclose(sums.to_numpy(), 1.0)


def test_unknown_model_is_a_spec_error():
    from yunying.errors import SpecError

    with pytest.raises(SpecError):
        touch_weights(THREE, "shapley")
