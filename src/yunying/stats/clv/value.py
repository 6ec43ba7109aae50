"""Customer value from a fitted purchase model (BG/NBD or Pareto/NBD) and a spend per purchase.

Definitions (docs/customer-value.md):

* **CLV** over a horizon H = margin × E[order value] × Σₖ (E[Y(tₖ)] − E[Y(tₖ₋₁)]) / (1 + d)^(tₖ in years),
  with steps tₖ of ``step`` time units (30 days by default; the last step ends at H) and d the annual
  discount rate: the purchases expected in each step are discounted from the step's end.
* **Value at risk** = (1 − P(alive)) × the same CLV computed as if the customer were certainly alive:
  what is lost if they have in fact left. It ranks win-back lists.
* **Churn risk**: ``high`` when P(alive) < ``high_below`` (0.3), ``medium`` when below ``medium_below``
  (0.7), else ``low``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ValidationError

__all__ = ["ValueSettings", "discounted_purchases", "churn_risk", "CHURN_LABELS"]

CHURN_LABELS = ("high", "medium", "low")


@dataclass(frozen=True)
class ValueSettings:
    """CLV settings. ``discount_rate``: annual (0.10 = 10 %); ``margin``: share of revenue kept (1 = revenue);
    ``step_days``: discounting step; ``high_below`` / ``medium_below``: P(alive) churn-risk thresholds."""

    discount_rate: float = 0.10
    margin: float = 1.0
    step_days: float = 30.0
    high_below: float = 0.3
    medium_below: float = 0.7

    def __post_init__(self):
        if not 0 <= self.discount_rate < 10:
            raise ValidationError(key="clv.value.discount_rate_expected_annual", discount_rate=self.discount_rate)
        if not 0 < self.margin <= 1e6:
            raise ValidationError(key="clv.value.margin_expected_positive_number", margin=self.margin)
        if not self.step_days > 0:
            raise ValidationError(key="clv.value.step_days_expected_positive", step_days=self.step_days)
        if not 0 <= self.high_below <= self.medium_below <= 1:
            raise ValidationError(key="clv.value.churn_thresholds_expected_0", high_below=self.high_below, medium_below=self.medium_below)


def discounted_purchases(model, horizon: float, frequency, recency, T, *, unit_days: float,
                         settings: ValueSettings = ValueSettings(), if_alive: bool = False) -> np.ndarray:
    """Σₖ (E[Y(tₖ)] − E[Y(tₖ₋₁)]) / (1+d)^(tₖ·unit_days/365): expected purchases in the horizon, discounted.

    ``horizon`` is in the model's time unit (``unit_days`` days each). ``if_alive`` uses the expectation
    given that the customer is alive at T (for value at risk).
    """
    if not horizon > 0:
        raise ValidationError(key="clv.value.horizon_expected_positive_length", horizon=horizon)
    step = settings.step_days / unit_days
    n_steps = int(np.ceil(horizon / step - 1e-9))
    f = model.expected_purchases_if_alive if if_alive else model.conditional_expected_purchases
    prev = 0.0
    total = 0.0
    for k in range(1, n_steps + 1):
        tk = min(k * step, horizon)
        cur = f(tk, frequency, recency, T)
        total = total + (cur - prev) / (1 + settings.discount_rate) ** (tk * unit_days / 365.0)
        prev = cur
    return np.asarray(total, dtype=np.float64)


def churn_risk(p_alive, settings: ValueSettings = ValueSettings()) -> np.ndarray:
    """``high`` / ``medium`` / ``low`` by P(alive) against the settings' thresholds."""
    p = np.asarray(p_alive, dtype=np.float64)
    return np.where(p < settings.high_below, "high", np.where(p < settings.medium_below, "medium", "low"))
