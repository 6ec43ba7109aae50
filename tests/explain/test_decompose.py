"""The pure maths of stats/decompose.py: exactness (property tests), independent second implementations,
zeros and negatives, and the hand-worked example of docs/explain.md."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from yunying.stats import decompose as D

positive = st.floats(min_value=1e-3, max_value=100, allow_nan=False, allow_infinity=False)
anything = st.one_of(st.just(0.0), st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False))


def _exact(parts, total, scale: float = 0.0) -> bool:
    """Parts add up to the total up to the rounding of the largest number involved (parts may be far larger
    than the total when they cancel; ``scale``: the inputs the total was computed from), and within a cent."""
    err = abs(math.fsum(parts) - total)
    return err <= 1e-12 * max(1.0, float(np.abs(parts).max(initial=0.0)), abs(total), scale) and err < 0.005


def _pair(elements, n_min=1, n_max=6):
    return st.integers(n_min, n_max).flatmap(
        lambda n: st.tuples(st.lists(elements, min_size=n, max_size=n), st.lists(elements, min_size=n, max_size=n)))


@settings(max_examples=300, deadline=None)
@given(_pair(positive))
def test_lmdi_adds_up_exactly(pair):
    x0, x1 = map(np.array, pair)
    c = D.lmdi(x0, x1)
    total = np.prod(x1) - np.prod(x0)
    assert abs(math.fsum(c) - total) <= 1e-9 * max(1.0, float(np.abs(c).max()), abs(total))  # before closing
    # time reversal: going back undoes the contributions
    assert np.allclose(D.lmdi(x1, x0), -c, rtol=1e-9, atol=1e-9)
    # closed on the total: to the last cent and beyond
    closed, method = D.factors(x0, x1)
    assert method == "lmdi" and _exact(closed, total)


@settings(max_examples=300, deadline=None)
@given(_pair(anything, 1, 5))
def test_zeros_and_negatives_fall_back_to_shapley_exactly(pair):
    x0, x1 = map(np.array, pair)
    c, method = D.factors(x0, x1)
    total = float(np.prod(x1) - np.prod(x0))
    assert _exact(c, total)
    if np.any(x0 <= 0) or np.any(x1 <= 0):
        assert method == "shapley"


def _shapley_by_orders(x0, x1):
    """Second implementation: the average over every order of switching factors from old to new values."""
    k = len(x0)
    out = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        vals = list(x0)
        for j in order:
            before = math.prod(vals)
            vals[j] = x1[j]
            out[j] += math.prod(vals) - before
    return out / len(orders)


@settings(max_examples=200, deadline=None)
@given(_pair(anything, 1, 5))
def test_shapley_matches_the_average_over_orders(pair):
    x0, x1 = pair
    assert np.allclose(D.shapley(x0, x1), _shapley_by_orders(x0, x1), rtol=1e-9, atol=1e-6)


@settings(deadline=None)  # no timing in unit tests: a loaded machine must not fail it
@given(_pair(positive, 2, 5), st.data())
def test_one_factor_moved_gets_the_whole_change(pair, data):
    x0 = np.array(pair[0])
    j = data.draw(st.integers(0, len(x0) - 1))
    x1 = x0.copy()
    x1[j] *= data.draw(st.floats(0.1, 10))
    for c in (D.factors(x0, x1)[0], D.shapley(x0, x1)):
        assert c[j] == pytest.approx(np.prod(x1) - np.prod(x0), rel=1e-9)
        assert np.allclose(np.delete(c, j), 0.0, atol=1e-9 * max(1.0, abs(np.prod(x0))))


def test_two_factor_shapley_is_the_midpoint_rule():
    a0, b0, a1, b1 = 3.0, 5.0, 4.0, 2.0
    assert np.allclose(D.shapley([a0, b0], [a1, b1]), [(a1 - a0) * (b0 + b1) / 2, (b1 - b0) * (a0 + a1) / 2])


# per part: base (a number of users) in both ranges, then the value (money) in both ranges
parts = st.integers(1, 6).flatmap(lambda n: st.tuples(
    *[st.lists(st.integers(0, 10_000), min_size=n, max_size=n)] * 2,
    *[st.lists(st.floats(0, 1e6), min_size=n, max_size=n)] * 2))


@settings(max_examples=300, deadline=None)
@given(parts)
def test_mix_plus_rate_adds_up_to_the_change(p):
    b0, b1, y0, y1 = map(np.array, p)
    mix, rate = D.mix_rate(b0, b1, y0, y1)
    assert _exact(mix + rate, y1.sum() - y0.sum(), scale=max(y0.sum(), y1.sum()))
    assert np.allclose(mix + rate, y1 - y0, rtol=1e-9, atol=1e-6)


@settings(max_examples=300, deadline=None)
@given(parts)
def test_ratio_mix_plus_rate_adds_up_to_the_change_of_the_ratio(p):
    b0, b1, y0, y1 = map(np.array, p)
    b0, b1 = b0 + 1.0, b1 + 1.0   # a ratio needs a base in both ranges
    mix, rate = D.mix_rate(b0, b1, y0, y1, ratio=True)
    change = y1.sum() / b1.sum() - y0.sum() / b0.sum()
    assert _exact(mix + rate, change, scale=max(y0.sum(), y1.sum()))


def test_ratio_parts_moving_in_step_have_no_mix_effect():
    # every part keeps its rate; the base moves from a good part to a bad one: all mix, no rate
    mix, rate = D.mix_rate([50, 50], [20, 80], [25, 5], [10, 8], ratio=True)
    assert np.allclose(rate, 0) and math.fsum(mix) == pytest.approx(18 / 100 - 30 / 100)
    assert mix[0] < 0 and mix[1] < 0   # fewer in the good part, more in the bad part: both pull down


def test_close_refuses_a_real_residual():
    with pytest.raises(ArithmeticError):
        D.close([1.0, 2.0], 4.0)
    assert math.fsum(D.close([0.1, 0.2], 0.3)) == 0.3


def test_hand_worked_example_of_the_docs():
    """docs/explain.md#a-hand-worked-example: revenue = active users × pay rate × ARPPU,
    1,000 × 5 % × 200 = 10,000 → 1,100 × 4 % × 250 = 11,000."""
    c, method = D.factors([1000, 0.05, 200], [1100, 0.04, 250])
    L = (11000 - 10000) / math.log(11000 / 10000)          # 10,492.06
    assert method == "lmdi"
    assert [round(v, 2) for v in c] == [1000.00, -2341.24, 2341.24]  # as written in the docs
    assert L == pytest.approx(10492.06, abs=0.01)
    assert c[0] == pytest.approx(L * math.log(1.1)) and c[1] == pytest.approx(L * math.log(0.8))
    assert round(math.fsum(c), 2) == 1000.00


def test_sector_form_follows_ang_2005_table_1():
    """Ang (2005), Energy Policy 33: 867–871, Table 1, additive LMDI-I for energy consumption
    E = Σᵢ Q · Sᵢ · Iᵢ (activity, structure, intensity): ΔE_act = Σᵢ L(Eᵢᵀ, Eᵢ⁰) ln(Qᵀ/Q⁰),
    ΔE_str = Σᵢ L(Eᵢᵀ, Eᵢ⁰) ln(Sᵢᵀ/Sᵢ⁰), ΔE_int = Σᵢ L(Eᵢᵀ, Eᵢ⁰) ln(Iᵢᵀ/Iᵢ⁰). The paper's own numerical
    example could not be retrieved here; this two-sector case is worked by hand with those formulae:
    E⁰ = 100·0.6·2.0 + 100·0.4·5.0 = 120 + 200 = 320, Eᵀ = 120·0.5·1.8 + 120·0.5·5.5 = 108 + 330 = 438."""
    x0 = [[100, 0.6, 2.0], [100, 0.4, 5.0]]
    x1 = [[120, 0.5, 1.8], [120, 0.5, 5.5]]
    L1 = (108 - 120) / math.log(108 / 120)     # 113.8947
    L2 = (330 - 200) / math.log(330 / 200)     # 259.5975
    act = (L1 + L2) * math.log(1.2)
    stru = L1 * math.log(0.5 / 0.6) + L2 * math.log(0.5 / 0.4)
    inten = L1 * math.log(0.9) + L2 * math.log(1.1)
    c = D.lmdi(x0, x1)
    assert [round(v, 2) for v in c] == [round(act, 2), round(stru, 2), round(inten, 2)]
    assert [round(v, 2) for v in c] == [68.10, 37.16, 12.74]
    assert math.fsum(c) == pytest.approx(438 - 320, abs=1e-9)


def test_docs_state_the_numbers_the_tests_check():
    from util import ROOT

    doc = (ROOT / "docs" / "explain.md").read_text(encoding="utf-8")
    for text in ("10,492.06", "+1,000.00", "−2,341.24", "+2,341.24", "8,200", "2,800", "−5,400", "−65.9 %",
                 "−6,000", "+600", "−73.2 pp", "923 → 817", "279,843 → 257,666"):
        assert text in doc, text


def test_matches_an_independent_implementation_of_ang_2005():
    """LMDIR (M. Heun, R package "an implementation of log-mean divisia index decomposition analysis based
    on B.W. Ang, The LMDI approach to decomposition analysis: a practical guide, Energy Policy 33, 2005"),
    tests/testthat/test_lmdi.R, "linear LMDI works as expected": two sub-categories × three factors over
    four years, with the additive contributions its authors checked (dV per year)."""
    X = {1971: [[1, 10, 2], [4, 5, 3]], 1972: [[4, 5, 3], [5, 6, 4]],
         1973: [[8, 2, 4], [5, 7, 5]], 1974: [[10, 1, 5], [6, 8, 6]]}
    published = {1972: [69.79006598, -9.455125793, 39.66505981],
                 1973: [42.96021467, -34.31902656, 50.3588119],
                 1974: [54.01064234, -9.021284671, 54.01064234]}
    changes = {1972: 100, 1973: 59, 1974: 99}   # their dV_agg
    for year, want in published.items():
        got = D.lmdi(X[year - 1], X[year])
        assert np.allclose(got, want, rtol=0, atol=5e-8), year
        assert math.fsum(got) == pytest.approx(changes[year], abs=1e-9)
