"""Acquisition specs: settings shared by every acquisition analysis and each one's own."""
from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from ..base import Spec
from ..filtering import FilteredSpec
from .models import MODELS

NONE = "(none)"
Attribution = Literal["first", "last", "linear", "time_decay", "position", "markov"]
BY_COLUMNS = {"channel": ["channel"], "campaign": ["channel", "campaign"], "placement": ["channel", "placement"]}
_DAY = pd.Timedelta(days=1)


# ------------------------------------------------------------------------------------------ specs

def attribution_key(v):
    """``by`` of channels / attribution is the attribution key; a breakdown by who the users are is a filter."""
    if isinstance(v, str) and v.startswith(("user.", "segment:", "event.")):
        raise ValueError(f"{v!r}: here by is the attribution key (channel, campaign or placement); to look at a "
                         "group of users, filter them: --segment NAME or --where \"user.PROP = …\" "
                         "(docs/users.md#where-each-filter-applies)")
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
        raise ValueError(f"filters on {', '.join('event.' + k for k in keys)} cannot choose spend: spend rows belong "
                         "to no event (filters select the users counted against it); choose the channels to "
                         "reallocate with channels=[…] (cli --channel)")

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
            raise ValueError("lookback_days must be >= 0")
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        f, l_ = self.position_shares
        if f < 0 or l_ < 0 or f + l_ > 1:
            raise ValueError("position_shares must be non-negative and sum to at most 1")
        if not 0.5 <= self.confidence < 1:
            raise ValueError("confidence must be in [0.5, 1)")
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
            raise ValueError("ltv_days must be >= 1")
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
            raise ValueError("leak_threshold must be between 0 and 1")
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
            raise ValueError("total must be >= 0")
        if self.days < 1 or self.recent_days < 1:
            raise ValueError("days and recent_days must be >= 1")
        if self.max_scale <= 0:
            raise ValueError("max_scale must be positive")
        if self.min_days < 3:
            raise ValueError("min_days must be >= 3")
        _no_spend_filters(self.filters)
        return self


class AttributionSpec(AcquisitionSpec, FilteredSpec):
    """Registrations and revenue per key under several attribution models side by side."""

    kind = "attribution"
    by: Literal["channel", "campaign", "placement"] = "channel"
    _by = field_validator("by", mode="before")(attribution_key)
    models: list[Attribution] = Field(default_factory=lambda: list(MODELS))
