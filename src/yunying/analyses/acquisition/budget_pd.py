"""Response curves per paid channel and a reallocation of a budget (docs/acquisition.md#budget)."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from .budget_core import Days, budget_result
from .data import AcqData, credits, load_filtered, user_facts
from .rows import BudgetResult
from .specs import AcquisitionSpec, BudgetSpec

# ------------------------------------------------------------------------------------------ budget

def _local_dates(ts: pd.Series, tz: str) -> pd.Series:
    s = pd.to_datetime(ts)
    if tz and tz != "UTC":
        s = s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    return s.dt.date


def budget(engine, spec: BudgetSpec | None = None, **kwargs) -> BudgetResult:
    """Response curves per paid channel and a reallocation of a budget (docs/acquisition.md#budget). Filters keep
    the events they hold for (signups, touches, purchases: the users counted); spend is never filtered."""
    spec = spec or BudgetSpec.build(**kwargs)
    data = load_filtered(engine, spec, all_signups=True)
    return budget_from(data, spec, engine.timezone)


def daily_response_data(data: AcqData, spec: AcquisitionSpec, timezone: str = "UTC") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per channel and day: spend and credited registrations / paying users by credited-touch date.

    Returns (daily, rates): ``daily`` has channel, date, spend, registrations, paying_users;
    ``rates`` per channel the registrations and paying users credited in the spend window.
    """
    cred = credits(data, spec, "channel")
    facts = user_facts(data)[["user_id", "payer"]]
    cred = cred.merge(facts, on="user_id", how="left")
    cred["date"] = _local_dates(cred["touch_ts"], timezone)
    cred["w_pay"] = cred["credit"] * cred["payer"].fillna(False)
    sp = data.spend
    spend = sp.groupby(["channel", "date"], as_index=False)["cost"].sum().rename(columns={"cost": "spend"}) \
        if len(sp) else pd.DataFrame(columns=["channel", "date", "spend"])
    # correctly rounded sums (as lean_budget's weights.fsums): the curves' fit magnifies a last-bit difference
    conv = cred.groupby(["channel", "date"], as_index=False).agg(registrations=("credit", math.fsum),
                                                                 paying_users=("w_pay", math.fsum))
    frames = []
    for ch, g in spend.groupby("channel"):
        first, last = min(g["date"]), max(g["date"])
        days = pd.DataFrame({"date": [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]})
        d = days.merge(g[["date", "spend"]], on="date", how="left").merge(
            conv[conv["channel"] == ch][["date", "registrations", "paying_users"]], on="date", how="left")
        d["channel"] = ch
        frames.append(d)
    daily = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["date", "spend", "registrations", "paying_users", "channel"])
    for c in ("spend", "registrations", "paying_users"):
        daily[c] = daily[c].astype("float64").fillna(0.0)
    return daily[["channel", "date", "spend", "registrations", "paying_users"]], conv


def budget_from(data: AcqData, spec: BudgetSpec, timezone: str = "UTC") -> BudgetResult:
    daily, _ = daily_response_data(data, spec, timezone)
    as_of_day = _local_dates(pd.Series([data.as_of]), timezone).iloc[0] if data.as_of is not None else None
    days = {ch: Days(list(g["date"]), g["spend"].to_numpy(dtype=float), g["registrations"].to_numpy(dtype=float),
                     g["paying_users"].to_numpy(dtype=float))
            for ch, g in daily.sort_values("date", kind="stable").groupby("channel", sort=True)}
    return budget_result(data, spec, days, as_of_day)
