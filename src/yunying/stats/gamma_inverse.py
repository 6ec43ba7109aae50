"""The inverse of the regularised lower incomplete gamma function in plain Python (``math`` only).

``scipy.special.gammaincinv`` gives the same numbers, but importing SciPy's special functions costs a quarter
of a second at every CLI start, for the two calls of a CAC interval. P(a, x) is Numerical Recipes' series
(x < a + 1) or Lentz's continued fraction for Q = 1 − P (otherwise); the inverse is Newton's method kept inside
a bracket by bisection. tests/stats/test_gamma_inverse.py checks it against SciPy to 1e-12.
"""
from __future__ import annotations

import math

_EPS = 1e-16


def _log_prefactor(a: float, x: float) -> float:
    return -x + a * math.log(x) - math.lgamma(a)


def gammainc(a: float, x: float) -> float:
    """P(a, x) = γ(a, x) / Γ(a), for a > 0, x ≥ 0."""
    return _pq(a, x)[0]


def _pq(a: float, x: float) -> tuple[float, float]:
    """(P, Q) with the smaller of the two computed directly (no cancellation in it)."""
    if x <= 0:
        return 0.0, 1.0
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(100_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        p = min(1.0, total * math.exp(_log_prefactor(a, x)))
        return p, 1.0 - p
    # continued fraction for Q(a, x) (modified Lentz)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    q = min(1.0, math.exp(_log_prefactor(a, x)) * h)
    return 1.0 - q, q


def gammaincinv(a: float, p: float) -> float:
    """x with P(a, x) = p, for a > 0 and 0 ≤ p < 1 (as ``scipy.special.gammaincinv``)."""
    if not a > 0 or not 0 <= p < 1:
        raise ValueError(f"gammaincinv needs a > 0 and 0 <= p < 1, got a={a}, p={p}")
    if p == 0:
        return 0.0
    log_small = (math.log(p) + math.lgamma(a + 1)) / a  # P(a, x) ≈ x^a / Γ(a + 1) for small x
    if log_small < -700:
        return 0.0  # below the smallest double, as SciPy's 0
    x = math.exp(log_small) if log_small < math.log(a) else a
    hi = x
    while gammainc(a, hi) < p:
        hi *= 2
    lo = x
    while lo > 0 and gammainc(a, lo) > p:
        lo /= 2
    x = min(max(x, lo), hi)
    q_target = 1.0 - p
    for _ in range(200):
        pp, qq = _pq(a, x)
        f = pp - p if p <= 0.5 else q_target - qq  # the tail that is small, without cancellation
        if f < 0:
            lo = x
        else:
            hi = x
        dens = math.exp(-x + (a - 1) * math.log(x) - math.lgamma(a)) if x > 0 else 0.0
        step = f / dens if dens > 0 else math.inf
        nx = x - step
        if not lo < nx < hi:  # Newton would leave the bracket: bisect
            nx = (lo + hi) / 2
        if abs(nx - x) <= 4 * _EPS * max(abs(nx), 1e-300) or hi - lo <= 4 * _EPS * hi:
            return nx
        x = nx
    return x
