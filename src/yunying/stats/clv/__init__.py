"""Customer-value models (NumPy/SciPy only): BG/NBD and Pareto/NBD for purchase counts, Gamma-Gamma for
spend, and CLV / churn risk / value at risk on top of them. Nothing here imports engines or analyses.

>>> from yunying.stats.clv import BGNBDFitter
>>> m = BGNBDFitter().fit(frequency=[2, 1, 0, 3], recency=[30.4, 1.7, 0, 20.0], T=[38.9, 38.9, 38.9, 30.0])
>>> m.p_alive([2], [30.4], [38.9]).round(3).tolist()  # doctest: +SKIP
"""
from __future__ import annotations

from ._fit import Estimate
from .bgnbd import BGNBDFitter, bgnbd_log_likelihood
from .gamma_gamma import GammaGammaFitter, gamma_gamma_log_likelihood
from .pareto import ParetoNBDFitter, pareto_log_likelihood
from .value import CHURN_LABELS, ValueSettings, churn_risk, discounted_purchases

MODELS = {"bgnbd": BGNBDFitter, "pareto": ParetoNBDFitter}

__all__ = ["Estimate", "BGNBDFitter", "ParetoNBDFitter", "GammaGammaFitter", "MODELS", "ValueSettings",
           "churn_risk", "discounted_purchases", "CHURN_LABELS", "bgnbd_log_likelihood",
           "pareto_log_likelihood", "gamma_gamma_log_likelihood"]
