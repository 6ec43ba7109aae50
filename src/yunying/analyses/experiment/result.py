"""The experiment result: SRM check, one entry per metric and variant; JSON, tables and a chart."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ...stats import EffectResult, SRMResult
from ...stats.effects import finite_or_none
from ..base import Result
from .spec import ExperimentSpec

if TYPE_CHECKING:  # pragma: no cover - pandas loads when a frame is asked for (start-up time)
    import pandas as pd



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
    ci_level: float | None = None        # the level of every interval of this metric (docs/experiments.md)
    ci_correction: str | None = None     # the multiple-comparison correction that level is adjusted for

    def to_dict(self, method: str) -> dict[str, Any]:
        out = {"metric": self.metric, "type": self.type, "role": self.role,
               "higher_is_better": self.higher_is_better, "ci_level": self.ci_level,
               "ci_correction": self.ci_correction}
        if self.quantile is not None:
            out["quantile"] = self.quantile
        out["variants"] = [v.to_dict(method) for v in self.variants]
        out["cuped"] = None if self.cuped is None else {k: finite_or_none(v) for k, v in self.cuped.items()}
        if self.role == "guardrail":
            out["guardrail_status"] = self.guardrail_status
        out["messages"] = list(self.messages)
        return out


# A control called "control" (or 对照组 …) is not named again in titles: "vs the control group", not "(control)".
CONTROL_WORDS = {"control", "ctrl", "对照组", "對照組", "对照", "對照", "控制组", "控制組"}


def control_name(control: str) -> str:
    """`` (NAME)`` after "the control group", or nothing when the name only says "control".

    >>> control_name("control"), control_name("对照组"), control_name("old_checkout")
    ('', '', ' (old_checkout)')
    """
    return "" if str(control).strip().lower() in CONTROL_WORDS else f" ({control})"


@dataclass(frozen=True)
class ExperimentResult(Result):
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

    @property
    def ci_level(self) -> float:
        """The level of the goal metrics' intervals (each metric's own ``ci_level`` says it for that metric)."""
        goals = [m.ci_level for m in self.metrics if m.role == "goal" and m.ci_level is not None]
        if goals:
            return goals[0]
        return 1 - (2 * self.spec.alpha if self.method == "bayesian" else self.spec.alpha)

    @property
    def ci_kind(self) -> str:
        return {"bayesian": "credible", "sequential": "always-valid"}.get(self.method, "confidence")

    # the Result protocol (analyses/base.py): ``frame`` is one row per (metric, variant), ``meta`` the rest
    @property
    def frame(self) -> pd.DataFrame:
        return self.to_pandas()

    @property
    def meta(self) -> dict[str, Any]:
        return {k: v for k, v in self.to_dict().items() if k not in ("metrics", "kind", "spec")}

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
            "ci_level": self.ci_level,
            "ci_kind": self.ci_kind,
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
        return self.to_pandas().to_html(index=False)

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
                    "ci_level": None if v.is_control else m.ci_level,
                    "ci_correction": None if v.is_control else m.ci_correction,
                    "p_value": d.get("p_value"), "p_value_adjusted": d.get("p_value_adjusted"),
                    "chance_to_win": d.get("chance_to_win"), "risk": d.get("risk"),
                    "variance_reduction": d.get("variance_reduction"),
                    "verdict": d.get("verdict"), "message": d.get("message"),
                })
        import pandas as pd

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
                own = "" if m.ci_level is None or m.ci_level == self.ci_level else f", {level_text(m.ci_level)}"
                labels.append(f"{m.metric} · {v.variant}" + (f" (guardrail{own})" if m.role == "guardrail" else ""))
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
        adjusted = next((m.ci_correction for m in self.metrics if m.ci_correction), None)
        fig.update_layout(
            title=f"Effect vs the control group{control_name(self.control)}, {level_text(self.ci_level)} "
                  f"{self.ci_kind} intervals" + (f" {ADJUSTED[adjusted]}" if adjusted else ""),
            xaxis_title="relative effect (%)", yaxis={"autorange": "reversed"},
            height=max(260, 80 + 48 * len(labels)), margin={"l": 10, "r": 10, "t": 50, "b": 40},
            showlegend=False,
        )
        return fig


ADJUSTED = {"holm": "(Holm-adjusted)", "bh": "(Benjamini–Hochberg-adjusted)"}  # phrases of labels/bayes.json


def level_text(level: float) -> str:
    """An interval's level as people read it: ``95%``, ``97.5%``, ``98.33%``.

    >>> level_text(0.9), level_text(0.975), level_text(1 - 0.05 / 3)
    ('90%', '97.5%', '98.33%')
    """
    return f"{round(100 * level, 2):g}%"


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return finite_or_none(obj)
