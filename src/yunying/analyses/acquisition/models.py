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
from .weights import (DIRECT_CHANNELS, MAX_MARKOV_STATES, MODEL_LABELS, MODELS, markov_effects,  # noqa: F401 (names of
                      markov_split, rule_weights)                                          # this module)


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
    if len(paths) == 0:
        return np.zeros(0)
    if model != "markov":
        timed = model == "time_decay"
        return rule_weights(paths["user_id"].to_numpy(), model, half_life_days=half_life_days,
                            position_shares=position_shares, direct=direct,
                            ts_ns=_ns(paths["ts"]) if timed else None, conv_ns=_ns(paths["conv_ts"]) if timed else None)
    effects = markov_removal_effects(paths[["user_id", markov_key]].rename(columns={markov_key: "key"}),
                                     None if nonconverting is None else
                                     nonconverting[["user_id", markov_key]].rename(columns={markov_key: "key"}))
    return markov_weights(paths, effects, key=markov_key)


def _ns(s: pd.Series) -> np.ndarray:
    return s.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)


def markov_removal_effects(converting: pd.DataFrame, nonconverting: pd.DataFrame | None = None) -> dict:
    """Removal effect of each key in a first-order Markov chain of the paths.

    ``converting`` / ``nonconverting``: ``user_id``, ``key`` rows sorted by user then time.
    Returns ``{key: removal_effect}`` (0 … 1): the fraction of the chain's conversion
    probability that is lost when the key is removed. Repeated consecutive keys are merged
    (:func:`.weights.markov_effects`).
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
    effect = markov_effects(grp, codes, allp["_conv"].to_numpy(), S)
    return {originals[i]: float(effect[i]) for i in range(S)}


def markov_weights(paths: pd.DataFrame, effects: dict, key: str = "key") -> np.ndarray:
    """Split each user's credit over the distinct keys on the path in proportion to ``effects``."""
    kv = paths[key].to_numpy()
    eff = np.array([effects.get(k, 0.0) for k in kv], dtype=float)
    return markov_split(paths["user_id"].to_numpy(), pd.factorize(kv)[0], eff)


def attribute(paths: pd.DataFrame, model: str = "first", *, key: str = "key", **kwargs) -> pd.DataFrame:
    """Credit rows ``(user_id, key, credit)`` for the users in ``paths`` (credits sum to 1 per user)."""
    p = paths if key == "key" else paths.rename(columns={key: "key"})
    w = touch_weights(p, model, markov_key="key", **kwargs)
    out = pd.DataFrame({"user_id": p["user_id"].to_numpy(), "key": p["key"].to_numpy(), "credit": w})
    out = out[out["credit"] > 0]
    return out.groupby(["user_id", "key"], as_index=False, sort=False)["credit"].sum()
