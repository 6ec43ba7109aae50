"""The acquisition data on DuckDB without pandas (issue 13, start-up): DuckDB keys, collapses and sorts the touches
and sums each user's purchases; the credits are numpy arrays (:mod:`.weights`). The same data as
:func:`.data.load` + :func:`.data.credits` (the path filters and other engines take), checked against it on random
workspaces in three time zones by tests/acquisition/test_acquisition_lean.py. Data rules: docs/acquisition.md.

Users are numbered in the order of their ids (``uid``); channel, campaign and placement values are codes into
one list of names (:attr:`Arrays.names`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..sql import Query
from .data_sql import _CH, HAS_CH, _signups
from .specs import NONE
from .weights import DIRECT_CHANNELS, MAX_MARKOV_STATES, MODELS, markov_effects, markov_split, rule_weights

DIRECT = "direct/unknown"   # analyses.users.DIRECT (not imported: that module loads the Ibis-side helpers)
@dataclass
class Arrays:
    """Signed-up users (by uid), their collapsed touches, purchases per day since signup, spend rows."""
    names: list                  # channel / campaign / placement values
    t_uid: np.ndarray            # touches, sorted by user then time: user, times (ns), keys (codes into names)
    t_ns: np.ndarray
    t_conv_ns: np.ndarray
    t_day: np.ndarray            # local day of each touch (days since 1970-01-01)
    t_key: dict                  # "channel" / "campaign" / "placement" → codes
    signup_us: np.ndarray        # per user: signup time (µs), local signup day (days since 1970-01-01), facts
    signup_day: np.ndarray
    activated: np.ndarray | None  # None: loaded without the facts (``load(facts=False)``)
    revenue: np.ndarray | None
    purchases: np.ndarray         # purchases per user
    first_revenue: np.ndarray | None
    spend: list                  # (date, channel, campaign, placement, cost, currency, impressions, reads, clicks)
    as_of_us: int | None
    currency: str
    warnings: list
    nonconv: tuple | None = None  # (user, keys) of touches of users who never signed up (markov)
    by_day: tuple | None = None   # (uid, days since signup (0 at least), revenue) of each purchase
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.signup_us)

    def code(self, name: str) -> int:
        """The code of ``name`` (added to :attr:`names` when new)."""
        idx = self.cache.setdefault("index", {v: i for i, v in enumerate(self.names)})
        if name not in idx:
            idx[name] = len(self.names)
            self.names.append(name)
        return idx[name]


def _head(q: Query, engine, spec, all_signups: bool) -> str:
    evs = engine.workspace.config.events
    return _signups(q, evs.signup, spec.date_from, spec.date_to, all_signups) + (
        ", su AS (SELECT user_id, signup_ts, signup_day, CAST(row_number() OVER (ORDER BY user_id) - 1 AS BIGINT) "
        "AS uid FROM s) ")


def _key_cols(q: Query) -> str:
    return (f"{_CH} AS raw, coalesce(utm_campaign, {q.value(NONE)}) AS campaign, "
            f"coalesce(CAST({q.prop('utm_content')} AS VARCHAR), {q.value(NONE)}) AS placement")


def _touches(engine, spec, all_signups: bool):
    """The touches of the signed-up users (at or before the signup, within the lookback) and the signup events'
    own keys (``own``), unkeyed and unsorted: :func:`_prepare` does the rest."""
    evs = engine.workspace.config.events
    q = Query(engine)
    sql = _head(q, engine, spec, all_signups) + (
        f"SELECT su.uid, epoch_ns(e.ts) AS ts_ns, epoch_ns(su.signup_ts) AS conv_ns, CAST({q.local('e.ts')} AS DATE) "
        f"AS day, {_key_cols(q)}, "
        f"e.event = {q.value(evs.signup)} AS own FROM events AS e JOIN su ON e.user_id = su.user_id "
        f"WHERE {HAS_CH} AND ((e.event <> {q.value(evs.signup)} AND e.ts <= su.signup_ts AND e.ts >= "
        f"su.signup_ts - to_days(CAST({q.value(int(spec.lookback_days))} AS INTEGER))) OR "
        f"(e.event = {q.value(evs.signup)} AND e.ts = su.signup_ts))")
    return q.arrow(sql)


def _nonconverting(engine, spec):
    """Touches of users who never signed up, dated from the lookback before the period to its end (unkeyed,
    unsorted; :func:`_user_codes` numbers their users)."""
    evs = engine.workspace.config.events
    q = Query(engine)
    sql = (f"WITH s_all AS (SELECT user_id FROM events WHERE event = {q.value(evs.signup)} GROUP BY 1) "
           f"SELECT tc.user_id, epoch_ns(tc.ts) AS ts_ns, {_key_cols(q)} FROM events AS tc ANTI JOIN s_all "
           f"ON tc.user_id = s_all.user_id WHERE tc.event <> {q.value(evs.signup)} AND {HAS_CH}")
    if spec.date_from is not None:
        since = spec.date_from - dt.timedelta(days=int(spec.lookback_days))
        sql += f" AND CAST({q.local('tc.ts')} AS DATE) >= {q.value(since)}::DATE"
    if spec.date_to is not None:
        sql += f" AND CAST({q.local('tc.ts')} AS DATE) <= {q.value(spec.date_to)}::DATE"
    return q.arrow(sql)


def _users(engine, spec, all_signups: bool):
    """Per signed-up user (by uid): signup time (µs), local signup day, activated."""
    evs = engine.workspace.config.events
    q = Query(engine)
    return q.arrow(_head(q, engine, spec, all_signups) + (
        "SELECT uid, epoch_us(signup_ts) AS signup_us, CAST(signup_day AS DATE) AS signup_day, user_id IN "
        f"(SELECT user_id FROM events WHERE event = {q.value(evs.activation)}) AS activated FROM su ORDER BY uid"))


def _users_purchases(engine, spec, all_signups: bool):
    """Per signed-up user (by uid): signup time (µs), local signup day and number of purchases (what the budget
    reads: :func:`_users` and :func:`_purchases` without activation, revenue and days, in one query)."""
    evs = engine.workspace.config.events
    q = Query(engine)
    return q.arrow(_head(q, engine, spec, all_signups) + (
        f", pc AS (SELECT user_id, count(*) AS n FROM events WHERE event = {q.value(evs.purchase)} GROUP BY 1) "
        "SELECT uid, epoch_us(signup_ts) AS signup_us, CAST(signup_day AS DATE) AS signup_day, "
        "coalesce(pc.n, 0) AS purchases FROM su LEFT JOIN pc ON su.user_id = pc.user_id ORDER BY uid"))


def _purchases(engine, spec, all_signups: bool):
    """The signed-up users' purchases: uid, time (µs), revenue, days since signup."""
    evs = engine.workspace.config.events
    q = Query(engine)
    return q.arrow(_head(q, engine, spec, all_signups) + (
        f"SELECT su.uid, epoch_us(p.ts) AS ts_us, CAST({q.prop(evs.revenue)} AS DOUBLE) AS rev, "
        "CAST(floor((epoch(CAST(p.ts AS TIMESTAMP)) - epoch(CAST(su.signup_ts AS TIMESTAMP))) / 86400.0) AS BIGINT) "
        f"AS day FROM events AS p JOIN su ON p.user_id = su.user_id WHERE p.event = {q.value(evs.purchase)}"))


