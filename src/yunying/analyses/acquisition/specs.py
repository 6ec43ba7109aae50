"""Acquisition specs: settings shared by every acquisition analysis and each one's own."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..base import Spec
from ..filtering import FilteredSpec
from .weights import MODELS
from ...errors import Text

NONE = "(none)"
Attribution = Literal["first", "last", "linear", "time_decay", "position", "markov"]
BY_COLUMNS = {"channel": ["channel"], "campaign": ["channel", "campaign"], "placement": ["channel", "placement"]}


# ------------------------------------------------------------------------------------------ specs

def attribution_key(v):
    """``by`` of channels / attribution is the attribution key; a breakdown by who the users are is a filter."""
    if isinstance(v, str) and v.startswith(("user.", "segment:", "event.")):
        raise ValueError(Text("acquisition.specs.here_by_attribution_key", v=v))
    return v


#: the event properties that make a touch's key: a filter on them would drop touches (re-attributing users to
#: other channels or to direct/unknown), never spend rows
TOUCH_KEYS = ("channel", "utm_source", "utm_campaign", "utm_content")


def _no_spend_filters(filters: list[dict]) -> None:
    """Budget: spend rows belong to no user or event, so a filter cannot choose spend; a filter on a touch's key
    (``event.channel`` …) would only move users between channels. Both are errors, pointing at ``channels``."""
    from ...model import filters as F

    tree = F.parse_all(filters)
    keys = sorted({f.name for f in F.fields(tree) if f.scope == "event" and f.name in TOUCH_KEYS}) if tree else []
    if keys:
        raise ValueError(Text("acquisition.specs.filters_on_cannot_choose", value=', '.join('event.' + k for k in keys)))

class AcquisitionSpec(Spec):
    """Settings shared by every acquisition analysis."""

    kind = "acquisition"
    attribution: Attribution = "first"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    lookback_days: int = 30
    half_life_days: float = 7.0
    position_shares: tuple[float, float] = (0.4, 0.4)
    touch_gap_minutes: float = 30.0
    channel_map: dict[str, str] = Field(default_factory=dict)
    confidence: float = 0.95

    @model_validator(mode="after")
    def _check_common(self):
        if self.lookback_days < 0:
            raise ValueError(Text("acquisition.specs.lookback_days_must_0"))
        if self.half_life_days <= 0:
            raise ValueError(Text("acquisition.models.half_life_days_must"))
        f, l_ = self.position_shares
        if f < 0 or l_ < 0 or f + l_ > 1:
            raise ValueError(Text("acquisition.specs.position_shares_must_non"))
        if not 0.5 <= self.confidence < 1:
            raise ValueError(Text("acquisition.specs.confidence_must_0_5"))
        return self


class ChannelsSpec(AcquisitionSpec, FilteredSpec):
    """Channel / campaign / placement table joined to spend."""

    kind = "channels"
    by: Literal["channel", "campaign", "placement"] = "channel"
    interval: Literal["day", "week", "month"] | None = None
    ltv_days: int = 180
    _by = field_validator("by", mode="before")(attribution_key)

    @field_validator("ltv_days")
    @classmethod
    def _ltv(cls, v):
        if v < 1:
            raise ValueError(Text("acquisition.specs.ltv_days_must_1"))
        return v


class PlacementsSpec(AcquisitionSpec, FilteredSpec):
    """The placement funnel (exposure → read → click → registration → purchase)."""

    kind = "placements"
    channel: str | None = None
    leak_threshold: float = 0.67
    min_denominator: int = 30

    @field_validator("leak_threshold")
    @classmethod
    def _thr(cls, v):
        if not 0 < v < 1:
            raise ValueError(Text("acquisition.specs.leak_threshold_must_between"))
        return v


class BudgetSpec(AcquisitionSpec, FilteredSpec):
    """Response curves per channel and a reallocation of ``total`` over ``days`` days."""

    kind = "budget"
    total: float | None = None
    days: int = 30
    objective: Literal["paying_users", "registrations"] = "paying_users"
    curve: Literal["log", "hill"] = "log"
    recent_days: int = 28
    min_days: int = 5
    max_scale: float = 3.0
    settle_days: int = 3
    channels: list[str] | None = None
    draws: int = 400
    seed: int = 0

    @model_validator(mode="after")
    def _check_budget(self):
        if self.total is not None and self.total < 0:
            raise ValueError(Text("acquisition.specs.total_must_0"))
        if self.days < 1 or self.recent_days < 1:
            raise ValueError(Text("acquisition.specs.days_recent_days_must"))
        if self.max_scale <= 0:
            raise ValueError(Text("acquisition.specs.max_scale_must_positive"))
        if self.min_days < 3:
            raise ValueError(Text("acquisition.specs.min_days_must_3"))
        _no_spend_filters(self.filters)
        return self


class AttributionSpec(AcquisitionSpec, FilteredSpec):
    """Registrations and revenue per key under several attribution models side by side."""

    kind = "attribution"
    by: Literal["channel", "campaign", "placement"] = "channel"
    _by = field_validator("by", mode="before")(attribution_key)
    models: list[Attribution] = Field(default_factory=lambda: list(MODELS))
