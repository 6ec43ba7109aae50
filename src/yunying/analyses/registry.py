"""Every analysis by name: its spec class and its compute function ``fn(engine, spec) -> Result``.

The query API, saved analyses and the dashboard look analyses up here, so an
analysis added to this table is available everywhere at once.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import SpecError

# kind -> (module, spec class, compute function)
_TABLE: dict[str, tuple[str, str, str]] = {
    "trends": ("trends", "TrendsSpec", "trends"),
    "overview": ("overview", "OverviewSpec", "overview"),
    "new_users": ("users", "NewUsersSpec", "new_users"),
    "revenue": ("users", "RevenueSpec", "revenue"),
    "funnel": ("funnel", "FunnelSpec", "funnel"),
    "retention": ("retention", "RetentionSpec", "retention"),
    "lifecycle": ("lifecycle", "LifecycleSpec", "lifecycle"),
    "stickiness": ("stickiness", "StickinessSpec", "stickiness"),
    "paths": ("paths", "PathsSpec", "paths"),
    "distribution": ("distribution", "DistributionSpec", "distribution"),
    "intervals": ("intervals", "IntervalsSpec", "intervals"),
    "experiment": ("experiment", "WorkspaceExperimentSpec", "experiment"),
    "channels": ("acquisition", "ChannelsSpec", "channels"),
    "placements": ("acquisition", "PlacementsSpec", "placements"),
    "budget": ("acquisition", "BudgetSpec", "budget"),
    "attribution": ("acquisition", "AttributionSpec", "attribution"),
    "rfm": ("rfm", "RfmSpec", "rfm"),
    "repurchase": ("repurchase", "RepurchaseSpec", "repurchase"),
    "customer_value": ("customer_value", "CustomerValueSpec", "customer_value"),
    "winback": ("customer_value", "WinbackSpec", "winback"),
    "metric": ("metrics", "MetricSpec", "metric"),
    "explain": ("explain", "ExplainSpec", "explain"),
    "content": ("content", "ContentSpec", "content"),
    "content_flags": ("content", "FlagsSpec", "flags"),
    "content_timing": ("content.timing", "TimingSpec", "timing"),
    "content_forecast": ("content.forecast", "ForecastSpec", "forecast"),
    "referrals": ("content.referrals", "ReferralSpec", "referrals"),
}


@dataclass(frozen=True)
class Analysis:
    kind: str
    spec_class: type
    compute: object

    def run(self, engine, spec_data: dict | str | object):
        spec = spec_data if isinstance(spec_data, self.spec_class) else self.spec_class.parse(spec_data)
        return self.compute(engine, spec)


def get(kind: str) -> Analysis:
    try:
        module, spec_name, fn_name = _TABLE[kind]
    except KeyError:
        raise SpecError(key="registry.unknown_analysis_known", kind=kind, _TABLE=', '.join(sorted(_TABLE))) from None
    try:
        mod = importlib.import_module(f"{__package__}.{module}")
        return Analysis(kind, getattr(mod, spec_name), getattr(mod, fn_name))
    except (ImportError, AttributeError) as exc:
        raise SpecError(key="registry.analysis_available_this_build", kind=kind, exc=exc) from None


def available() -> list[str]:
    out = []
    for kind in _TABLE:
        try:
            get(kind)
            out.append(kind)
        except SpecError:
            pass
    return out