_NP_TYPES = {"int64": np.int64, "int32": np.int32, "double": np.float64, "date32[day]": np.int32}


def _bits(buf, offset: int, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")[offset:offset + n].astype(bool)


def _np(tbl, col: str) -> np.ndarray:
    """A numeric, date (days) or boolean Arrow column as numpy, read from its buffers (missing numbers: NaN).
    Arrow's own ``to_numpy`` imports pandas (a third of a second at start-up)."""
    a = tbl.column(col).combine_chunks()
    kind = str(a.type)
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=bool if kind == "bool" else _NP_TYPES[kind])
    bufs = a.buffers()
    v = _bits(bufs[1], a.offset, n) if kind == "bool" else np.frombuffer(bufs[1], _NP_TYPES[kind])[a.offset:a.offset + n]
    if a.null_count:
        v = np.where(_bits(bufs[0], a.offset, n), v, np.nan)
    return v


def _encode(col) -> tuple[np.ndarray, list]:
    """A text column as codes into its distinct values, numbered in the order they first appear (as Arrow's
    ``dictionary_encode``, which imports pyarrow.compute: a tenth of a second at start-up); a missing value's
    code is the number of values."""
    vals = col.to_pylist()
    lookup = dict.fromkeys(vals)
    lookup.pop(None, None)
    for i, v in enumerate(lookup):
        lookup[v] = i
    lookup[None] = len(lookup)
    return np.fromiter(map(lookup.__getitem__, vals), dtype=np.int64, count=len(vals)), list(lookup)[:-1]


