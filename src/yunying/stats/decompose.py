"""Exact decomposition of a change (pure functions on numbers; docs/explain.md has the maths and 口徑).

* :func:`lmdi` — additive LMDI-I (Ang 2005, "The LMDI approach to decomposition analysis: a practical
  guide", Energy Policy 33: 867–871): for ``V = Σ_i Π_k x_{k,i}`` the contribution of factor ``k`` is
  ``Σ_i L(V_i^T, V_i^0) · ln(x_{k,i}^T / x_{k,i}^0)`` with the logarithmic mean
  ``L(a, b) = (a − b) / (ln a − ln b)`` (``L(a, a) = a``). Exact (no residual) when every value is positive.
* :func:`shapley` — the Shapley value of each factor of a product: the average, over every order of
  changing the factors one at a time, of the change it makes. Exact for any values (zeros, negatives).
* :func:`factors` — LMDI-I when every factor is positive in both periods, else Shapley (the fallback for
  zeros and negatives, where the logarithms of LMDI are undefined).
* :func:`mix_rate` — the change of an additive total over parts, ``Y = Σ_i B_i r_i``, split per part into
  a mix effect (the part's base ``B_i`` moved) and a rate effect (its rate ``r_i`` moved); for a ratio
  ``R = Σ_i s_i r_i`` with shares ``s_i = B_i / B`` the mix effect is taken against the average rate.
* :func:`close` — absorb the floating-point residual so that parts add up to the total exactly.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from ..errors import Text

MAX_SHAPLEY_FACTORS = 12


def logmean(a: float, b: float) -> float:
    """The logarithmic mean ``(a − b) / (ln a − ln b)`` of two positive numbers (``a`` when equal).

    >>> logmean(2.0, 2.0), round(logmean(1.0, math.e), 6)
    (2.0, 1.718282)
    """
    if a <= 0 or b <= 0:
        raise ValueError(Text("decompose.logarithmic_mean_needs_two"))
    if a == b:
        return float(a)
    d = math.log(a) - math.log(b)
    if abs(d) < 1e-12:  # a ≈ b: the series (a+b)/2 avoids 0/0
        return (a + b) / 2.0
    return (a - b) / d


def lmdi(x0, x1) -> np.ndarray:
    """Additive LMDI-I contributions of each factor.

    ``x0``, ``x1``: the factors in period 0 and T, shape ``(k,)`` for one product ``V = Π_k x_k`` or
    ``(n, k)`` for a sum of ``n`` products (sub-categories). Every value must be positive.

    >>> [round(float(c), 4) for c in lmdi([10, 2.0], [12, 2.5])]
    [4.4966, 5.5034]
    """
    x0, x1 = np.atleast_2d(np.asarray(x0, dtype=float)), np.atleast_2d(np.asarray(x1, dtype=float))
    if x0.shape != x1.shape:
        raise ValueError(Text("decompose.factor_arrays_differ_shape", shape=x0.shape, shape2=x1.shape))
    if not (np.all(x0 > 0) and np.all(x1 > 0)):
        raise ValueError(Text("decompose.lmdi_needs_positive_factors"))
    v0, v1 = x0.prod(axis=1), x1.prod(axis=1)
    weights = np.array([logmean(a, b) for a, b in zip(v1, v0)])
    return (weights[:, None] * np.log(x1 / x0)).sum(axis=0)


def shapley(x0, x1) -> np.ndarray:
    """Shapley contributions of the factors of a product ``Π_k x_k`` (any real values, exact).

    ``φ_k = Σ_{S ⊆ K∖{k}} |S|! (K−|S|−1)! / K! · (f(S ∪ {k}) − f(S))`` where ``f(S)`` is the product with the
    factors in ``S`` at their new values and the others at their old ones.

    >>> [float(c) for c in shapley([0.0, 1.0], [1.0, 2.0])]
    [1.5, 0.5]
    """
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    k = len(x0)
    if k > MAX_SHAPLEY_FACTORS:
        raise ValueError(Text("decompose.at_most_factors", MAX_SHAPLEY_FACTORS=MAX_SHAPLEY_FACTORS))
    fact = [math.factorial(i) for i in range(k + 1)]
    out = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            w = fact[size] * fact[k - size - 1] / fact[k]
            for subset in itertools.combinations(others, size):
                vals = x0.copy()
                vals[list(subset)] = x1[list(subset)]
                without = float(np.prod(vals))
                vals[j] = x1[j]
                out[j] += w * (float(np.prod(vals)) - without)
    return out


def factors(x0, x1) -> tuple[np.ndarray, str]:
    """Contributions of the factors of a product and the method used: ``"lmdi"`` when every value is
    positive, else ``"shapley"``. The contributions are closed (:func:`close`) on ``Π x1 − Π x0``."""
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    if not (np.all(np.isfinite(x0)) and np.all(np.isfinite(x1))):
        raise ValueError(Text("decompose.factors_must_finite_numbers"))
    v0, v1 = float(np.prod(x0)), float(np.prod(x1))
    if not (math.isfinite(v0) and math.isfinite(v1)):
        raise ValueError(Text("decompose.product_factors_overflows"))
    total = v1 - v0
    if np.all(x0 > 0) and np.all(x1 > 0) and v0 > 0 and v1 > 0:  # (a product can underflow to 0)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            c = lmdi(x0, x1)
        if np.all(np.isfinite(c)):  # a ratio of a tiny and a normal number can overflow the logarithm
            return close(c, total), "lmdi"
    return close(shapley(x0, x1), total), "shapley"


def mix_rate(base0, base1, value0, value1, *, ratio: bool = False):
    """Per part ``i``: (mix, rate) with ``mix_i + rate_i`` = the part's contribution, parts adding to the change.

    Additive total (``ratio=False``): ``Y = Σ_i Y_i`` with ``Y_i = B_i · r_i`` (``r_i = Y_i / B_i``); the
    part's contribution is ``ΔY_i``, split with the midpoint (two-factor Shapley) rule:
    ``mix_i = ΔB_i · (r_i^0 + r_i^1) / 2`` and ``rate_i = Δr_i · (B_i^0 + B_i^1) / 2``.

    Ratio (``ratio=True``): ``R = Σ_i Y_i / Σ_i B_i = Σ_i s_i r_i`` with shares ``s_i = B_i / B``;
    ``mix_i = Δs_i · (r̄_i − R̄)`` and ``rate_i = s̄_i · Δr_i`` (bars: the mean of the two periods). Because the
    shares add to 1 in both periods, the mix effects add to ``Σ Δs_i r̄_i``, and the parts to ``ΔR``.

    The rate effect is the part's contribution less its mix effect (the same as the formula whenever the
    part has a base in both ranges). A part with no base in one range takes the other range's rate for its
    mix effect; with no base in either, its whole change (if any) is rate.

    >>> mix, rate = mix_rate([10, 10], [20, 10], [50.0, 20.0], [100.0, 30.0])
    >>> [float(m) for m in mix], [float(r) for r in rate]
    ([50.0, 0.0], [0.0, 10.0])
    """
    b0, b1 = np.asarray(base0, dtype=float), np.asarray(base1, dtype=float)
    y0, y1 = np.asarray(value0, dtype=float), np.asarray(value1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r0, r1 = np.where(b0 != 0, y0 / b0, np.nan), np.where(b1 != 0, y1 / b1, np.nan)
    r0, r1 = np.where(np.isnan(r0), r1, r0), np.where(np.isnan(r1), r0, r1)
    r0, r1 = np.nan_to_num(r0, nan=0.0), np.nan_to_num(r1, nan=0.0)
    if not ratio:
        mix = (b1 - b0) * (r0 + r1) / 2.0
        return mix, (y1 - y0) - mix  # = Δr · (B⁰ + B¹) / 2 whenever both rates exist; exact in every case
    tot0, tot1 = b0.sum(), b1.sum()
    if not (tot0 and tot1):
        raise ValueError(Text("decompose.ratio_needs_base_both"))
    s0, s1 = b0 / tot0, b1 / tot1
    big_r = (y0.sum() / tot0 + y1.sum() / tot1) / 2.0
    mix = (s1 - s0) * ((r0 + r1) / 2.0 - big_r)
    contribution = (y1 / tot1 - y0 / tot0) - big_r * (s1 - s0)  # Δ(s·r) − R̄·Δs; Σ Δs = 0
    return mix, contribution - mix


def close(parts, total: float) -> np.ndarray:
    """``parts`` with the floating-point residual ``total − Σ parts`` added to the largest part, so that
    they add up to ``total`` (to the last representable digit, far below a cent). The residual of an exact
    method is rounding error only; a residual larger than 1e-6 of the scale is a bug and raises."""
    parts = np.array(parts, dtype=float)
    if parts.size == 0:
        return parts
    residual = total - math.fsum(parts)
    scale = max(1.0, abs(total), float(np.abs(parts).max()))
    if abs(residual) > 1e-6 * scale:
        raise ArithmeticError(f"parts add up to {math.fsum(parts)!r}, not {total!r}: the decomposition is not exact")
    big = int(np.argmax(np.abs(parts)))
    for _ in range(3):  # each pass leaves at most half an ulp of the largest part
        residual = -math.fsum([*parts, -total])  # the exact residual, rounded once
        if residual == 0:
            break
        parts[big] += residual
    return parts
