"""Named message codes for degenerate or noteworthy statistical situations.

Every statistic in :mod:`yunying.stats` returns ``None`` (JSON ``null``)
instead of NaN or infinity when a number cannot be computed, and attaches one
of these codes so callers can tell *why*. The codes are stable strings and part
of the JSON contract; the descriptions are for people.
"""
from __future__ import annotations

EMPTY_ARM = "empty_arm"
TOO_FEW_UNITS = "too_few_units"
ZERO_VARIANCE = "zero_variance"
ZERO_BASELINE = "zero_baseline"
ZERO_DENOMINATOR = "zero_denominator"
COVARIATE_CONSTANT = "covariate_constant"
QUANTILE_UNSTABLE = "quantile_unstable"
SRM_MISMATCH = "srm_mismatch"
SRM_CAUTION = "srm_caution"
SRM_NOT_TESTABLE = "srm_not_testable"
PRIOR_IGNORED = "prior_ignored"
MISSING_VALUES = "missing_values"
MULTIPLE_VARIANTS = "multiple_variants"
UNKNOWN_VARIANT = "unknown_variant"
INCOMPLETE_WINDOWS = "incomplete_windows"
NUMERICAL_PRECISION = "numerical_precision"

DESCRIPTIONS: dict[str, str] = {
    EMPTY_ARM: "an arm has no units, so nothing can be compared",
    TOO_FEW_UNITS: "an arm has fewer than 2 units, so its variance is undefined",
    ZERO_VARIANCE: "the metric does not vary in either arm; the difference is exact "
    "but no interval or p-value can be computed",
    ZERO_BASELINE: "the control mean is 0, so the relative effect is undefined",
    ZERO_DENOMINATOR: "the denominator of a ratio metric sums to 0 in an arm",
    COVARIATE_CONSTANT: "the CUPED covariate does not vary; no adjustment was made",
    QUANTILE_UNSTABLE: "too few units to bracket the quantile with order statistics",
    SRM_MISMATCH: "sample ratio mismatch: the arms' sizes differ from the planned split "
    "more than chance allows; assignment or logging is probably broken, so every "
    "result below is suspect",
    SRM_CAUTION: "possible sample ratio mismatch: check assignment and logging before "
    "trusting the results",
    SRM_NOT_TESTABLE: "the sample ratio check needs at least two arms with planned "
    "positive shares and at least one unit",
    PRIOR_IGNORED: "the informative prior is set on the relative scale and the control "
    "mean is 0, so a flat prior was used for the absolute effect",
    MISSING_VALUES: "rows with a missing metric value were left out of that metric",
    MULTIPLE_VARIANTS: "units seen in more than one variant were excluded",
    UNKNOWN_VARIANT: "units in variants outside the planned list were excluded",
    NUMERICAL_PRECISION: "the values are too small or too large for a reliable interval or p-value",
    INCOMPLETE_WINDOWS: "units whose metric window had not closed by the end of the data "
    "were excluded",
}


def describe(code: str) -> str:
    """Human description of a message code (the code itself when unknown)."""
    return DESCRIPTIONS.get(code, code)
