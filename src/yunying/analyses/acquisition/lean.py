"""channels, placements and attribution on DuckDB without pandas (issue 13, start-up): the tables of
:func:`.channels_pd.channels_from`, :func:`.placements_pd.placements_from` and :func:`.compare.attribution_from` from the
arrays of :mod:`.lean_data`, row by row in plain Python (a table has tens of rows) and numpy (the users' credits).
tests/acquisition/test_acquisition_lean.py checks every table equals the pandas path's on random workspaces in three
time zones. Definitions: docs/acquisition.md."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ...sequences.calendar import period_start
from ...stats.acquisition import verdict
from ..base import ratio
from ..table import Columns
from .lean_data import BY_COLUMNS, Arrays, credits, key_codes, key_values
from .weights import fsums
from .rows import (STAGES, AcquisitionResult, AttributionResult, PlacementsResult, _channel_row, _power_exponent,
                   channel_totals, channels_meta, placement_row, placements_meta)

_EPOCH = dt.date(1970, 1, 1)
_DAY_US = 86_400 * 1_000_000
USER_SUMS = ("registrations", "activated", "paying_users", "first_purchase_revenue", "revenue")


def _day(d: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(d))


def _grouped(data: Arrays, cred, by: str, period_of_day=None) -> tuple[np.ndarray, list[tuple]]:
    """Each credit row's group (0 … n-1) by the ``by`` key (and the period of the user's signup day when
    ``period_of_day`` is given) and each group's key values."""
    kc = key_codes(data, cred.keys, by)
    if period_of_day is None:
        uniq, inv = np.unique(kc, return_inverse=True)
        return inv.reshape(-1), [key_values(data, int(c), by) for c in uniq.tolist()]
    days, dinv = np.unique(data.signup_day[cred.uid], return_inverse=True)
    pers = sorted({period_of_day(d) for d in days.tolist()})
    pidx = np.array([pers.index(period_of_day(d)) for d in days.tolist()], dtype=np.int64)[dinv.reshape(-1)]
    width = int(kc.max()) + 1 if len(kc) else 1
    uniq, inv = np.unique(pidx * width + kc, return_inverse=True)
    return inv.reshape(-1), [(pers[c // width], *key_values(data, int(c % width), by)) for c in uniq.tolist()]


# ------------------------------------------------------------------------------------------ channels

def _user_rows(data: Arrays, spec):
    """Per row key (with the period when asked): credited registrations, activated, payers, first-purchase revenue and
    revenue (sums of credit × the user's fact); and, per credit row, its row's index (for the revenue curves)."""
    cred = credits(data, spec, spec.by)
    u = cred.uid
    per = (lambda d: period_start(_day(d), spec.interval)) if spec.interval else None
    row_ids, keys = _grouped(data, cred, spec.by, per)
    index = {k: i for i, k in enumerate(keys)}
    n = len(index)
    c = cred.credit
    sums = dict(zip(USER_SUMS, fsums(row_ids, n, c, c * data.activated[u], c * (data.purchases[u] > 0),
                                     c * data.first_revenue[u], c * data.revenue[u])))
    users = {k: {name: float(sums[name][i]) for name in USER_SUMS} for k, i in index.items()}
    return users, cred, row_ids, index


def _money_rows(data: Arrays, spec, keycols: list[str]) -> dict:
    """Per row key: spend, and impressions / reads / clicks (None where no spend row reports them)."""
    pos = {"channel": 1, "campaign": 2, "placement": 3}
    out: dict = {}
    for r in data.spend:
        k = ((period_start(r[0], spec.interval),) if spec.interval else ()) + tuple(r[pos[c]] for c in keycols)
        acc = out.setdefault(k, {"spend": [], "impressions": None, "reads": None, "clicks": None})
        acc["spend"].append(r[4])
        for name, v in zip(("impressions", "reads", "clicks"), r[6:9]):
            if v is not None:
                acc[name] = (acc[name] or []) + [v]
    return {k: {name: v if v is None else math.fsum(v) for name, v in acc.items()} for k, acc in out.items()}


def _curves(data: Arrays, cred, row_ids: np.ndarray, nrows: int):
    """The rows' cumulative revenue curves (num, den by day since signup, censored) as
    :func:`.channels_pd.revenue_curves` computes them, and the pooled power-law exponent."""
    if not nrows:
        return np.zeros((0, 2)), np.zeros((0, 2)), None
    max_day = 1
    if data.as_of_us is not None and data.n_users:
        max_day = int(max(1, min(3650, math.floor((data.as_of_us - int(data.signup_us.min())) / _DAY_US))))
    D = max_day + 1
    num, den = np.zeros(nrows * D), np.zeros(nrows * D)
    if data.as_of_us is not None and len(cred.uid):
        obs_days = ((data.as_of_us - data.signup_us) * 1000) / (_DAY_US * 1000.0)
        obs = np.floor(np.clip(obs_days, 0, max_day)).astype(np.int64)
        u_obs = obs[cred.uid]
        c = cred.credit
        base = row_ids * D
        np.add.at(den, base + 1, c)
        end = u_obs + 1
        ok = end < D
        np.add.at(den, base[ok] + end[ok], -c[ok])
        p_uid, p_day, p_rev = data.by_day
        if len(p_uid):
            # each purchase against each credit row of its user
            order = np.argsort(cred.uid, kind="stable")
            counts = np.bincount(cred.uid, minlength=data.n_users)
            starts = np.cumsum(counts) - counts
            reps = counts[p_uid]
            pi = np.repeat(np.arange(len(p_uid)), reps)
            offs = np.arange(len(pi)) - np.repeat(np.cumsum(reps) - reps, reps)
            ci = order[starts[p_uid][pi] + offs]
            day, o = p_day[pi], u_obs[ci]
            ok = day + 1 <= o
            b = row_ids[ci][ok] * D
            v = (c[ci] * p_rev[pi])[ok]
            np.add.at(num, b + day[ok] + 1, v)
            e = o[ok] + 1
            fin = e < D
            np.add.at(num, b[fin] + e[fin], -v[fin])
    num = np.cumsum(num.reshape(nrows, D), axis=1)
    den = np.cumsum(den.reshape(nrows, D), axis=1)
    return num, den, _power_exponent(num.sum(axis=0), den.sum(axis=0), 0.2)


def channel_rows(data: Arrays, spec) -> tuple[list[dict], list[str], object]:
    """The rows of the channels table (before verdicts and sorting), its key columns and the pooled exponent."""
    keycols = BY_COLUMNS[spec.by]
    gcols = (["period"] if spec.interval else []) + keycols
    users, cred, row_ids, index = _user_rows(data, spec)
    money = _money_rows(data, spec, keycols)
    num, den, pooled_b = _curves(data, cred, row_ids, len(index))
    integral = spec.attribution in ("first", "last")
    zero = dict.fromkeys(USER_SUMS, 0.0)
    rows = []
    for k in sorted(set(money) | set(users)):   # the order of pandas' outer merge: keys sorted
        r = {**dict(zip(gcols, k)), **users.get(k, zero)}
        m = money.get(k)
        r.update(paid=m is not None, **(m or {"spend": 0.0, "impressions": None, "reads": None, "clicks": None}))
        if integral:
            for c in ("registrations", "activated", "paying_users"):
                r[c] = int(np.round(r[c]))
        i = index.get(k)
        rows.append(_channel_row(r, gcols, spec, None if i is None else num[i], None if i is None else den[i],
                                 pooled_b))
    return rows, gcols, pooled_b


def _as_of_date(data: Arrays):
    return None if data.as_of_us is None else _day(data.as_of_us // _DAY_US)


def channels(engine, spec) -> AcquisitionResult:
    """The channels table (as :func:`.channels_pd.channels_from` on the same data)."""
    from .lean_data import load

    rows, gcols, meta = _channels(load(engine, spec), spec, engine.timezone)
    if rows:
        table = Columns.from_rows(rows, list(rows[0]))
    else:
        table = Columns({c: [] for c in [*gcols, "spend", "registrations", "cost_per_registration", "paying_users",
                                         "cost_per_paying_user", "revenue", "roas"]}, object_dtype=True)
    return AcquisitionResult(spec, table, meta)


def _channels(data: Arrays, spec, timezone: str) -> tuple[list[dict], list[str], dict]:
    """The channels table's rows (verdicts added, sorted), key columns and meta."""
    rows, gcols, pooled_b = channel_rows(data, spec)
    bench = None
    if rows:
        paid = [r for r in rows if r["spend"] > 0]
        bench_by = None
        if spec.interval:
            per: dict = {}
            for r in paid:
                a = per.setdefault(r["period"], [0.0, 0.0])
                a[0] += r["spend"]
                a[1] += r["paying_users"]
            bench_by = {p: ratio(float(a[0]), float(a[1])) for p, a in per.items()}
        bench = ratio(float(sum(r["spend"] for r in paid)), float(sum(r["paying_users"] for r in paid)))
        for r in rows:
            r["verdict"] = verdict(r["cac_low"], r["cac_high"], bench_by.get(r["period"]) if bench_by else bench,
                                   r["spend"])
        if spec.interval:
            rows.sort(key=lambda r: (r["period"], -r["spend"], -r["registrations"]))
        else:
            rows.sort(key=lambda r: (-r["spend"], -r["registrations"]))
    return rows, gcols, channels_meta(data, spec, _as_of_date(data), timezone, bench, pooled_b, channel_totals(rows))


# ------------------------------------------------------------------------------------------ placements

def placements(engine, spec) -> PlacementsResult:
    """The placement funnel (as :func:`.placements_pd.placements_from` on the same data)."""
    from .lean_data import load
    from .specs import ChannelsSpec

    data = load(engine, spec)
    cs = ChannelsSpec.parse({**spec.model_dump(exclude={"channel", "leak_threshold", "min_denominator"}),
                             "by": "placement"})
    rows, _, meta = _channels(data, cs, engine.timezone)
    unpaid = [{"channel": r["channel"], "placement": r["placement"], "registrations": r["registrations"]}
              for r in rows if not r["paid"]]
    rows = [r for r in rows if r["paid"] and (spec.channel is None or r["channel"] == spec.channel)]
    camp, days = _spend_facts(data)
    out = [placement_row(r, camp.get((r["channel"], r["placement"])), days.get((r["channel"], r["placement"])))
           for r in rows]
    bench = None
    if out:
        _leak_flags(out, spec)
        bench = ratio(float(sum(r["spend"] for r in out)), float(sum(r["paying_users"] for r in out)))
        for r in out:
            r["verdict"] = verdict(r["cac_low"], r["cac_high"], bench, r["spend"])
        cost = [math.inf if r["cost_per_paying_user"] is None else float(r["cost_per_paying_user"]) for r in out]
        for r, c in zip(out, cost):
            r["rank"] = 1 + sum(1 for o in cost if o < c)
        out = [r for _, r in sorted(zip(cost, out), key=lambda p: (p[0], p[1]["spend"]))]
        for r in out:
            del r["_click_den"]
        table = Columns.from_rows(out, list(out[0]))
    else:
        table = Columns({c: [] for c in ["channel", "placement", "spend", "impressions", "reads", "clicks",
                                         "registrations", "paying_users", "cost_per_paying_user", "leak_stage",
                                         "verdict", "rank"]}, object_dtype=True)
    return PlacementsResult(spec, table, placements_meta(meta, spec, bench, unpaid))


def _spend_facts(data: Arrays) -> tuple[dict, dict]:
    """Per (channel, placement) of the spend: its campaigns (text) and (first day, last day, days) with cost > 0."""
    camps: dict = {}
    days: dict = {}
    for r in data.spend:
        if r[1] is None or r[3] is None:
            continue
        camps.setdefault((r[1], r[3]), set()).add(r[2])
        if r[4] > 0:
            days.setdefault((r[1], r[3]), set()).add(r[0])
    return ({k: ", ".join(sorted(v)) for k, v in camps.items()},
            {k: (min(v), max(v), len(v)) for k, v in days.items()})


def _median(values: list[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _leak_flags(out: list[dict], spec) -> None:
    """leak_stage / leak_vs_channel_median / leak_channel_median / leak_note of each row, as
    :func:`.placements_pd._leak_flags` sets them (docs: "Leak rule")."""
    from ...stats.acquisition import binomial_shortfall_p

    med: dict = {}
    for stage, col, numc, denc, _ in STAGES:
        den_col = "_click_den" if col == "click_rate" else denc
        by_ch: dict = {}
        for r in out:
            if (r[den_col] or 0) >= spec.min_denominator and r[col] is not None:
                by_ch.setdefault(r["channel"], []).append(r[col])
        med[col] = {ch: (_median(v), len(v)) for ch, v in by_ch.items()}
    for r in out:
        worst = None
        for stage, col, numc, denc, msg in STAGES:
            den_col = "_click_den" if col == "click_rate" else denc
            rate, (m, n) = r[col], med[col].get(r["channel"], (None, 0))
            den = r[den_col]
            if rate is None or m is None or not m or n < 2 or den is None or den < spec.min_denominator:
                continue
            rel = rate / m
            if rel >= spec.leak_threshold or binomial_shortfall_p(float(r[numc]), float(den), float(m)) >= 0.05:
                continue
            if worst is None or rel < worst[1]:
                worst = (stage, rel, msg, m)
        r["leak_stage"] = worst[0] if worst else None
        r["leak_vs_channel_median"] = worst[1] if worst else None
        r["leak_channel_median"] = worst[3] if worst else None
        r["leak_note"] = worst[2] if worst else None


# ------------------------------------------------------------------------------------------ attribution

def attribution(engine, spec) -> AttributionResult:
    """Attribution models side by side (as :func:`.compare.attribution_from` on the same data)."""
    from .lean_data import load

    data = load(engine, spec, nonconverting="markov" in spec.models, with_spend=False)
    keycols = BY_COLUMNS[spec.by]
    table: dict = {}
    cols = list(keycols)
    for model in spec.models:
        cred = credits(data, spec.model_copy(update={"attribution": model}), spec.by)
        ids, keys = _grouped(data, cred, spec.by)
        index = {k: i for i, k in enumerate(keys)}
        regs, rev = fsums(ids, len(index), cred.credit, cred.credit * data.revenue[cred.uid])
        cols += [f"registrations_{model}", f"revenue_{model}"]
        for k, i in index.items():
            table.setdefault(k, {})[model] = (float(regs[i]), float(rev[i]))
    rows = []
    for k in sorted(table):
        r = dict(zip(keycols, k))
        for model in spec.models:
            r[f"registrations_{model}"], r[f"revenue_{model}"] = table[k].get(model, (0.0, 0.0))
        rows.append(r)
    if spec.models:
        rows.sort(key=lambda r: -r[f"registrations_{spec.models[0]}"])
    meta = {"title": f"Attribution models compared by {spec.by}", "key": spec.by,
            "models": list(spec.models), "lookback_days": spec.lookback_days,
            "half_life_days": spec.half_life_days, "position_shares": list(spec.position_shares),
            "registrations": int(data.n_users), "revenue": float(data.revenue.sum()),
            "currency": data.currency, "filters": spec.filters}
    return AttributionResult(spec, Columns({c: [r[c] for r in rows] for c in cols}), meta)
