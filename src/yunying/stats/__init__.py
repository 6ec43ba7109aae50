"""Pure experiment statistics (numpy/scipy only).

The boundary is sufficient statistics: data engines compute per-arm sums,
this package turns them into effects, intervals, p-values, posteriors,
sequential bounds, SRM checks, adjustments and plans. Nothing here imports
engines, analyses, the CLI or the server.

Names are loaded on first use (PEP 562): importing one submodule (``yunying.stats.acquisition``,
``yunying.stats.causal`` …) does not load SciPy's statistics for all the others.
"""
from __future__ import annotations

import importlib

_WHERE = {  # name -> the submodule defining it
    **dict.fromkeys(("BayesianSettings", "chance_to_win", "expected_loss", "normal_posterior"), "bayesian"),
    **dict.fromkeys(("compare", "difference", "method_name"), "compare"),
    **dict.fromkeys(("Difference", "EffectResult", "absolute_difference", "relative_difference", "welch_dof"),
                    "effects"),
    **dict.fromkeys(("FrequentistSettings", "confidence_interval", "critical_value", "p_value"), "frequentist"),
    **dict.fromkeys(("adjust_p_values", "benjamini_hochberg", "holm"), "multiple"),
    **dict.fromkeys(("PlanResult", "duration_days", "mde_mean", "mde_proportion", "plan_experiment", "power_mean",
                     "power_proportion", "sample_size_mean", "sample_size_proportion"), "power"),
    **dict.fromkeys(("SequentialSettings", "msprt_halfwidth", "msprt_p_value", "msprt_rho_squared"), "sequential"),
    **dict.fromkeys(("SRMResult", "srm_test"), "srm"),
    **dict.fromkeys(("ArmEstimate", "ProportionStats", "QuantileStats", "RatioStats", "RegressionAdjustedStats",
                     "SampleMeanStats", "Stats", "cuped_theta", "cuped_variance_reduction", "quantile_ranks"),
                    "sufficient"),
}


def __getattr__(name: str):
    if name == "messages":
        return importlib.import_module(f"{__name__}.messages")
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value  # also over the submodule of the same name (``compare``) the import just bound
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