def _codes(names: list, index: dict, col) -> np.ndarray:
    """Codes into ``names`` of a text column (its few distinct values looked up once)."""
    if not len(col):
        return np.zeros(0, dtype=np.int64)
    codes, values = _encode(col)   # no missing values: the queries give "(none)" for them
    remap = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)
    names.extend(list(index)[len(names):])
    return remap[codes]


def _user_codes(col) -> np.ndarray:
    """One number per distinct user id (a missing id is one more): only which rows share a user matters."""
    if not len(col):
        return np.zeros(0, dtype=np.int64)
    return _encode(col)[0]


def _channel_keys(names: list, index: dict, raw: np.ndarray, channel_map: dict) -> np.ndarray:
    """Raw channel keys mapped through ``channel_map``, direct ones (any case, spaces around) → direct/unknown:
    decided once per distinct value, as :func:`.data._prepare_touches` does."""
    remap = np.arange(len(names), dtype=np.int64)
    for code in np.unique(raw):
        v = channel_map.get(names[code], names[code])
        v = DIRECT if v.strip().lower() in DIRECT_CHANNELS else v
        remap[code] = index.setdefault(v, len(index))
    names.extend(list(index)[len(names):])
    return remap[raw]


def _prepare(names: list, index: dict, tbl, uid: np.ndarray, spec, own: bool) -> tuple[np.ndarray, dict]:
    """Rows of ``tbl`` keyed, sorted by user, time, channel, campaign, placement (text order) and collapsed as
    :func:`.models.collapse_touches` does; the signup's own key kept (once) only for users with no earlier touch.
    Returns the row order and the keys of the kept rows."""
    uid = uid.astype(np.int64)
    ts = _np(tbl, "ts_ns")
    keys = {"channel": _channel_keys(names, index, _codes(names, index, tbl.column("raw")), spec.channel_map or {}),
            "campaign": _codes(names, index, tbl.column("campaign")),
            "placement": _codes(names, index, tbl.column("placement"))}
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    order = np.lexsort((rank[keys["placement"]], rank[keys["campaign"]], rank[keys["channel"]], ts, uid))
    uid, ts = uid[order], ts[order]
    keys = {c: v[order] for c, v in keys.items()}
    n = len(uid)
    drop = np.zeros(n, dtype=bool)
    if own and n:
        is_own = _np(tbl, "own").astype(bool)[order]
        touched = np.zeros(int(uid.max()) + 1, dtype=bool)
        touched[uid[~is_own]] = True
        drop = is_own & touched[uid]
        drop[1:] |= is_own[1:] & is_own[:-1] & (uid[1:] == uid[:-1])   # one own key per user
        uid, ts = uid[~drop], ts[~drop]
        keys = {c: v[~drop] for c, v in keys.items()}
        order = order[~drop]
        n = len(uid)
    if n > 1:
        same = uid[1:] == uid[:-1]
        for v in keys.values():
            same &= v[1:] == v[:-1]
        # compare with the previous *row*, so a long run of clicks minutes apart stays one touch
        same &= (ts[1:] - ts[:-1]) < float(spec.touch_gap_minutes) * 60 * 1e9
        keep = np.concatenate([[True], ~same])
        order, keys = order[keep], {c: v[keep] for c, v in keys.items()}
    return order, keys


