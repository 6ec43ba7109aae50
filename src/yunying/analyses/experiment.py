"""Experiment (A/B test) analysis.

Two entry points produce the same :class:`ExperimentResult`:

* :func:`analyze_table` — a per-unit table (CSV, Parquet, JSONL or a
  DataFrame): one row per unit with its variant and metric columns.
* :func:`analyze_workspace` — an event workspace: the first exposure event
  assigns each user to a variant and metrics are computed from events after
  exposure (conversion within a window, count or sum per user, ratios).

Data are reduced to per-variant sufficient statistics and handed to the pure
functions of :mod:`yunying.stats`; see ``docs/experiments.md`` for every
definition.
"""
from __future__ import annotations

import builtins
import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yunying.errors import InputFileError, SpecError, ValidationError
from yunying.stats import (
    BayesianSettings,
    EffectResult,
    FrequentistSettings,
    ProportionStats,
    QuantileStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    SequentialSettings,
    SRMResult,
    adjust_p_values,
    compare,
    cuped_theta,
    messages as M,
    srm_test,
)
from yunying.stats.effects import finite_or_none

from .base import DATE_MAX, DATE_MIN, Spec

__all__ = [
    "ValueSpec",
    "MetricSpec",
    "ExperimentSpec",
    "WorkspaceExperimentSpec",
    "experiment",
    "ExperimentResult",
    "MetricResult",
    "VariantResult",
    "analyze_table",
    "analyze_workspace",
    "analyze_stats",
    "parse_split",
    "read_table",
]

CUPED_NOT_APPLIED = "cuped_not_applied"
_WINDOW_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([dhw]?)$")


# --------------------------------------------------------------------------- spec


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
            raise ValueError("a 'sum' metric needs the property to sum")
        if self.kind is not None and not self.event:
            raise ValueError(f"a '{self.kind}' metric needs an event")
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
                raise ValueError("empty metric name")
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
            raise ValueError(f"metric {self.name!r}: a quantile metric needs 'quantile' (e.g. 0.5)")
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError(f"metric {self.name!r}: give both numerator and denominator")
        if self.numerator is not None and t == "auto":
            object.__setattr__(self, "type", "ratio")
            t = "ratio"
        if t == "ratio" and self.numerator is None:
            raise ValueError(f"metric {self.name!r}: a ratio metric needs numerator and denominator")
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
            raise SpecError(f"cannot read the split {value!r}; write it like 50/50 or 34/33/33") from None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
        raise SpecError(f"the split must be a list of numbers like [50, 50] or text like 50/50, got {value!r}")
    try:
        out = [float(v) for v in value]
    except ValueError:
        raise SpecError(f"the split must contain numbers, got {value!r}") from None
    if len(out) < 2 or any(not (v > 0 and math.isfinite(v)) for v in out):
        raise SpecError(f"the split needs at least two positive shares, got {value!r}")
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
            raise ValueError(exc.message) from None

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
            raise ValueError("variants must be a list of variant names")
        return [str(x) for x in v]

    @model_validator(mode="after")
    def _check(self):
        names = [m.name for m in [*self.metrics, *self.guardrails]]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"metric names must be unique; repeated: {', '.join(dup)}")
        if self.variants is not None:
            if len(set(self.variants)) != len(self.variants) or len(self.variants) < 2:
                raise ValueError("variants must list at least two distinct variants")
            if self.control is not None and self.control not in self.variants:
                raise ValueError(f"control {self.control!r} is not among variants {self.variants}")
            if self.split is not None and len(self.split) != len(self.variants):
                raise ValueError(f"split has {len(self.split)} shares for {len(self.variants)} variants")
        if self.srm_caution_threshold < self.srm_threshold:
            raise ValueError("srm_caution_threshold must be >= srm_threshold")
        return self

    @model_validator(mode="after")
    def _start_end(self):
        # the same limit as every other spec's dates (events are stored between these too)
        for name, value in (("start", self.start), ("end", self.end)):
            day = value.date() if isinstance(value, datetime) else value
            if day is not None and not DATE_MIN <= day <= DATE_MAX:
                raise ValueError(f"{name}: expected a date between {DATE_MIN} and {DATE_MAX}, got {value}")
        a, b = self.start, self.end
        if a is not None and b is not None:
            comparable = isinstance(a, datetime) and isinstance(b, datetime) and (a.tzinfo is None) == (b.tzinfo is None)
            later = a > b if comparable else (a.date() if isinstance(a, datetime) else a) > (
                b.date() if isinstance(b, datetime) else b)
            if later:
                raise ValueError("start is after end")
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


def _coerce_spec(spec: ExperimentSpec | dict | None, cls: type = ExperimentSpec, **overrides) -> ExperimentSpec:
    from pydantic import ValidationError as PydanticValidationError

    from .base import spec_error

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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class VariantResult:
    variant: str
    n: int
    mean: float | None
    is_control: bool
    stddev: float | None = None
    mean_adjusted: float | None = None
    effect: EffectResult | None = None
    p_value_adjusted: float | None = None
    verdict: str | None = None
    message: str | None = None

    def to_dict(self, method: str) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "n": int(self.n), "mean": finite_or_none(self.mean),
                               "is_control": self.is_control, "stddev": finite_or_none(self.stddev)}
        if self.mean_adjusted is not None:
            out["mean_adjusted"] = finite_or_none(self.mean_adjusted)
        if self.is_control or self.effect is None:
            if self.message:
                out["message"] = self.message
            return out
        e = self.effect.to_dict()
        out.update(effect_abs=e["effect_abs"], ci_abs=e["ci_abs"], effect_rel=e["effect_rel"],
                   ci_rel=e["ci_rel"], se_abs=e["se_abs"], se_rel=e["se_rel"])
        if method == "bayesian":
            out.update(chance_to_win=e["chance_to_win"], risk=e["risk"], risk_rel=e["risk_rel"],
                       risk_control=e["risk_control"])
        else:
            out.update(p_value=e["p_value"], p_value_adjusted=finite_or_none(self.p_value_adjusted),
                       statistic=e["statistic"])
            if e["dof"] is not None:
                out["dof"] = e["dof"]
        if e["variance_reduction"] is not None or e["theta"] is not None:
            out["variance_reduction"] = e["variance_reduction"]
        out["verdict"] = self.verdict
        out["message"] = self.message or e["message"]
        out["messages"] = e["messages"]
        return out


