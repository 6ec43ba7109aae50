"""The attribution models' arithmetic on plain arrays (no pandas): the weight of each touch row, the Markov
chain's removal effects and its per-user split. :mod:`.models` states the models and calls these on its
DataFrames; the DuckDB path (:mod:`.lean_data`) calls them on the arrays its SQL returns.

Rows are sorted by user then time: ``users`` is any array whose equal neighbours mark one user's rows."""
from __future__ import annotations

import math

import numpy as np

from ...errors import SpecError

MODELS = ("first", "last", "linear", "time_decay", "position", "markov")
_DAY_NS = 86_400 * 1_000_000_000
MODEL_LABELS = {
    "first": "first touch",
    "last": "last non-direct touch",
    "linear": "linear",
    "time_decay": "time decay",
    "position": "position-based (U-shaped)",
    "markov": "data-driven (Markov removal effect)",
}
DIRECT_CHANNELS = frozenset({"direct", "(direct)", "none", "(none)", "direct/unknown"})
MAX_MARKOV_STATES = 3000


def groups(user_ids: np.ndarray):
    """Group id of each row, its position within the group, the group's size (per row) and the groups' starts."""
    n = len(user_ids)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = user_ids[1:] != user_ids[:-1]
    starts = np.flatnonzero(new)
    gid = np.cumsum(new) - 1
    sizes = np.diff(np.append(starts, n))
    pos = np.arange(n) - starts[gid]
    return gid, pos, sizes[gid], starts


def _normalise(w: np.ndarray, gid: np.ndarray, ngroups: int) -> np.ndarray:
    tot = np.bincount(gid, weights=w, minlength=ngroups)
    return w / tot[gid]


def rule_weights(users: np.ndarray, model: str, *, ts_ns=None, conv_ns=None, half_life_days: float = 7.0,
                 position_shares: tuple[float, float] = (0.4, 0.4), direct: np.ndarray | None = None) -> np.ndarray:
    """Weights of the rule-based models (every model but ``markov``); ``ts_ns`` / ``conv_ns`` (touch and signup
    times in nanoseconds, as floats) only for ``time_decay``."""
    if model not in MODELS or model == "markov":
        raise SpecError(key="acquisition.models.attribution_must_one", MODELS=', '.join(MODELS), model=model)
    n = len(users)
    if n == 0:
        return np.zeros(0)
    gid, pos, size, starts = groups(users)
    ngroups = len(starts)
    last = pos == size - 1
    if model == "first":
        return (pos == 0).astype(float)
    if model == "linear":
        return 1.0 / size
    if model == "last":
        nd = np.ones(n, dtype=bool) if direct is None else ~np.asarray(direct, dtype=bool)
        # the last non-direct row of each user, else the last row
        cand = np.where(nd, np.arange(n), -1)
        best = np.full(ngroups, -1)
        np.maximum.at(best, gid, cand)
        last_row = starts + np.bincount(gid, minlength=ngroups) - 1
        best = np.where(best >= 0, best, last_row)
        w = np.zeros(n)
        w[best] = 1.0
        return w
    if model == "time_decay":
        if not half_life_days or half_life_days <= 0:
            raise SpecError(key="acquisition.models.half_life_days_must")
        age = np.maximum((conv_ns - ts_ns) / _DAY_NS, 0.0)
        # shift by each user's smallest age so the largest weight is 1 (no underflow)
        amin = np.full(ngroups, np.inf)
        np.minimum.at(amin, gid, age)
        return _normalise(np.exp2(-(age - amin[gid]) / half_life_days), gid, ngroups)
    f, l_ = position_shares
    if f < 0 or l_ < 0 or f + l_ > 1 + 1e-12:
        raise SpecError(key="acquisition.models.position_shares_must_non")
    w = np.zeros(n)
    one, two, many = size == 1, size == 2, size >= 3
    w[one] = 1.0
    tot = f + l_
    w[two & (pos == 0)] = f / tot if tot > 0 else 0.5
    w[two & (pos == 1)] = l_ / tot if tot > 0 else 0.5
    w[many & (pos == 0)] = f
    w[many & last] = l_
    mid = many & (pos > 0) & ~last
    w[mid] = (1.0 - f - l_) / (size[mid] - 2)
    return w