def load(engine, spec, *, all_signups: bool = False, with_spend: bool = True, nonconverting: bool | None = None,
         facts: bool = True) -> Arrays:
    """The data of :func:`.data.load` as arrays (plain DuckDB only: no filters, no other engine). ``facts=False``:
    of the users' facts only their number of purchases (activation, revenue and purchases by day are None)."""
    nonconverting = nonconverting if nonconverting is not None else spec.attribution == "markov"
    names: list = [DIRECT, NONE]   # every code is made here: key codes combine codes with len(names) as base
    index: dict = {DIRECT: 0, NONE: 1}
    t = _touches(engine, spec, all_signups)
    order, keys = _prepare(names, index, t, _np(t, "uid"), spec, own=True)
    nonconv = None
    if nonconverting:
        n = _nonconverting(engine, spec)
        n_uid = _user_codes(n.column("user_id"))
        n_order, n_keys = _prepare(names, index, n, n_uid, spec, own=False)
        nonconv = (n_uid[n_order], n_keys)
    users = _users(engine, spec, all_signups) if facts else _users_purchases(engine, spec, all_signups)
    nu = users.num_rows
    activated, revenue, first, by_day = None, None, None, None
    if facts:
        p = _purchases(engine, spec, all_signups)
        p_uid = _np(p, "uid").astype(np.int64)
        rev = np.nan_to_num(_np(p, "rev").astype(float), nan=0.0)
        first = np.zeros(nu)
        if len(p_uid):
            po = np.lexsort((_np(p, "ts_us"), p_uid))
            head = np.concatenate([[True], p_uid[po][1:] != p_uid[po][:-1]])
            first[p_uid[po][head]] = rev[po][head]
        activated, revenue = _np(users, "activated").astype(bool), np.bincount(p_uid, weights=rev, minlength=nu)
        purchases = np.bincount(p_uid, minlength=nu).astype(np.int64)
        by_day = (p_uid, np.maximum(_np(p, "day").astype(np.int64), 0), rev)
    else:
        purchases = _np(users, "purchases").astype(np.int64)
    as_of = Query(engine).run("SELECT epoch_us(max(ts)) FROM events")[0][0]
    spend = _spend(engine, spec) if with_spend else []
    currency, warnings = _currency(engine.workspace.config.currency, spend)
    return Arrays(names, _np(t, "uid")[order].astype(np.int64), _np(t, "ts_ns")[order], _np(t, "conv_ns")[order],
                  _np(t, "day")[order], keys, _np(users, "signup_us"), _np(users, "signup_day"), activated, revenue,
                  purchases, first, spend, as_of, currency, warnings, nonconv, by_day)


def _spend(engine, spec) -> list:
    q = Query(engine)   # parameters in the order of their "?" in the text
    sql = (f"SELECT date, channel, coalesce(campaign, {q.value(NONE)}), coalesce(placement, {q.value(NONE)}), "
           "coalesce(CAST(cost AS DOUBLE), 0), currency, CAST(impressions AS DOUBLE), CAST(reads AS DOUBLE), "
           "CAST(clicks AS DOUBLE) FROM spend WHERE TRUE")
    if spec.date_from is not None:
        sql += f" AND date >= {q.value(spec.date_from)}::DATE"
    if spec.date_to is not None:
        sql += f" AND date <= {q.value(spec.date_to)}::DATE"
    return q.run(sql)


def _currency(workspace_currency: str, spend: list) -> tuple[str, list]:
    """The spend's currency and the warnings of :func:`.data._data` about it."""
    currencies = sorted({r[5] for r in spend if r[5] is not None})
    warnings: list[str] = []
    currency = workspace_currency
    if len(currencies) == 1:
        if currencies[0] != workspace_currency:
            warnings.append(f"spend is in {currencies[0]} but revenue in the workspace currency {workspace_currency}: "
                            f"ROAS and payback compare different currencies")
        currency = currencies[0]
    elif len(currencies) > 1:
        warnings.append(f"spend mixes currencies ({', '.join(currencies)}); amounts are added as they are")
    return currency, warnings


# ------------------------------------------------------------------------------------------ credits

BY_COLUMNS = {"channel": ["channel"], "campaign": ["channel", "campaign"], "placement": ["channel", "placement"]}


def key_codes(data: Arrays, keys: dict, by: str) -> np.ndarray:
    """One code per row for the ``by`` key (channel; channel and campaign; channel and placement)."""
    cols = BY_COLUMNS[by]
    out = keys[cols[0]].astype(np.int64)
    for c in cols[1:]:
        out = out * (len(data.names) + 1) + keys[c]
    return out


