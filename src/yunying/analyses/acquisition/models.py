"""Attribution models (歸因模型): who gets the credit for a registration.

Pure functions over a *touch table*: one row per touch of a converting user, with
columns ``user_id``, ``ts`` (touch time), ``conv_ts`` (the user's signup time) and a
``key`` (what gets credit: a channel, a (channel, campaign) pair coded as one value, a
placement …). Rows must be sorted by ``user_id`` then ``ts``
(:func:`sort_touches` does it deterministically).

Every model returns a weight per touch row such that the weights of one user sum to
exactly 1; :func:`attribute` sums them into credit rows ``(user_id, key, credit)``.
Because each user's credits sum to 1, any per-user quantity (a registration, the user's
revenue) is conserved across models: only its split between keys changes.

Models (definitions with worked examples in docs/acquisition.md#attribution):

``first``       all credit to the first touch (the default: the source that brought the user).
``last``        all credit to the last touch that is not *direct* (a touch whose channel is
                ``direct``, ``(direct)``, ``none`` or ``(none)``); if all touches are direct, the last.
``linear``      1/n to each of the user's n touches.
``time_decay``  weight 2^(-(conv_ts - ts) / half_life), normalised per user.
``position``    40 % first, 40 % last, 20 % split evenly over the middle touches (U-shaped;
                shares settable). Two touches: 50/50 (first/last shares renormalised). One: 100 %.
``markov``      data-driven: a first-order Markov chain over keys with absorbing states
                *conversion* and *null* is fitted to all paths (converting users' paths end in
                conversion; touched users who never converted end in null). The removal effect of
                key c is the share of conversion probability lost when c is removed (transitions into
                c go to null). Each converting user's credit is split over the distinct keys on
                their path in proportion to those keys' removal effects (spread evenly over the
                touch rows of a key).

Users with no touch are not in the touch table; callers add them as ``direct/unknown``
(``data.credits``), so no user is ever dropped.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ...errors import SpecError

MODELS = ("first", "last", "linear", "time_decay", "position", "markov")
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
_DAY_NS = 86_400 * 1_000_000_000


def sort_touches(df: pd.DataFrame, extra: Iterable[str] = ()) -> pd.DataFrame:
    """Sort by user, time, then the given columns (ties broken deterministically)."""
    cols = ["user_id", "ts", *[c for c in extra if c in df.columns]]
    return df.sort_values(cols, kind="stable").reset_index(drop=True)


def collapse_touches(df: pd.DataFrame, key_cols: list[str], gap_minutes: float = 30.0) -> pd.DataFrame:
    """Merge a run of touches of one user with the same key into one touch.

    A touch with the same ``key_cols`` values as the user's previous touch, less than
    ``gap_minutes`` after it, is the same visit (an ad click and its landing-page view) and
    is dropped; the run keeps its first row. ``df`` must be sorted by user and time.
    """
    if df.empty:
        return df
    same_user = df["user_id"].to_numpy()[1:] == df["user_id"].to_numpy()[:-1]
    same_key = np.ones(len(df) - 1, dtype=bool)
    for c in key_cols:
        v = df[c].astype(object).where(df[c].notna(), None).to_numpy()
        same_key &= v[1:] == v[:-1]
    ts = df["ts"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    close = (ts[1:] - ts[:-1]) < gap_minutes * 60 * 1e9
    # Compare with the previous *row*, so a long run of clicks minutes apart stays one touch.
    drop = np.concatenate([[False], same_user & same_key & close])
    return df.loc[~drop].reset_index(drop=True)


def _groups(user_ids: np.ndarray):
    """Start index of each row's user group, position within it and group size."""
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


def touch_weights(paths: pd.DataFrame, model: str, *, half_life_days: float = 7.0,
                  position_shares: tuple[float, float] = (0.4, 0.4), direct: np.ndarray | None = None,
                  nonconverting: pd.DataFrame | None = None, markov_key: str = "key") -> np.ndarray:
    """Credit of each touch row under ``model``; the rows of one user sum to 1.

    ``paths``: sorted by user then time, with ``user_id``, ``ts``, ``conv_ts`` and ``key``.
    ``direct``: boolean per row, True for direct touches (for ``last``); default: none direct.
    ``nonconverting``: for ``markov``, touches of users who did not convert (``user_id``, ``ts``,
    ``key``; sorted), the paths that end in the null state.
    """
    if model not in MODELS:
        raise SpecError(key="acquisition.models.attribution_must_one", MODELS=', '.join(MODELS), model=model)
    n = len(paths)
    if n == 0:
        return np.zeros(0)
    users = paths["user_id"].to_numpy()
    gid, pos, size, starts = _groups(users)
    ngroups = len(starts)
    last = pos == size - 1
    if model == "first":
        return (pos == 0).astype(float)
    if model == "linear":
        return 1.0 / size
    if model == "last":
        nd = np.ones(n, dtype=bool) if direct is None else ~np.asarray(direct, dtype=bool)
        # the last non-direct row of each user, else the last row
        idx = np.arange(n)
        cand = np.where(nd, idx, -1)
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
        age = (_ns(paths["conv_ts"]) - _ns(paths["ts"])) / _DAY_NS
        age = np.maximum(age, 0.0)
        # shift by each user's smallest age so the largest weight is 1 (no underflow)
        amin = np.full(ngroups, np.inf)
        np.minimum.at(amin, gid, age)
        w = np.exp2(-(age - amin[gid]) / half_life_days)
        return _normalise(w, gid, ngroups)
    if model == "position":
        f, l_ = position_shares
        if f < 0 or l_ < 0 or f + l_ > 1 + 1e-12:
            raise SpecError(key="acquisition.models.position_shares_must_non")
        w = np.zeros(n)
        one = size == 1
        two = size == 2
        many = size >= 3
        w[one] = 1.0
        tot = f + l_
        w[two & (pos == 0)] = f / tot if tot > 0 else 0.5
        w[two & (pos == 1)] = l_ / tot if tot > 0 else 0.5
        w[many & (pos == 0)] = f
        w[many & last] = l_
        mid = many & (pos > 0) & ~last
        w[mid] = (1.0 - f - l_) / (size[mid] - 2)
        return w
    # markov
    effects = markov_removal_effects(paths[["user_id", markov_key]].rename(columns={markov_key: "key"}),
                                     None if nonconverting is None else
                                     nonconverting[["user_id", markov_key]].rename(columns={markov_key: "key"}))
    return markov_weights(paths, effects, key=markov_key)


