"""Experiment specs: how each metric is measured and how the experiment is analysed."""
from __future__ import annotations

import builtins
import math
import re
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...errors import SpecError, Text
from ...stats import BayesianSettings, FrequentistSettings, SequentialSettings
from ..base import DATE_MAX, DATE_MIN, Spec, spec_error

class ValueSpec(BaseModel):
    """How one per-unit value is obtained.

    Table: ``column``. Workspace: ``kind`` (``conversion`` = 1 if the user did
    ``event`` at least once, ``count`` = number of ``event``s, ``sum`` = sum of
    ``property`` over ``event``s) counted from first exposure for
    ``window_days`` (``None``: the experiment's ``window_days``).
    ``property`` is a column of the events table (e.g. ``revenue``) or a key
    of its JSON ``properties``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str | None = None
    kind: Literal["conversion", "count", "sum"] | None = None
    event: str | None = None
    property: str | None = None
    window_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check_value(self):
        if self.kind == "sum" and not self.property:
            raise ValueError(Text("experiment.spec.sum_metric_needs_property"))
        if self.kind is not None and not self.event:
            raise ValueError(Text("experiment.spec.metric_needs_event", kind=self.kind))
        return self

    @builtins.property
    def is_event_based(self) -> bool:
        return self.event is not None


class MetricSpec(ValueSpec):
    """One metric to analyse.

    ``type``: ``auto`` (0/1 values → ``proportion``, else ``mean``),
    ``proportion``, ``mean``, ``ratio`` (``numerator``/``denominator``, each a
    :class:`ValueSpec`; sum over units of one divided by the other, delta
    method) or ``quantile`` (the ``quantile`` of the per-unit value, e.g. 0.9).
    ``higher_is_better`` orients one-sided tests, chance to win, risk and
    guardrails. ``covariate`` overrides the experiment's CUPED covariate for
    this metric (a table column); ``""`` disables CUPED for it.

    A plain string is accepted: ``"col"`` → the column ``col``; ``"a/b"`` → the
    ratio of columns ``a`` and ``b``.
    """

    name: str
    type: Literal["auto", "proportion", "mean", "ratio", "quantile"] = "auto"
    numerator: ValueSpec | None = None
    denominator: ValueSpec | None = None
    quantile: float | None = Field(default=None, gt=0, lt=1)
    higher_is_better: bool = True
    covariate: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any):
        if isinstance(data, str):
            text = data.strip()
            if not text:
                raise ValueError(Text("experiment.spec.empty_metric_name"))
            if "/" in text:
                num, den = (s.strip() for s in text.split("/", 1))
                return {"name": text, "type": "ratio", "numerator": {"column": num},
                        "denominator": {"column": den}}
            return {"name": text, "column": text}
        return data

    @model_validator(mode="after")
    def _check_metric(self):
        t = self.type
        if self.quantile is not None and t == "auto":
            object.__setattr__(self, "type", "quantile")
            t = "quantile"
        if t == "quantile" and self.quantile is None:
            raise ValueError(Text("experiment.spec.metric_quantile_metric_needs", name=self.name))
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError(Text("experiment.spec.metric_give_both_numerator", name=self.name))
        if self.numerator is not None and t == "auto":
            object.__setattr__(self, "type", "ratio")
            t = "ratio"
        if t == "ratio" and self.numerator is None:
            raise ValueError(Text("experiment.spec.metric_ratio_metric_needs", name=self.name))
        if t != "ratio" and self.column is None and not self.is_event_based:
            object.__setattr__(self, "column", self.name)
        return self

    def value_specs(self) -> list[ValueSpec]:
        if self.type == "ratio":
            return [self.numerator, self.denominator]  # type: ignore[list-item]
        return [self]


Method = Literal["frequentist", "bayesian", "sequential"]


def parse_split(value: Any) -> list[float] | None:
    """``"50/50"``, ``"0.5,0.5"``, ``[1, 1]`` → list of positive floats."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parts = [p for p in re.split(r"[/,:\s]+", value.strip()) if p]
        try:
            value = [float(p) for p in parts]
        except ValueError:
            raise SpecError(key="experiment.spec.cannot_read_split_write", value=value) from None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
        raise SpecError(key="experiment.spec.split_must_list_numbers", value=value)
    try:
        out = [float(v) for v in value]
    except ValueError:
        raise SpecError(key="experiment.spec.split_must_contain_numbers", value=value) from None
    if len(out) < 2 or any(not (v > 0 and math.isfinite(v)) for v in out):
        raise SpecError(key="experiment.spec.split_needs_at_least", value=value)
    return out