def key_values(data: Arrays, code: int, by: str) -> tuple:
    """The ``by`` key's values (text) of a code of :func:`key_codes`."""
    base, out = len(data.names) + 1, []
    for _ in BY_COLUMNS[by]:
        out.append(data.names[code % base])
        code //= base
    return tuple(reversed(out))


@dataclass
class Credits:
    """Credit rows (the users' touches with credit > 0, then the untouched users as direct/unknown)."""
    uid: np.ndarray
    keys: dict          # "channel" / "campaign" / "placement" → codes
    credit: np.ndarray
    touch_us: np.ndarray
    day: np.ndarray     # the touch's local day (days since 1970-01-01; the untouched: the signup's)


def credits(data: Arrays, spec, by: str = "channel") -> Credits:
    """As :func:`.data.credits` (computed once per key and model for ``data``)."""
    ck = ("credits", by, spec.attribution, spec.half_life_days, tuple(spec.position_shares))
    if ck not in data.cache:
        data.cache[ck] = _credits(data, spec, by)
    return data.cache[ck]


def _credits(data: Arrays, spec, by: str) -> Credits:
    model = spec.attribution
    if model not in MODELS:
        from ...errors import SpecError
        raise SpecError(key="acquisition.models.attribution_must_one", MODELS=', '.join(MODELS), model=model)
    u = data.t_uid
    if len(u) == 0:
        w = np.zeros(0)
    elif model == "markov":
        w = _markov(data, key_codes(data, data.t_key, by), by)
    else:
        w = rule_weights(u, model, ts_ns=data.t_ns.astype(float), conv_ns=data.t_conv_ns.astype(float), half_life_days=spec.half_life_days,
                         position_shares=tuple(spec.position_shares),
                         direct=data.t_key["channel"] == data.code(DIRECT))
    keep = w > 0
    touched = np.zeros(data.n_users, dtype=bool)
    touched[u] = True
    d = np.flatnonzero(~touched)
    cols = ("channel", "campaign", "placement")
    fill = {"channel": data.code(DIRECT), "campaign": data.code(NONE), "placement": data.code(NONE)}
    keys = {c: np.concatenate([data.t_key[c][keep], np.full(len(d), fill[c], dtype=np.int64)]) for c in cols}
    return Credits(np.concatenate([u[keep], d]), keys, np.concatenate([w[keep], np.ones(len(d))]),
                   np.concatenate([data.t_ns[keep] // 1000, data.signup_us[d]]),
                   np.concatenate([data.t_day[keep], data.signup_day[d]]))


def _markov(data: Arrays, conv_codes: np.ndarray, by: str) -> np.ndarray:
    """Markov weights: states are the ``by`` keys of converting and non-converting paths, ordered by their text
    as :func:`.models.markov_removal_effects` orders them (the key columns joined by \\x1f)."""
    n_conv = len(conv_codes)
    grp = data.t_uid.astype(np.int64)
    allc, conv = conv_codes, np.ones(n_conv, dtype=bool)
    if data.nonconv is not None and len(data.nonconv[0]):
        nc_uid, nc_keys = data.nonconv
        allc = np.concatenate([conv_codes, key_codes(data, nc_keys, by)])
        grp = np.concatenate([grp, nc_uid.astype(np.int64) + data.n_users + 1])
        conv = np.concatenate([conv, np.zeros(len(nc_uid), dtype=bool)])
    uniq, inv = np.unique(allc, return_inverse=True)
    inv = inv.reshape(-1)
    texts = ["\x1f".join(key_values(data, int(c), by)) for c in uniq]
    order = sorted(range(len(texts)), key=texts.__getitem__)
    S = len(texts)
    if S > MAX_MARKOV_STATES:
        from ...errors import SpecError
        raise SpecError(key="acquisition.models.markov_attribution_over_keys", S=S, MAX_MARKOV_STATES=MAX_MARKOV_STATES)
    rank = np.empty(S, dtype=np.int64)
    rank[order] = np.arange(S)
    states = rank[inv]
    effect = markov_effects(grp, states, conv, S)
    return markov_split(data.t_uid, states[:n_conv], effect[states[:n_conv]])
