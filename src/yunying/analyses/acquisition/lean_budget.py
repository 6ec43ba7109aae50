"""The budget on DuckDB without pandas (issue 13, start-up): each spent-on channel's days — spend, and the
registrations and paying users credited to that day's touches (local date) — from the arrays of
:mod:`.lean_data`, then :func:`.budget_core.budget_result` as on the pandas path (:func:`.budget_pd.budget_from`);
tests/acquisition/test_acquisition_lean.py checks both give the same table."""
from __future__ import annotations

import datetime as dt

import numpy as np

from ...sequences.calendar import local_date
from .budget_core import Days, budget_result
from .weights import fsums
from .lean_data import Arrays, credits, load
from .rows import BudgetResult

_EPOCH = dt.date(1970, 1, 1)


def budget(engine, spec) -> BudgetResult:
    data = load(engine, spec, all_signups=True, facts=False)   # of the users' facts it reads their purchases
    as_of_day = None if data.as_of_us is None else local_date(data.as_of_us, engine.timezone or "UTC")
    return budget_result(data, spec, channel_days(data, spec), as_of_day)


def channel_days(data: Arrays, spec) -> dict:
    """Per channel with spend: its :class:`Days` from its first to its last spend day (as
    :func:`.budget_pd.daily_response_data` makes them)."""
    spend: dict = {}
    for r in data.spend:
        if r[1] is not None:
            by_day = spend.setdefault(r[1], {})
            by_day[r[0]] = by_day.get(r[0], 0.0) + r[4]
    cred = credits(data, spec, "channel")
    payer = (data.purchases[cred.uid] > 0).astype(float)
    conv: dict = {}
    if len(cred.uid):
        ch = cred.keys["channel"]
        day0 = int(cred.day.min())
        span = int(cred.day.max()) - day0 + 1
        cell = ch * span + (cred.day - day0)
        cells, inv = np.unique(cell, return_inverse=True)
        inv = inv.reshape(-1)
        # correctly rounded (as the pandas path's math.fsum): the curves' fit magnifies a last-bit difference
        regs, pays = fsums(inv, len(cells), cred.credit, cred.credit * payer)
        for c, r, p in zip(cells.tolist(), regs.tolist(), pays.tolist()):
            conv[(data.names[c // span], _EPOCH + dt.timedelta(days=day0 + c % span))] = (r, p)
    out = {}
    for ch in sorted(spend):
        first, last = min(spend[ch]), max(spend[ch])
        dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        got = [conv.get((ch, d), (0.0, 0.0)) for d in dates]
        out[ch] = Days(dates, np.array([spend[ch].get(d, 0.0) for d in dates], dtype=float),
                       np.array([g[0] for g in got], dtype=float), np.array([g[1] for g in got], dtype=float))
    return out
