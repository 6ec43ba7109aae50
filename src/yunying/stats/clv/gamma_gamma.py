"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves").

A customer's transaction values are Gamma(p, ν) around their own mean, with ν ~ Gamma(q, v) across
customers. Fitted on customers with at least one repeat purchase, from ``x`` (repeat purchases) and
``m_x`` (their mean value):

    log L = lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln m_x + px ln x - (px+q) ln(v + x m_x)

The model assumes spend is independent of purchase frequency; check that on your data
(``np.corrcoef(frequency, monetary)`` close to 0) before trusting it.
"""
from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from ...errors import ValidationError
from ._fit import Fitter, as_array, compress

__all__ = ["GammaGammaFitter", "gamma_gamma_log_likelihood"]


def gamma_gamma_log_likelihood(params, frequency, monetary) -> np.ndarray:
    p, q, v = params
    x, m = np.asarray(frequency, float), np.asarray(monetary, float)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(v + x * m))


class _Data:
    """The fit's data with what does not depend on the parameters computed once (logs, distinct x)."""

    def __init__(self, x, m, w):
        self.x, self.m, self.w = x, m, w
        self.ux, inv = np.unique(x, return_inverse=True)
        self.inv = inv.ravel()
        self.wx = np.bincount(self.inv, weights=w, minlength=self.ux.size)
        self.xm = x * m
        self.const_p = w @ (x * (np.log(m) + np.log(x)))   # Σ w·x·(ln m + ln x)
        self.const = -(w @ np.log(m))                        # Σ w·(−ln m)

    def total_ll(self, p, q, v):
        ux, wx = self.ux, self.wx
        per_x = wx @ (gammaln(p * ux + q) - gammaln(p * ux))
        lv = np.log(v + self.xm)
        return (per_x - wx.sum() * (gammaln(q) - q * np.log(v)) + p * self.const_p + self.const
                - (self.w * (p * self.x + q)) @ lv)

    def grad(self, p, q, v):
        ux, wx, w = self.ux, self.wx, self.w
        d_pxq = digamma(p * ux + q)
        lv = np.log(v + self.xm)
        inv_v = 1 / (v + self.xm)
        g_p = wx @ (ux * (d_pxq - digamma(p * ux))) + self.const_p - (w * self.x) @ lv
        g_q = wx @ d_pxq - wx.sum() * (digamma(q) - np.log(v)) - w @ lv
        g_v = wx.sum() * q / v - (w * (p * self.x + q)) @ inv_v
        return np.array([g_p, g_q, g_v])


def check_spend(frequency, monetary) -> tuple[np.ndarray, np.ndarray]:
    x = as_array("frequency", frequency)
    m = as_array("monetary", monetary, x.size)
    if x.size == 0:
        raise ValidationError(key="clv.gamma_gamma.no_customers_with_repeat")
    for mask, msg, field in ((x <= 0, "have no repeat purchase (the spend model uses repeat customers only)",
                              "frequency"),
                             (x != np.round(x), "have a frequency that is not a whole number", "frequency"),
                             (m <= 0, "have a mean spend <= 0 (refunds larger than purchases?)", "monetary")):
        rows = np.flatnonzero(mask)
        if rows.size:
            raise ValidationError(key="clv.gamma_gamma.customer_s_first_at", field=field, size=rows.size, msg=msg, rows=rows[0],
                                  details={"field": field, "rows": rows[:10].tolist()})
    return x, m


class GammaGammaFitter(Fitter):
    """Gamma-Gamma spend model fitted by maximum likelihood.

    Settings: ``start`` — starting values of (p, q, v) (default 1, 1, mean spend).
    Fitted: ``params_``, ``standard_errors_``, ``estimates_``, ``log_likelihood_``, ``converged_``,
    ``n_customers_``.
    """

    param_names = ("p", "q", "v")
    name = "gamma_gamma"

    def fit(self, frequency, monetary, weights=None) -> "GammaGammaFitter":
        x, m = check_spend(frequency, monetary)
        (x, m), w = compress(x, m, weights=None if weights is None else np.asarray(weights, float))
        n = float(w.sum())

        data = _Data(x, m, w)

        def total_ll(lp):
            return float(data.total_ll(*np.exp(lp)))

        def total_grad(lp):
            par = np.exp(lp)
            return data.grad(*par) * par

        return self._mle(total_ll, (1.0, 1.0, float(np.average(m, weights=w))), n, total_grad)

    def expected_order_value(self, frequency, monetary) -> np.ndarray:
        """E[M | x, m_x] = (q-1)/(px+q-1) · pv/(q-1) + px/(px+q-1) · m_x; the population mean pv/(q-1)
        for customers without a repeat purchase (x = 0). None of it exists for q <= 1 (infinite mean)."""
        self._require_fit()
        p, q, v = (self.params_[k] for k in self.param_names)
        x = as_array("frequency", frequency)
        m = as_array("monetary", monetary, x.size)
        if q <= 1:
            raise ValidationError(key="clv.gamma_gamma.fitted_spend_model_has", q=q)
        pop = p * v / (q - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cond = (p * (v + x * m)) / (p * x + q - 1)
        return np.where(x > 0, cond, pop)