@dataclass(frozen=True)
class MetricResult:
    metric: str
    type: str
    role: str
    higher_is_better: bool
    variants: list[VariantResult]
    cuped: dict[str, Any] | None = None
    guardrail_status: str | None = None
    quantile: float | None = None
    messages: list[str] = field(default_factory=list)

    def to_dict(self, method: str) -> dict[str, Any]:
        out = {"metric": self.metric, "type": self.type, "role": self.role,
               "higher_is_better": self.higher_is_better}
        if self.quantile is not None:
            out["quantile"] = self.quantile
        out["variants"] = [v.to_dict(method) for v in self.variants]
        out["cuped"] = None if self.cuped is None else {k: finite_or_none(v) for k, v in self.cuped.items()}
        if self.role == "guardrail":
            out["guardrail_status"] = self.guardrail_status
        out["messages"] = list(self.messages)
        return out


@dataclass(frozen=True)
class ExperimentResult:
    """The analysis result: SRM check first, then one entry per metric.

    ``to_dict()`` is the JSON contract (snake_case, never NaN/Infinity).
    """

    spec: ExperimentSpec
    control: str | None
    variant_order: list[str]
    counts: dict[str, int]
    srm: SRMResult
    metrics: list[MetricResult]
    messages: list[dict[str, Any]] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.spec.method

    def to_dict(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        srm = self.srm.to_dict()
        return _clean({
            "srm": srm,
            "metrics": [m.to_dict(self.method) for m in self.metrics],
            "kind": "experiment",
            "method": self.method,
            "control": self.control,
            "variants": [{"variant": v, "n": int(self.counts.get(v, 0)),
                          "share": (self.counts.get(v, 0) / total if total else None),
                          "planned_share": srm["expected_share"].get(v)} for v in self.variant_order],
            "alpha": self.spec.alpha,
            "ci_level": 1 - self.spec.alpha,
            "one_sided": self.spec.one_sided,
            "correction": self.spec.correction,
            "excluded": dict(self.excluded),
            "messages": list(self.messages),
            "source": dict(self.source),
            "spec": self.spec.model_dump(mode="json"),
        })

    kind: ClassVar[str] = "experiment"
    rows_key: ClassVar[str] = "metrics"

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    def records(self) -> list[dict[str, Any]]:
        """One JSON-safe row per (metric, variant)."""
        return _clean(self.to_pandas().astype(object).where(lambda f: f.notna(), None).to_dict(orient="records"))

    def to_csv(self) -> str:
        return self.to_pandas().to_csv(index=False)

    def to_arrow(self):
        import pyarrow as pa

        return pa.Table.from_pandas(self.to_pandas(), preserve_index=False)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_pandas(self) -> pd.DataFrame:
        rows = []
        for m in self.metrics:
            for v in m.variants:
                d = v.to_dict(self.method)
                ci_abs = d.get("ci_abs") or [None, None]
                ci_rel = d.get("ci_rel") or [None, None]
                rows.append({
                    "metric": m.metric, "role": m.role, "type": m.type, "variant": v.variant,
                    "is_control": v.is_control, "n": v.n, "mean": d["mean"],
                    "mean_adjusted": d.get("mean_adjusted"),
                    "effect_abs": d.get("effect_abs"), "ci_abs_low": ci_abs[0], "ci_abs_high": ci_abs[1],
                    "effect_rel": d.get("effect_rel"), "ci_rel_low": ci_rel[0], "ci_rel_high": ci_rel[1],
                    "p_value": d.get("p_value"), "p_value_adjusted": d.get("p_value_adjusted"),
                    "chance_to_win": d.get("chance_to_win"), "risk": d.get("risk"),
                    "variance_reduction": d.get("variance_reduction"),
                    "verdict": d.get("verdict"), "message": d.get("message"),
                })
        return pd.DataFrame(rows)

    def chart(self):
        """A Plotly forest plot of relative effects with their intervals."""
        import plotly.graph_objects as go

        colors = {"win": "#1a9850", "loss": "#d73027"}
        labels, xs, lo, hi, cols, texts = [], [], [], [], [], []
        for m in self.metrics:
            for v in m.variants:
                if v.is_control or v.effect is None or v.effect.effect_rel is None:
                    continue
                e = v.effect
                x = 100 * e.effect_rel
                ci = e.ci_rel or (None, None)
                l = 100 * ci[0] if ci[0] is not None and math.isfinite(ci[0]) else x
                h = 100 * ci[1] if ci[1] is not None and math.isfinite(ci[1]) else x
                labels.append(f"{m.metric} · {v.variant}" + (" (guardrail)" if m.role == "guardrail" else ""))
                xs.append(x)
                lo.append(x - l)
                hi.append(h - x)
                cols.append(colors.get(v.verdict or "", "#4d4d4d"))
                texts.append(v.verdict or "")
        fig = go.Figure()
        fig.add_trace(go.Scatter(
            x=xs, y=labels, mode="markers", marker={"color": cols, "size": 10},
            error_x={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "thickness": 2},
            text=texts, hovertemplate="%{y}<br>%{x:.2f}% %{text}<extra></extra>", name="relative effect",
        ))
        fig.add_vline(x=0, line_dash="dash", line_color="#888")
        level = f"{100 * (1 - self.spec.alpha):g}%"
        kind = {"bayesian": "credible", "sequential": "always-valid"}.get(self.method, "confidence")
        fig.update_layout(
            title=f"Effect vs control ({self.control}), {level} {kind} intervals",
            xaxis_title="relative effect (%)", yaxis={"autorange": "reversed"},
            height=max(260, 80 + 48 * len(labels)), margin={"l": 10, "r": 10, "t": 50, "b": 40},
            showlegend=False,
        )
        return fig

    def to_html(self) -> str:
        """An HTML ``<section>``: SRM banner, results table, chart (plotly.js not included)."""
        esc = html.escape
        d = self.to_dict()
        srm = d["srm"]
        parts = ['<section class="yunying-experiment">', "<h2>Experiment</h2>"]
        cls = {"mismatch": "srm-mismatch", "caution": "srm-caution"}.get(srm["status"], "srm-ok")
        style = {"srm-mismatch": "background:#fde0dd;border:2px solid #d73027;",
                 "srm-caution": "background:#fff3cd;border:2px solid #e6a700;",
                 "srm-ok": "background:#eef7ee;border:1px solid #1a9850;"}[cls]
        chi2 = "n/a" if srm["chi2"] is None else f"{srm['chi2']:.4f}"
        p = "n/a" if srm["p_value"] is None else f"{srm['p_value']:.4g}"
        head = {"srm-mismatch": "⚠ SAMPLE RATIO MISMATCH", "srm-caution": "⚠ Possible sample ratio mismatch",
                "srm-ok": "Sample ratio check passed"}[cls]
        parts.append(f'<div class="yunying-srm {cls}" role="{"alert" if cls != "srm-ok" else "status"}" '
                     f'style="{style}padding:8px;margin:8px 0;"><strong>{esc(head)}</strong> — '
                     f"chi-square {chi2}, p = {p}. {esc(srm['message'] or '')}</div>")
        df = self.to_pandas()
        cols = ["metric", "variant", "n", "mean", "effect_abs", "ci_abs_low", "ci_abs_high", "effect_rel",
                "ci_rel_low", "ci_rel_high"]
        cols += ["chance_to_win", "risk"] if self.method == "bayesian" else ["p_value", "p_value_adjusted"]
        cols += ["verdict", "message"]
        parts.append('<table class="yunying-table"><thead><tr>'
                     + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr></thead><tbody>")
        for _, row in df.iterrows():
            parts.append("<tr>" + "".join(f"<td>{esc(_fmt(row[c]))}</td>" for c in cols) + "</tr>")
        parts.append("</tbody></table>")
        parts.append(self.chart().to_html(full_html=False, include_plotlyjs=False))
        if self.messages:
            parts.append('<ul class="yunying-messages">' + "".join(
                f"<li><code>{esc(str(m.get('code')))}</code> {esc(str(m.get('message')))}</li>"
                for m in self.messages) + "</ul>")
        parts.append("</section>")
        return "\n".join(parts)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    if isinstance(x, (float, np.floating)):
        return f"{x:.4g}"
    return str(x)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return finite_or_none(obj)


# --------------------------------------------------------------------------- core


def _verdict(effect: EffectResult, p_adj: float | None, alpha: float, higher_is_better: bool) -> str:
    if effect.chance_to_win is not None:
        if effect.chance_to_win >= 1 - alpha:
            return "win"
        if effect.chance_to_win <= alpha:
            return "loss"
        return "inconclusive"
    p = p_adj if p_adj is not None else effect.p_value
    if p is None or effect.effect_abs is None:
        return "not_computed"
    if p < alpha:
        good = effect.effect_abs > 0 if higher_is_better else effect.effect_abs < 0
        return "win" if good else "loss"
    return "inconclusive"


def _infer_type(values_by_variant: dict[str, np.ndarray]) -> str:
    allv = [v[np.isfinite(v)] for v in values_by_variant.values()]
    allv = np.concatenate(allv) if allv else np.array([])
    if allv.size and np.all((allv == 0) | (allv == 1)):
        return "proportion"
    return "mean"


def analyze_stats(
    spec: ExperimentSpec,
    variant_order: Sequence[str],
    counts: dict[str, int],
    metric_stats: dict[str, dict[str, Any]],
    metric_types: dict[str, str],
    *,
    messages: list[dict[str, Any]] | None = None,
    excluded: dict[str, int] | None = None,
    source: dict[str, Any] | None = None,
    cuped_covariates: dict[str, str] | None = None,
) -> ExperimentResult:
    """Turn per-variant sufficient statistics into an :class:`ExperimentResult`.

    ``metric_stats[name][variant]`` is a statistics object from
    :mod:`yunying.stats` (all of one class per metric); ``counts`` the exposure
    counts per variant for the SRM check.
    """
    messages = list(messages or [])
    control = spec.control
    order = list(variant_order)
    weights = spec.split
    if weights is not None and len(weights) != len(order):
        raise SpecError(f"--split has {len(weights)} shares but the experiment has {len(order)} variants "
                        f"({', '.join(order)}; control first)")
    srm = srm_test([counts.get(v, 0) for v in order], weights, threshold=spec.srm_threshold,
                   caution_threshold=spec.srm_caution_threshold, labels=order)
    if srm.warning:
        messages.insert(0, {"code": M.SRM_MISMATCH if srm.status == "mismatch" else M.SRM_CAUTION,
                            "message": srm.message})
    for v in order:
        if counts.get(v, 0) == 0:
            messages.append({"code": M.EMPTY_ARM, "variant": v,
                             "message": f"variant {v!r} has no units" + (
                                 " (it is the control)" if v == control else "")})

    all_specs = [(m, "goal") for m in spec.metrics] + [(m, "guardrail") for m in spec.guardrails]
    built: list[tuple[MetricSpec, str, list[VariantResult], dict | None, list[str]]] = []
    for mspec, role in all_specs:
        stats = metric_stats[mspec.name]
        mtype = metric_types[mspec.name]
        settings = spec.settings(mspec.higher_is_better)
        notes: list[str] = []
        theta = center = None
        cuped = None
        if mtype in ("proportion", "mean") and stats and isinstance(next(iter(stats.values())), RegressionAdjustedStats):
            arms = [stats[v] for v in order if v in stats]
            theta = cuped_theta(arms)
            n_all = sum(a.n for a in arms)
            center = sum(a.pre_sum for a in arms) / n_all if n_all else 0.0
            syy = sum(max(a.post_sum_squares - a.post_sum**2 / a.n, 0.0) for a in arms if a.n > 0)
            resid = sum(max(a.post_sum_squares - a.post_sum**2 / a.n, 0.0)
                        - 2 * (theta or 0.0) * (a.post_pre_sum_products - a.post_sum * a.pre_sum / a.n)
                        + (theta or 0.0) ** 2 * (a.pre_sum_squares - a.pre_sum**2 / a.n) for a in arms if a.n > 0)
            cuped = {"covariate": (cuped_covariates or {}).get(mspec.name), "theta": theta,
                     "variance_reduction": (1 - resid / syy) if syy > 0 and theta is not None else None}
            if theta is None:
                notes.append(M.COVARIATE_CONSTANT)
        ctrl_stats = stats.get(control) if control is not None else None
        rows: list[VariantResult] = []
        for v in order:
            st = stats.get(v)
            if st is None:
                continue
            if isinstance(st, RegressionAdjustedStats):
                mean, sd = st.post.mean, st.post.stddev
                adj = st.estimate(theta or 0.0, center).mean if st.n else None
            else:
                mean, sd, adj = st.mean, getattr(st, "stddev", None), None
            if isinstance(st, QuantileStats):
                sd = None
            n = st.n
            if v == control or ctrl_stats is None:
                msg = M.EMPTY_ARM if n == 0 else None
                rows.append(VariantResult(v, n, mean if n else None, v == control, sd if n else None,
                                          adj, None, message=msg))
                continue
            eff = compare(ctrl_stats, st, settings, higher_is_better=mspec.higher_is_better,
                          theta=theta if theta is not None else (0.0 if isinstance(st, RegressionAdjustedStats) else None),
                          pre_center=center)
            if theta is None and isinstance(st, RegressionAdjustedStats):
                eff = _with_message(eff, M.COVARIATE_CONSTANT)
            rows.append(VariantResult(v, n, mean if n else None, False, sd if n else None, adj, eff))
        built.append((mspec, role, rows, cuped, notes))

    # multiple-testing adjustment over goal metrics × treatment arms
    family = [(i, j) for i, (_, role, rows, _, _) in enumerate(built) if role == "goal"
              for j, r in enumerate(rows) if r.effect is not None]
    pvals = [built[i][2][j].effect.p_value for i, j in family]  # type: ignore[union-attr]
    adjusted = adjust_p_values(pvals, spec.correction) if spec.method != "bayesian" else [None] * len(pvals)
    adj_map = dict(zip(family, adjusted))

    metric_results = []
    for i, (mspec, role, rows, cuped, notes) in enumerate(built):
        final_rows = []
        for j, r in enumerate(rows):
            if r.effect is None:
                final_rows.append(r)
                continue
            p_adj = adj_map.get((i, j)) if role == "goal" else None
            verdict = _verdict(r.effect, p_adj if role == "goal" else r.effect.p_value, spec.alpha,
                               mspec.higher_is_better)
            final_rows.append(VariantResult(r.variant, r.n, r.mean, False, r.stddev, r.mean_adjusted, r.effect,
                                            p_adj, verdict, r.effect.message))
            for code in r.effect.messages:
                messages.append({"code": code, "metric": mspec.name, "variant": r.variant,
                                 "message": M.describe(code)})
        gstatus = None
        if role == "guardrail":
            verdicts = [r.verdict for r in final_rows if not r.is_control]
            harmful = []
            for r in final_rows:
                if r.is_control or r.effect is None or r.effect.effect_abs is None:
                    continue
                harmful.append(r.effect.effect_abs < 0 if mspec.higher_is_better else r.effect.effect_abs > 0)
            gstatus = "failed" if "loss" in verdicts else ("warning" if any(harmful) else "ok")
            if gstatus == "failed":
                messages.insert(1 if srm.warning else 0, {
                    "code": "guardrail_failed", "metric": mspec.name,
                    "message": f"guardrail {mspec.name!r} got significantly worse"})
        metric_results.append(MetricResult(
            mspec.name, metric_types[mspec.name], role, mspec.higher_is_better, final_rows, cuped, gstatus,
            mspec.quantile if metric_types[mspec.name] == "quantile" else None, notes))
    return ExperimentResult(spec, control, order, dict(counts), srm, metric_results, messages,
                            dict(excluded or {}), dict(source or {}))


def _with_message(eff: EffectResult, code: str) -> EffectResult:
    from dataclasses import replace

    if code in eff.messages:
        return eff
    return replace(eff, messages=(*eff.messages, code))


def _variant_order(spec: ExperimentSpec, seen: Sequence[str]) -> tuple[str | None, list[str]]:
    seen = [str(s) for s in seen]
    if spec.variants is not None:
        order = list(spec.variants)
        control = spec.control or order[0]
        return control, order
    if not seen:
        raise SpecError("no units with a variant were found (check the exposure event / variant column)")
    control = spec.control
    if control is None:
        if "control" in seen:
            control = "control"
        else:
            raise SpecError("no control given; pass --control VALUE (variants seen: "
                            + ", ".join(sorted(seen)) + ")")
    if control not in seen:
        # Usually a typo; a planned arm that truly got no units can be named with --variants.
        raise SpecError(f"control {control!r} is not one of the variants in the data ({', '.join(sorted(set(seen)))}); "
                        f"to analyse a planned arm with no units, list all arms with variants=[...]")
    others = sorted(s for s in set(seen) if s != control)
    return control, [control, *others]


# --------------------------------------------------------------------------- tables


def read_table(source: Any) -> tuple[pd.DataFrame, str]:
    """Read a CSV / TSV / Parquet / JSON-lines file (or take a DataFrame /
    Arrow table) into pandas. Returns ``(frame, label)``."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<dataframe>"
    if hasattr(source, "to_pandas") and not isinstance(source, (str, Path)):
        return source.to_pandas(), "<table>"
    path = Path(source)
    label = str(source)
    if not path.exists():
        raise InputFileError(f"{label}: file not found")
    if path.is_dir():
        raise InputFileError(f"{label}: is a directory, not a table file")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() in (".gz", ".zst") else path.suffix.lower()
    import duckdb

    con = duckdb.connect()
    try:
        if suffix.startswith((".parquet", ".pq")):
            rel = con.read_parquet(str(path))
        elif suffix.startswith((".jsonl", ".ndjson", ".json")):
            rel = con.read_json(str(path))
        elif suffix.startswith((".csv", ".tsv", ".txt")) or suffix == "":
            rel = con.read_csv(str(path))
        else:
            raise InputFileError(f"{label}: unsupported file type {path.suffix!r}; use CSV, Parquet or JSONL")
        return rel.df(), label
    except InputFileError:
        raise
    except Exception as exc:  # duckdb errors
        raise InputFileError(f"{label}: could not read the file: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}


def _numeric_column(df: pd.DataFrame, col: str, label: str, what: str) -> np.ndarray:
    if col not in df.columns:
        raise InputFileError(f"{label}: {what} column {col!r} not found; columns are: "
                             + ", ".join(map(str, df.columns)), details={"file": label, "column": col})
    s = df[col]
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    nonnull = s.dropna()
    low = nonnull.astype(str).str.strip().str.lower()
    if len(low) and low.isin(_TRUE | _FALSE).all():
        out = np.full(len(s), np.nan)
        mask = s.notna().to_numpy()
        out[mask] = low.isin(_TRUE).to_numpy().astype(float)
        return out
    conv = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & conv.isna()
    if bad.any():
        examples = ", ".join(repr(x) for x in s[bad].astype(str).unique()[:3])
        raise InputFileError(f"{label}: {what} column {col!r} is not numeric (values like {examples})",
                             details={"file": label, "column": col})
    return conv.astype("float64").to_numpy()


def _variant_strings(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s) and s.dropna().apply(float.is_integer).all():
        s = s.astype("Int64")
    out = s.astype("string")
    return out


def _where(positions: Sequence[int], label: str, limit: int = 5) -> str:
    """``rows 1, 2 (lines 2, 3)``: data rows counted from 1; a CSV file's line numbers too."""
    rows = [int(p) + 1 for p in positions[:limit]]
    more = ", …" if len(positions) > limit else ""
    text = "rows " + ", ".join(map(str, rows)) + more
    if any(ext in label.lower() for ext in (".csv", ".tsv", ".txt")):
        text += " (lines " + ", ".join(str(r + 1) for r in rows) + more + ")"
    return text


def _unit_examples(units: pd.Series, ids: Sequence[Any], label: str, limit: int = 3) -> str:
    parts = [f"{u!r} on {_where(np.flatnonzero((units == u).fillna(False).to_numpy()), label)}" for u in ids[:limit]]
    return "; ".join(parts)


def _check_units(df: pd.DataFrame, col: str, variants: pd.Series, keep: np.ndarray, label: str,
                 messages: list, excluded: dict) -> np.ndarray:
    """Units must be unique: a unit in two variants is excluded and counted; a column whose every
    unit is in two variants, or a unit with several rows in one variant, is an error."""
    details = {"file": label, "column": col}
    units = df[col].astype("string")
    empty = units.isna().to_numpy() & keep
    if empty.any():
        raise ValidationError(f"{label}: the unit column {col!r} is empty on {_where(np.flatnonzero(empty), label)}; "
                              "every row needs a unit id", details=details)
    sub = pd.DataFrame({"u": units[keep], "v": variants[keep]})
    nvar = sub.groupby("u")["v"].nunique()
    multi = nvar[nvar > 1].index
    if len(multi):
        ex = _unit_examples(units, list(multi), label)
        if len(multi) == len(nvar):
            raise ValidationError(
                f"{label}: the unit column {col!r} is not unique: all {len(multi)} unit ids appear in more than one "
                f"variant (e.g. {ex}); the table needs one row per unit — is {col!r} the unit id?", details=details)
        excluded[M.MULTIPLE_VARIANTS] = int(len(multi))
        messages.append({"code": M.MULTIPLE_VARIANTS, "count": int(len(multi)),
                         "message": f"{len(multi)} units seen in more than one variant were excluded (e.g. {ex})"})
        keep = keep & ~units.isin(multi).to_numpy()
    dup = units[keep].duplicated(keep=False)
    if dup.any():
        ids = list(units[keep][dup].unique())
        raise ValidationError(f"{label}: the unit column {col!r} is not unique: {len(ids)} units have several rows "
                              f"(e.g. {_unit_examples(units, ids, label)}); the table needs one row per unit — "
                              "aggregate it first", details=details)
    return keep


def analyze_table(table: Any, spec: ExperimentSpec | dict, **overrides) -> ExperimentResult:
    """Analyse a per-unit table (path to CSV/Parquet/JSONL, DataFrame or Arrow table).

    Units seen in more than one variant are excluded and reported; several
    rows of one unit in the same variant are an error (the table must have
    one row per unit). Boolean columns (``True``/``False``) become 0/1.
    """
    spec = _coerce_spec(spec, **overrides)
    df, label = read_table(table)
    for col, what in [(spec.variant, "variant"), (spec.unit, "unit")]:
        if col is not None and col not in df.columns:
            raise InputFileError(f"{label}: {what} column {col!r} not found; columns are: "
                                 + ", ".join(map(str, df.columns)), details={"file": label, "column": col})
    messages: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}
    variants = _variant_strings(df[spec.variant])
    missing_variant = variants.isna()
    if missing_variant.any():
        excluded["missing_variant"] = int(missing_variant.sum())
        messages.append({"code": "missing_variant", "count": int(missing_variant.sum()),
                         "message": f"{int(missing_variant.sum())} rows without a variant were excluded"})
    keep = ~missing_variant.to_numpy()
    if not keep.any():
        raise ValidationError(f"{label}: the variant column {spec.variant!r} is empty on all {len(df)} rows",
                              details={"file": label, "column": spec.variant})
    if spec.unit is not None:
        keep = _check_units(df, spec.unit, variants, keep, label, messages, excluded)
    if spec.variants is not None:
        unknown = keep & ~variants.isin(spec.variants).fillna(False).to_numpy()
        if unknown.any():
            if unknown.sum() == keep.sum():
                seen = ", ".join(sorted(set(variants[keep].astype(str))))
                raise ValidationError(f"{label}: none of the {int(keep.sum())} units is in a listed variant "
                                      f"({', '.join(spec.variants)}); the column {spec.variant!r} has {seen}",
                                      details={"file": label, "column": spec.variant})
            excluded[M.UNKNOWN_VARIANT] = int(unknown.sum())
            messages.append({"code": M.UNKNOWN_VARIANT, "count": int(unknown.sum()),
                             "message": f"{int(unknown.sum())} units in variants not listed in 'variants' "
                                        "were excluded"})
            keep &= ~unknown
    df = df.loc[keep].reset_index(drop=True)
    variants = variants[keep].reset_index(drop=True)
    control, order = _variant_order(spec, variants.dropna().unique().tolist())
    spec = spec if spec.control == control else spec.model_copy(update={"control": control})
    vkey = variants.to_numpy(dtype=object)
    counts = {v: int((vkey == v).sum()) for v in order}
    idx = {v: np.flatnonzero(vkey == v) for v in order}

    metric_stats: dict[str, dict[str, Any]] = {}
    metric_types: dict[str, str] = {}
    cov_names: dict[str, str] = {}
    for mspec in [*spec.metrics, *spec.guardrails]:
        if mspec.is_event_based or any(vs.is_event_based for vs in mspec.value_specs()):
            raise SpecError(f"metric {mspec.name!r} is defined from events; use analyze_workspace "
                            "(or --workspace) for it")
        stats: dict[str, Any] = {}
        if mspec.type == "ratio":
            num = _numeric_column(df, mspec.numerator.column, label, f"metric {mspec.name!r} numerator")
            den = _numeric_column(df, mspec.denominator.column, label, f"metric {mspec.name!r} denominator")
            _note_missing(messages, mspec.name, np.isnan(num) | np.isnan(den))
            for v in order:
                stats[v] = RatioStats.from_values(num[idx[v]], den[idx[v]])
            mtype = "ratio"
        else:
            vals = _numeric_column(df, mspec.column, label, "metric")
            _note_missing(messages, mspec.name, np.isnan(vals))
            by = {v: vals[idx[v]] for v in order}
            mtype = mspec.type if mspec.type != "auto" else _infer_type(by)
            if mtype == "proportion":
                fin = vals[np.isfinite(vals)]
                if fin.size and not np.all((fin == 0) | (fin == 1)):
                    raise InputFileError(f"{label}: metric column {mspec.column!r} is declared a proportion "
                                         "but has values other than 0 and 1",
                                         details={"file": label, "column": mspec.column})
            covname = spec.covariate if mspec.covariate is None else (mspec.covariate or None)
            if mtype == "quantile":
                for v in order:
                    stats[v] = QuantileStats.from_values(by[v], mspec.quantile, spec.alpha)
            elif covname and mtype in ("mean", "proportion"):
                cov = _numeric_column(df, covname, label, "covariate")
                miss = np.isnan(cov) & np.isfinite(vals)
                if miss.any():
                    messages.append({"code": M.MISSING_VALUES, "metric": mspec.name, "count": int(miss.sum()),
                                     "message": f"{int(miss.sum())} units without covariate {covname!r} got the "
                                                "pooled covariate mean (CUPED stays unbiased)"})
                    cov = np.where(np.isnan(cov), np.nanmean(cov) if np.isfinite(cov).any() else 0.0, cov)
                for v in order:
                    stats[v] = RegressionAdjustedStats.from_values(by[v], cov[idx[v]])
                cov_names[mspec.name] = covname
            else:
                if covname and mtype not in ("mean", "proportion"):
                    messages.append({"code": CUPED_NOT_APPLIED, "metric": mspec.name,
                                     "message": f"CUPED applies to mean and proportion metrics, not {mtype}"})
                cls = ProportionStats if mtype == "proportion" else SampleMeanStats
                for v in order:
                    stats[v] = cls.from_values(by[v])
        metric_stats[mspec.name] = stats
        metric_types[mspec.name] = mtype
    source = {"kind": "table", "table": label, "rows": int(len(df))}
    return analyze_stats(spec, order, counts, metric_stats, metric_types, messages=messages,
                         excluded=excluded, source=source, cuped_covariates=cov_names)


def _note_missing(messages: list, name: str, mask: np.ndarray) -> None:
    k = int(np.count_nonzero(mask))
    if k:
        messages.append({"code": M.MISSING_VALUES, "metric": name, "count": k,
                         "message": f"{k} units with a missing value were left out of metric {name!r}"})


# --------------------------------------------------------------------------- workspace


def _naive_utc(value: date | datetime | None, tz: str) -> datetime | None:
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def analyze_workspace(engine: Any, spec: ExperimentSpec | dict, timezone: str | None = None,
                      **overrides) -> ExperimentResult:
    """Analyse an experiment recorded as events.

    ``engine.table("events")`` gives the events (``user_id``, ``event``,
    ``ts`` naive UTC, ``variant``, ``revenue``, JSON ``properties`` …) and
    ``engine.execute(expr)`` runs an ibis expression. Each user's first
    ``spec.exposure_event`` assigns the variant; users exposed to more than
    one variant are excluded and counted. Metric values are aggregated per
    user in ibis (so DuckDB and Spark both work); the statistics run here.
    ``timezone`` (default: the engine's workspace zone, else UTC) interprets
    ``spec.start``/``spec.end`` dates and reports the exposure period.
    """
    import ibis

    timezone = timezone or getattr(engine, "timezone", None) or "UTC"

    spec = _coerce_spec(spec, WorkspaceExperimentSpec, **overrides)
    if not spec.exposure_event:
        raise SpecError("a workspace experiment needs exposure_event (--exposure-event NAME)")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:
        raise SpecError(f"unknown timezone {timezone!r}") from None
    ev = engine.table("events")
    cols = set(ev.columns)
    for c in ("user_id", "event", "ts", "variant"):
        if c not in cols:
            raise SpecError(f"the events table has no {c!r} column")

    expo = ev.filter(ev.event == spec.exposure_event, ev.variant.notnull())
    if spec.experiment is not None:
        key = spec.experiment_property
        expo = expo.filter(_prop(engine, expo, key, cols).cast("string") == spec.experiment)
    start, end = _naive_utc(spec.start, timezone), _naive_utc(spec.end, timezone)
    if isinstance(spec.end, date) and not isinstance(spec.end, datetime) and end is not None:
        end = _naive_utc(datetime(spec.end.year, spec.end.month, spec.end.day), timezone)
        end = end + pd.Timedelta(days=1).to_pytimedelta()
    users = expo.group_by(expo.user_id).aggregate(
        first_ts=expo.ts.min(), n_variants=expo.variant.nunique(), variant=expo.variant.min())
    # the analysis period selects users by their *first* exposure (earlier-exposed users stay out)
    if start is not None:
        users = users.filter(users.first_ts >= start)
    if end is not None:
        users = users.filter(users.first_ts < end)

    summary = engine.execute(users.aggregate(
        multi=(users.n_variants > 1).cast("int64").sum(), first=users.first_ts.min(),
        last=users.first_ts.max(), total=users.user_id.count()))
    srow = _first_row(summary)
    messages: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}
    n_multi = int(srow.get("multi") or 0)
    if n_multi and n_multi == int(srow.get("total") or 0):
        ids = engine.execute(users.filter(users.n_variants > 1).select("user_id").order_by("user_id").limit(3))
        ex = ", ".join(repr(str(r["user_id"])) for r in ids.to_pylist())
        raise ValidationError(f"all {n_multi} exposed users got more than one variant in their "
                              f"{spec.exposure_event!r} events (e.g. {ex}): nothing to compare — check that the "
                              "variant column holds the user's assigned variant")
    if n_multi:
        excluded[M.MULTIPLE_VARIANTS] = n_multi
        messages.append({"code": M.MULTIPLE_VARIANTS, "count": n_multi,
                         "message": f"{n_multi} users exposed to more than one variant were excluded"})
    assigned = users.filter(users.n_variants == 1).select("user_id", "first_ts", "variant")

    all_specs = [*spec.metrics, *spec.guardrails]
    for m in all_specs:
        for vs in m.value_specs():
            if not vs.is_event_based:
                raise SpecError(f"metric {m.name!r}: workspace metrics are defined from events "
                                "(kind conversion|count|sum, event, property, window_days)")

    use_pre = (spec.covariate or "").lower() in ("pre", "pre-period", "pre_period")
    if spec.covariate and not use_pre:
        raise SpecError("in a workspace the only covariate is 'pre': the same metric over the "
                        f"{spec.cuped_pre_days:g} days before exposure")

    def window(vs: ValueSpec) -> float | None:
        return vs.window_days if vs.window_days is not None else spec.window_days

    events_needed = sorted({vs.event for m in all_specs for vs in m.value_specs()})
    windows = [window(vs) for m in all_specs for vs in m.value_specs()]
    max_window = None if any(w is None for w in windows) else max(windows)
    pre_s = int(round(spec.cuped_pre_days * 86400))

    me = ev.filter(ev.event.isin(events_needed))
    prop_cols: dict[str, Any] = {}
    for m in all_specs:
        for vs in m.value_specs():
            if vs.kind == "sum" and vs.property not in prop_cols:
                if vs.property in cols or "properties" in cols:
                    prop_cols[vs.property] = _prop(engine, me, vs.property, cols).try_cast("float64")
                else:
                    raise SpecError(f"metric {m.name!r}: property {vs.property!r} is neither a column of "
                                    "the events table nor available in its JSON properties")
    pnames = {p: f"__p{i}" for i, p in enumerate(prop_cols)}
    me = me.select(__uid=me.user_id, __ev=me.event, __ts=me.ts,
                   **{pnames[p]: expr for p, expr in prop_cols.items()})
    conds = [me.__uid == assigned.user_id]
    lower = assigned.first_ts - ibis.interval(seconds=pre_s) if use_pre else assigned.first_ts
    conds.append(me.__ts >= lower)
    if max_window is not None:
        conds.append(me.__ts < assigned.first_ts + ibis.interval(seconds=int(round(max_window * 86400))))
    j = assigned.left_join(me, conds)

    def value_expr(vs: ValueSpec, pre: bool):
        w = window(vs)
        if pre:
            cond = (j.__ev == vs.event) & (j.__ts >= j.first_ts - ibis.interval(seconds=pre_s)) & (j.__ts < j.first_ts)
        else:
            cond = (j.__ev == vs.event) & (j.__ts >= j.first_ts)
            if w is not None:
                cond = cond & (j.__ts < j.first_ts + ibis.interval(seconds=int(round(w * 86400))))
        cond = cond.fill_null(False)
        if vs.kind == "sum":
            return cond.ifelse(j[pnames[vs.property]].fill_null(0.0), 0.0).sum().fill_null(0.0).cast("float64")
        hit = cond.ifelse(1, 0)
        agg = hit.sum() if vs.kind == "count" else hit.max()
        return agg.fill_null(0).cast("float64")

    aggs: dict[str, Any] = {}
    colmap: dict[str, dict[str, str]] = {}
    for i, m in enumerate(all_specs):
        names = {}
        for k, vs in zip(("v", "d"), m.value_specs()):
            if vs.kind is None:
                vs = vs.model_copy(update={"kind": "conversion"})
            aggs[f"m{i}_{k}"] = value_expr(vs, False)
            names[k] = f"m{i}_{k}"
            if k == "v" and use_pre and m.type in ("auto", "mean", "proportion"):
                aggs[f"m{i}_x"] = value_expr(vs, True)
                names["x"] = f"m{i}_x"
        colmap[m.name] = names
    per_user = j.group_by([j.user_id, j.variant, j.first_ts]).aggregate(**aggs)

    data_end = None
    if spec.exclude_incomplete_windows:
        data_end = _first_row(engine.execute(ev.aggregate(mx=ev.ts.max()))).get("mx")
        if data_end is not None:
            data_end = pd.Timestamp(data_end).floor("us").to_pydatetime()

    # per-variant sufficient statistics in one query
    pu = per_user
    sums: dict[str, Any] = {"__n": pu.user_id.count()}
    for i, m in enumerate(all_specs):
        names = colmap[m.name]
        ok = None
        if data_end is not None:
            w = max((window(vs) or 0.0) for vs in m.value_specs())
            ok = pu.first_ts + ibis.interval(seconds=int(round(w * 86400))) <= ibis.literal(data_end)
        def val(c):
            return pu[c] if ok is None else ok.ifelse(pu[c], ibis.null().cast("float64"))
        v = val(names["v"])
        sums[f"m{i}_n"] = v.count()
        sums[f"m{i}_s"] = v.sum()
        sums[f"m{i}_ss"] = (v * v).sum()
        if "d" in names:
            d = val(names["d"])
            sums[f"m{i}_ds"] = d.sum()
            sums[f"m{i}_dss"] = (d * d).sum()
            sums[f"m{i}_vd"] = (v * d).sum()
        if "x" in names:
            x = val(names["x"])
            sums[f"m{i}_xs"] = x.sum()
            sums[f"m{i}_xss"] = (x * x).sum()
            sums[f"m{i}_xv"] = (x * v).sum()
    agg_tbl = engine.execute(pu.group_by(pu.variant).aggregate(**sums)).to_pylist()
    by_variant = {str(r["variant"]): r for r in agg_tbl}

    control, order = _variant_order(spec, list(by_variant))
    spec = spec if spec.control == control else spec.model_copy(update={"control": control})
    counts = {v: int((by_variant.get(v) or {}).get("__n") or 0) for v in order}
    unknown = {k: v for k, v in by_variant.items() if k not in order}
    if unknown:
        k = sum(int(r["__n"] or 0) for r in unknown.values())
        excluded[M.UNKNOWN_VARIANT] = k
        messages.append({"code": M.UNKNOWN_VARIANT, "count": k,
                         "message": f"{k} users in variants not listed in 'variants' were excluded"})

    def g(r, key):
        return float((r or {}).get(key) or 0.0)

    metric_stats: dict[str, dict[str, Any]] = {}
    metric_types: dict[str, str] = {}
    cov_names: dict[str, str] = {}
    for i, m in enumerate(all_specs):
        names = colmap[m.name]
        stats: dict[str, Any] = {}
        if m.type == "ratio":
            mtype = "ratio"
            for v in order:
                r = by_variant.get(v)
                stats[v] = RatioStats(int(g(r, f"m{i}_n")), g(r, f"m{i}_s"), g(r, f"m{i}_ss"),
                                      g(r, f"m{i}_ds"), g(r, f"m{i}_dss"), g(r, f"m{i}_vd"))
        elif m.type == "quantile":
            mtype = "quantile"
            col = names["v"]
            q = pu.select(pu.variant, pu[col], pu.first_ts)
            if data_end is not None:
                w = window(m) or 0.0
                q = q.filter(q.first_ts + ibis.interval(seconds=int(round(w * 86400))) <= ibis.literal(data_end))
            vals = engine.execute(q.select("variant", col)).to_pandas()
            for v in order:
                x = vals.loc[vals["variant"].astype(str) == v, col].to_numpy(dtype=float)
                stats[v] = QuantileStats.from_values(x, m.quantile, spec.alpha)
        else:
            if m.type != "auto":
                mtype = m.type
            else:
                kind = m.kind or "conversion"
                mtype = "proportion" if kind == "conversion" else "mean"
            for v in order:
                r = by_variant.get(v)
                n = int(g(r, f"m{i}_n"))
                if "x" in names:
                    stats[v] = RegressionAdjustedStats(n, g(r, f"m{i}_s"), g(r, f"m{i}_ss"), g(r, f"m{i}_xs"),
                                                       g(r, f"m{i}_xss"), g(r, f"m{i}_xv"))
                elif mtype == "proportion":
                    stats[v] = ProportionStats(n, g(r, f"m{i}_s"))
                else:
                    stats[v] = SampleMeanStats(n, g(r, f"m{i}_s"), g(r, f"m{i}_ss"))
            if "x" in names:
                cov_names[m.name] = f"pre-period ({spec.cuped_pre_days:g} days)"
        if data_end is not None:
            dropped = sum(counts.values()) - sum(s.n for s in stats.values())
            if dropped > 0:
                messages.append({"code": M.INCOMPLETE_WINDOWS, "metric": m.name, "count": int(dropped),
                                 "message": f"{dropped} users whose window had not closed were left out of "
                                            f"{m.name!r}"})
        metric_stats[m.name] = stats
        metric_types[m.name] = mtype

    from zoneinfo import ZoneInfo

    def local(ts):
        if ts is None:
            return None
        ts = pd.Timestamp(ts)
        return ts.tz_localize("UTC").tz_convert(ZoneInfo(timezone)).isoformat()

    source = {"kind": "workspace", "exposure_event": spec.exposure_event, "timezone": timezone,
              "first_exposure": local(srow.get("first")), "last_exposure": local(srow.get("last")),
              "data_end": local(data_end) if data_end is not None else None}
    return analyze_stats(spec, order, counts, metric_stats, metric_types, messages=messages,
                         excluded=excluded, source=source, cuped_covariates=cov_names)


def _prop(engine: Any, t: Any, name: str, cols: set[str]):
    """A column, or a key of the JSON ``properties`` (via the engine's helper when it has one)."""
    if name in cols and name != "properties":
        return t[name]
    if hasattr(engine, "prop"):
        return engine.prop(t, name)
    import ibis

    pj = t.properties.cast("json")[name]
    return ibis.coalesce(pj.str, pj.cast("string"))  # JSON strings unquoted, numbers as text


def experiment(engine: Any, spec: WorkspaceExperimentSpec | dict) -> ExperimentResult:
    """Registry entry point: :func:`analyze_workspace` in the engine's time zone."""
    return analyze_workspace(engine, _coerce_spec(spec, WorkspaceExperimentSpec))


def _first_row(table: Any) -> dict[str, Any]:
    if hasattr(table, "to_pylist"):
        rows = table.to_pylist()
        return rows[0] if rows else {}
    if isinstance(table, pd.DataFrame):
        return table.iloc[0].to_dict() if len(table) else {}
    return {}