def _ns(s: pd.Series) -> np.ndarray:
    return s.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)


def _dedup_runs(users: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mask keeping the first row of each run of equal codes within a user."""
    keep = np.ones(len(users), dtype=bool)
    if len(users) > 1:
        keep[1:] = ~((users[1:] == users[:-1]) & (codes[1:] == codes[:-1]))
    return keep


def markov_removal_effects(converting: pd.DataFrame, nonconverting: pd.DataFrame | None = None) -> dict:
    """Removal effect of each key in a first-order Markov chain of the paths.

    ``converting`` / ``nonconverting``: ``user_id``, ``key`` rows sorted by user then time.
    Returns ``{key: removal_effect}`` (0 … 1): the fraction of the chain's conversion
    probability that is lost when the key is removed. Repeated consecutive keys are merged.

    With fundamental matrix N = (I - Q)^-1 of the transient states and conversion
    probabilities x = N r, the probability of converting from the start without visiting c is
    x_s - (N_sc / N_cc) x_c, so all removal effects come from one matrix inverse.
    """
    frames = [converting.assign(_conv=True)]
    if nonconverting is not None and len(nonconverting):
        frames.append(nonconverting.assign(_conv=False))
    allp = pd.concat(frames, ignore_index=True)
    if allp.empty:
        return {}
    keys, codes = np.unique(allp["key"].astype(str).to_numpy(), return_inverse=True)
    # keep the original key objects (not their text) for the result
    originals = {}
    for k, c in zip(allp["key"].to_numpy(), codes):
        originals.setdefault(int(c), k)
    S = len(keys)
    if S > MAX_MARKOV_STATES:
        raise SpecError(key="acquisition.models.markov_attribution_over_keys", S=S, MAX_MARKOV_STATES=MAX_MARKOV_STATES)
    # user groups: converting and non-converting users are kept apart even if ids clash
    uid = allp["user_id"].astype(str).to_numpy()
    grp = np.char.add(np.where(allp["_conv"].to_numpy(), "c:", "n:").astype(str), uid.astype(str)) \
        if len(frames) > 1 else uid
    keep = _dedup_runs(grp, codes)
    grp, codes, conv = grp[keep], codes[keep], allp["_conv"].to_numpy()[keep]
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
        return {originals[i]: 0.0 for i in range(S)}
    diag = np.diag(N)[:S]
    visit = np.divide(N[START, :S], diag, out=np.zeros(S), where=diag > 0)
    effect = np.clip(visit * x[:S] / xs, 0.0, 1.0)
    return {originals[i]: float(effect[i]) for i in range(S)}


def markov_weights(paths: pd.DataFrame, effects: dict, key: str = "key") -> np.ndarray:
    """Split each user's credit over the distinct keys on the path in proportion to ``effects``."""
    users = paths["user_id"].to_numpy()
    gid, pos, size, starts = _groups(users)
    ngroups = len(starts)
    kv = paths[key].to_numpy()
    eff = np.array([effects.get(k, 0.0) for k in kv], dtype=float)
    # rows of the same (user, key): each key counted once per user, its share spread over its rows
    pair = pd.DataFrame({"g": gid, "k": pd.factorize(kv)[0]})
    nrows = pair.groupby(["g", "k"])["g"].transform("size").to_numpy()
    first_of_pair = ~pair.duplicated(["g", "k"]).to_numpy()
    key_eff = np.where(first_of_pair, eff, 0.0)
    tot = np.bincount(gid, weights=key_eff, minlength=ngroups)
    nkeys = np.bincount(gid, weights=first_of_pair.astype(float), minlength=ngroups)
    share = np.where(tot[gid] > 0, eff / np.where(tot[gid] > 0, tot[gid], 1.0), 1.0 / nkeys[gid])
    return share / nrows


def attribute(paths: pd.DataFrame, model: str = "first", *, key: str = "key", **kwargs) -> pd.DataFrame:
    """Credit rows ``(user_id, key, credit)`` for the users in ``paths`` (credits sum to 1 per user)."""
    p = paths if key == "key" else paths.rename(columns={key: "key"})
    w = touch_weights(p, model, markov_key="key", **kwargs)
    out = pd.DataFrame({"user_id": p["user_id"].to_numpy(), "key": p["key"].to_numpy(), "credit": w})
    out = out[out["credit"] > 0]
    return out.groupby(["user_id", "key"], as_index=False, sort=False)["credit"].sum()