def dedup_runs(users: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mask keeping the first row of each run of equal codes within a user."""
    keep = np.ones(len(users), dtype=bool)
    if len(users) > 1:
        keep[1:] = ~((users[1:] == users[:-1]) & (codes[1:] == codes[:-1]))
    return keep


def markov_effects(grp: np.ndarray, codes: np.ndarray, conv: np.ndarray, nstates: int) -> np.ndarray:
    """Removal effect of each of ``nstates`` keys (codes 0 … nstates-1) in a first-order Markov chain of the paths.

    ``grp``: one value per path (equal neighbours: one path), ``codes``: the key of each row, ``conv``: whether the
    row's path converts. With fundamental matrix N = (I - Q)^-1 of the transient states and conversion
    probabilities x = N r, the probability of converting from the start without visiting c is
    x_s - (N_sc / N_cc) x_c, so all removal effects come from one matrix inverse (docs/acquisition.md)."""
    S = nstates
    keep = dedup_runs(grp, codes)
    grp, codes, conv = grp[keep], codes[keep], conv[keep]
    n = len(codes)
    START, CONV, NULL = S, S + 1, S + 2
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = grp[1:] != grp[:-1]
    end = np.empty(n, dtype=bool)
    end[-1] = True
    end[:-1] = new[1:]
    frm = np.where(new, START, np.r_[0, codes[:-1]])
    C = np.zeros((S + 3, S + 3))
    np.add.at(C, (frm, codes), 1.0)
    np.add.at(C, (codes[end], np.where(conv[end], CONV, NULL)), 1.0)
    T = np.arange(S + 1)  # transient: keys and start
    rows = C[T].sum(axis=1)
    P = np.divide(C[T], rows[:, None], out=np.zeros((S + 1, S + 3)), where=rows[:, None] > 0)
    Q = P[:, T]
    r = P[:, CONV]
    try:
        N = np.linalg.inv(np.eye(S + 1) - Q)
    except np.linalg.LinAlgError:  # pragma: no cover - a chain with a closed loop and no exit
        N = np.linalg.pinv(np.eye(S + 1) - Q)
    x = N @ r
    xs = x[START]
    if xs <= 0:
        return np.zeros(S)
    diag = np.diag(N)[:S]
    visit = np.divide(N[START, :S], diag, out=np.zeros(S), where=diag > 0)
    return np.clip(visit * x[:S] / xs, 0.0, 1.0)


def markov_split(users: np.ndarray, key_codes: np.ndarray, eff: np.ndarray) -> np.ndarray:
    """Each user's credit split over the distinct keys on the path in proportion to their effects ``eff`` (one per
    row), each key's share spread evenly over its rows; no effect on the path: the keys share equally."""
    gid, _, _, starts = groups(users)
    ngroups = len(starts)
    kc = np.unique(key_codes, return_inverse=True)[1].reshape(-1)
    _, first_idx, inv, cnt = np.unique(gid * (int(kc.max()) + 1 if len(kc) else 1) + kc, return_index=True,
                                       return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    nrows = cnt[inv]
    first_of_pair = np.zeros(len(users), dtype=bool)
    first_of_pair[first_idx] = True
    key_eff = np.where(first_of_pair, eff, 0.0)
    tot = np.bincount(gid, weights=key_eff, minlength=ngroups)
    nkeys = np.bincount(gid, weights=first_of_pair.astype(float), minlength=ngroups)
    share = np.where(tot[gid] > 0, eff / np.where(tot[gid] > 0, tot[gid], 1.0), 1.0 / nkeys[gid])
    return share / nrows


def fsums(groups: np.ndarray, n: int, *values: np.ndarray) -> list[np.ndarray]:
    """Per group 0 … n-1, the correctly rounded sum (``math.fsum``) of each of ``values``: the same whatever the
    order of the rows, and what pandas' compensated group sums give in all but the rarest cases (a column total
    reads 322854.78, not 322854.7799999999)."""
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    bounds = np.flatnonzero(np.diff(g)) + 1
    out = []
    for v in values:
        r = np.zeros(n)
        if len(g):
            r[g[np.r_[0, bounds]]] = [math.fsum(p) for p in np.split(np.asarray(v, dtype=float)[order], bounds)]
        out.append(r)
    return out
