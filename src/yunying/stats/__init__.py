"""Pure experiment statistics (numpy/scipy only).

The boundary is sufficient statistics: data engines compute per-arm sums,
this package turns them into effects, intervals, p-values, posteriors,
sequential bounds, SRM checks, adjustments and plans. Nothing here imports
engines, analyses, the CLI or the server.
"""
from __future__ import annotations

from . import messages
from .bayesian import BayesianSettings, chance_to_win, expected_loss, normal_posterior
from .compare import compare, difference, method_name
from .effects import Difference, EffectResult, absolute_difference, relative_difference, welch_dof
from .frequentist import FrequentistSettings, confidence_interval, critical_value, p_value
from .multiple import adjust_p_values, benjamini_hochberg, holm
from .power import (
    PlanResult,
    duration_days,
    mde_mean,
    mde_proportion,
    plan_experiment,
    power_mean,
    power_proportion,
    sample_size_mean,
    sample_size_proportion,
)
from .sequential import SequentialSettings, msprt_halfwidth, msprt_p_value, msprt_rho_squared
from .srm import SRMResult, srm_test
from .sufficient import (
    ArmEstimate,
    ProportionStats,
    QuantileStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    Stats,
    cuped_theta,
    cuped_variance_reduction,
    quantile_ranks,
)

__all__ = [
    "messages",
    "ArmEstimate", "SampleMeanStats", "ProportionStats", "RatioStats", "RegressionAdjustedStats",
    "QuantileStats", "Stats", "cuped_theta", "cuped_variance_reduction", "quantile_ranks",
    "Difference", "EffectResult", "absolute_difference", "relative_difference", "welch_dof",
    "FrequentistSettings", "BayesianSettings", "SequentialSettings",
    "compare", "difference", "method_name",
    "critical_value", "p_value", "confidence_interval",
    "normal_posterior", "chance_to_win", "expected_loss",
    "msprt_rho_squared", "msprt_p_value", "msprt_halfwidth",
    "SRMResult", "srm_test",
    "holm", "benjamini_hochberg", "adjust_p_values",
    "PlanResult", "plan_experiment", "sample_size_proportion", "sample_size_mean",
    "power_proportion", "power_mean", "mde_proportion", "mde_mean", "duration_days",
]
