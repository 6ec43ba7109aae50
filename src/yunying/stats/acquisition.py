"""Acquisition formulas: the CAC interval, the verdict against a benchmark CAC and the
one-sided binomial test of a funnel stage (docs/acquisition.md#channels, #placements)."""
from __future__ import annotations

import math

def cac_interval(spend: float, payers: float, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Interval for spend / payers with spend fixed and payers ~ Poisson (exact Gamma limits).

    Lower limit of the rate: Gamma(k).ppf(α/2); upper: Gamma(k + 1).ppf(1 - α/2) (Garwood;
    works for fractional credited counts). No payers: the CAC has no upper limit (None).
    """
    from scipy.special import gammaincinv  # loaded here, not at start-up

    if not spend or spend <= 0:
        return None, None
    a = (1 - confidence) / 2
    k = max(float(payers or 0.0), 0.0)
    hi_rate = gammaincinv(k + 1, 1 - a)
    lo_rate = gammaincinv(k, a) if k > 0 else 0.0
    low = spend / hi_rate
    high = spend / lo_rate if lo_rate > 0 else None
    return float(low), (None if high is None else float(high))


TOO_EARLY_WIDTH = 2.0


def _open(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def verdict(cac_low, cac_high, benchmark, spend) -> str:
    """better / worse / on par / too early to tell, against a benchmark CAC (docs: "too early")."""
    # a bound that is missing may arrive as None or, from a table cell, as NaN: both mean "open"
    cac_low, cac_high, benchmark = _open(cac_low), _open(cac_high), _open(benchmark)
    if not spend or spend <= 0:
        return "no spend"
    if benchmark is None:
        return "too early to tell"
    if cac_high is not None and cac_high < benchmark:
        return "better"
    if cac_low is not None and cac_low > benchmark:
        return "worse"
    if cac_high is None or cac_low is None or cac_low <= 0 or cac_high / cac_low > TOO_EARLY_WIDTH:
        return "too early to tell"
    return "on par"


def binomial_shortfall_p(k, n, p) -> float:
    """One-sided p-value of seeing at most ``k`` successes in ``n`` trials at rate ``p``: the binomial CDF
    (``scipy.special.bdtr``, what ``scipy.stats.binom.cdf`` computes, without loading ``scipy.stats``)."""
    from scipy.special import bdtr

    if n <= 0 or p <= 0:
        return 1.0
    k, n = math.floor(k + 1e-9), int(round(n))
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(bdtr(k, n, min(p, 1.0)))
