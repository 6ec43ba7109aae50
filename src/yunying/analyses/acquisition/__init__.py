"""Acquisition (拉新): spend joined to the users it bought.

``channels``   channel / campaign / placement table: spend, impressions, reads, clicks, CTR, CPC,
               registrations, cost per registration, activated, paying users, CAC (cost per paying
               user, with an interval), first-purchase revenue, revenue to date, ROAS, payback days
               and LTV/CAC — per period (day/week/month) if asked.
``placements`` the placement funnel exposure → read → click → registration → purchase, with each
               stage's conversion and cost, the leaking stage flagged against the channel's median,
               and placements ranked by CAC with intervals ("too early to tell").
``budget``     diminishing-returns response curves per channel and a reallocation of a budget that
               lowers overall CAC (a model estimate, with an uncertainty range): see ``response.py``.

Every definition (口徑) with a worked example: docs/acquisition.md.

Modules: ``specs`` (the specs), ``api`` (the entry points: which path computes a table). The pandas-free path
on DuckDB without filters (the CLI's hot path, issue 13): ``lean_data`` (SQL into arrays, the credits) and ``lean``
(the tables); ``weights`` (the models' arithmetic on arrays) and ``rows`` (rows and result classes) are shared by
both paths. The portable path (filters, Spark): ``data`` (loading into pandas frames, crediting users to keys),
``models`` (the attribution models on frames), ``channels_pd``, ``placements_pd``, ``budget_pd`` (with
``response``: the curves and the allocator), ``compare`` (models side by side). The formulas (CAC interval,
verdict, the leak test) are in :mod:`yunying.stats.acquisition`.

Data rules
----------
* A user's **signup** is their first ``events.signup`` event; registrations are counted by the
  signup's local date (workspace time zone).
* A **touch** is any non-signup event with a channel key, at or before the signup and at most
  ``lookback_days`` before it. The **channel key** is ``channel`` if set, else ``utm_source``,
  then mapped through ``channel_map`` (e.g. ``{"baidu": "search"}``) so it matches the spend
  table's ``channel``. Campaign = ``utm_campaign``; placement = the ``utm_content`` property.
  Touches of one user with the same (channel, campaign, placement) less than
  ``touch_gap_minutes`` apart are one touch (an ad click and its landing view).
  A user with no such touch but a channel key on the signup event itself gets that as the
  single touch; a user with neither is ``direct/unknown`` — never dropped.
* Revenue is the ``events.revenue`` property of ``events.purchase`` events, all of it to date
  (the end of the data), for the users whose signup falls in the period.
"""
from __future__ import annotations

import importlib

from .api import attribution, budget, channels, placements
from .specs import (BY_COLUMNS, NONE, AcquisitionSpec, Attribution, AttributionSpec, BudgetSpec, ChannelsSpec,
                    PlacementsSpec)

#: the other names, loaded on first use (PEP 562): the pandas path's modules are not imported at start-up
_LAZY = {
    "cac_interval": "...stats.acquisition", "verdict": "...stats.acquisition",
    "BudgetResult": ".rows", "budget_from": ".budget_pd", "daily_response_data": ".budget_pd",
    "AcquisitionResult": ".rows", "channels_from": ".channels_pd", "observed_mask": ".rows",
    "revenue_curves": ".channels_pd", "AttributionResult": ".rows", "attribution_from": ".compare",
    "AcqData": ".data", "credits": ".data", "load": ".data", "user_facts": ".data",
    "PlacementsResult": ".rows", "placements_from": ".placements_pd",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AcquisitionSpec", "ChannelsSpec", "PlacementsSpec", "BudgetSpec", "AttributionSpec", "Attribution",
    "BY_COLUMNS", "NONE", "AcqData", "load", "credits", "user_facts",
    "AcquisitionResult", "channels", "channels_from", "observed_mask", "revenue_curves",
    "PlacementsResult", "placements", "placements_from",
    "BudgetResult", "budget", "budget_from", "daily_response_data",
    "AttributionResult", "attribution", "attribution_from",
    "cac_interval", "verdict",
]