class ExperimentSpec(Spec):
    """A validated, frozen, JSON-serialisable experiment analysis spec.

    Variant order (for ``split`` and reports): ``variants`` when given,
    otherwise ``control`` first and the other variants in sorted order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = "experiment"

    metrics: list[MetricSpec] = Field(min_length=1)
    guardrails: list[MetricSpec] = Field(default_factory=list)
    unit: str | None = None
    variant: str = "variant"
    control: str | None = None
    variants: list[str] | None = None
    covariate: str | None = None
    method: Method = "frequentist"
    split: list[float] | None = None
    alpha: float = Field(default=0.05, gt=0, lt=1)
    one_sided: bool = False
    correction: Literal["holm", "bh", "none"] = "holm"
    prior_mean: float = 0.0
    prior_stddev: float = Field(default=0.3, gt=0)
    proper_prior: bool = False
    sequential_tuning: float = Field(default=5000.0, gt=0)
    srm_threshold: float = Field(default=0.001, gt=0, lt=1)
    srm_caution_threshold: float = Field(default=0.01, gt=0, lt=1)
    # workspace only
    exposure_event: str | None = None
    window_days: float | None = Field(default=14.0, gt=0)
    cuped_pre_days: float = Field(default=14.0, gt=0)
    experiment: str | None = None
    experiment_property: str = "experiment"
    start: date | datetime | None = None
    end: date | datetime | None = None
    exclude_incomplete_windows: bool = False

    @model_validator(mode="before")
    @classmethod
    def _drop_kind(cls, data: Any):
        # Spec.to_json() writes {"kind": "experiment", ...}; accept it back
        if isinstance(data, dict) and data.get("kind") == cls.kind:
            data = {k: v for k, v in data.items() if k != "kind"}
        return data

    @field_validator("split", mode="before")
    @classmethod
    def _split(cls, v):
        try:
            return parse_split(v)
        except SpecError as exc:
            raise ValueError(exc.text or exc.message) from None

    @field_validator("control", mode="before")
    @classmethod
    def _control(cls, v):
        return None if v is None else str(v)

    @field_validator("variants", mode="before")
    @classmethod
    def _variants(cls, v):
        if isinstance(v, str):
            v = [s for s in re.split(r"[,\s]+", v) if s]
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                                       for x in v):
            raise ValueError(Text("experiment.spec.variants_must_list_variant"))
        return [str(x) for x in v]

    @model_validator(mode="after")
    def _check(self):
        names = [m.name for m in [*self.metrics, *self.guardrails]]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(Text("experiment.spec.metric_names_must_unique", dup=', '.join(dup)))
        if self.variants is not None:
            if len(set(self.variants)) != len(self.variants) or len(self.variants) < 2:
                raise ValueError(Text("experiment.spec.variants_must_list_at"))
            if self.control is not None and self.control not in self.variants:
                raise ValueError(Text("experiment.spec.control_among_variants", control=self.control, variants=self.variants))
            if self.split is not None and len(self.split) != len(self.variants):
                raise ValueError(Text("experiment.spec.split_has_shares_variants", n_split=len(self.split), n_variants=len(self.variants)))
        if self.srm_caution_threshold < self.srm_threshold:
            raise ValueError(Text("experiment.spec.srm_caution_threshold_must"))
        if self.method == "bayesian" and self.alpha >= 0.5:  # the threshold 1 − alpha must be above one half
            raise ValueError(Text("bayes.alpha_below_half", alpha=self.alpha))
        return self

    @model_validator(mode="after")
    def _start_end(self):
        # the same limit as every other spec's dates (events are stored between these too)
        for name, value in (("start", self.start), ("end", self.end)):
            day = value.date() if isinstance(value, datetime) else value
            if day is not None and not DATE_MIN <= day <= DATE_MAX:
                raise ValueError(Text("experiment.spec.expected_date_between", name=name, DATE_MIN=DATE_MIN, DATE_MAX=DATE_MAX, value=value))
        a, b = self.start, self.end
        if a is not None and b is not None:
            comparable = isinstance(a, datetime) and isinstance(b, datetime) and (a.tzinfo is None) == (b.tzinfo is None)
            later = a > b if comparable else (a.date() if isinstance(a, datetime) else a) > (
                b.date() if isinstance(b, datetime) else b)
            if later:
                raise ValueError(Text("experiment.spec.start_after_end"))
        return self

    # settings for yunying.stats
    def settings(self, higher_is_better: bool = True):
        alt = "two-sided"
        if self.one_sided:
            alt = "greater" if higher_is_better else "less"
        if self.method == "bayesian":
            return BayesianSettings(alpha=self.alpha, prior_mean=self.prior_mean,
                                    prior_stddev=self.prior_stddev, proper_prior=self.proper_prior)
        if self.method == "sequential":
            return SequentialSettings(alpha=self.alpha, tuning=self.sequential_tuning, alternative=alt)
        return FrequentistSettings(alpha=self.alpha, alternative=alt)


class WorkspaceExperimentSpec(ExperimentSpec):
    """An experiment on workspace events: ``exposure_event`` defaults to ``$exposure``
    and ``unit`` is the resolved person (``user_id``)."""

    exposure_event: str | None = "$exposure"
    #: the filter language (docs/users.md#filters-on-analyses): on the user only (``user.PROP`` / ``segment``) it
    #: selects the users analysed; otherwise it selects the metric events (exposures are never filtered then)
    filters: list[dict] = []

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v):
        from ..filtering import spec_filters

        return spec_filters(v)


def _coerce_spec(spec: ExperimentSpec | dict | None, cls: type = ExperimentSpec, **overrides) -> ExperimentSpec:
    from pydantic import ValidationError as PydanticValidationError

    if isinstance(spec, ExperimentSpec):
        if not overrides:
            return spec
        cls = type(spec)
        data = spec.model_dump()
    else:
        data = dict(spec or {})
    try:
        return cls.model_validate({**data, **overrides})
    except PydanticValidationError as exc:
        raise spec_error(cls, exc) from None
