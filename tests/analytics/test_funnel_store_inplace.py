"""The one-pass ordered funnel read in place over a sequence store's arrays (``funnel_ordered_users``, and
``funnel_ordered_into`` writing into the caller's arrays: the
store's codes, time bounds and a user mask applied by the kernel itself, rows of steps a user cannot reach
skipped) against the general per-attempt kernel (``funnel_kernel``) run on the rows that a numpy mask selects
and cuts out - the way a store scan hands them to every other kernel: the same users, levels and step times.
(Among tied rows of one step the two kernels may name different rows at the same time; the rows are checked
against the one-pass kernel on the cut rows.) Random logs with many ties, events that are no step, users
with no row kept, entry and step ranges."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from yunying.sequences.kernels.funnel import (ORDERED, funnel_kernel, funnel_ordered_distinct, funnel_ordered_into,
                                             funnel_ordered_users)

I64_MIN, I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def store_log(rng, n_users, n_events, max_rows, t_span):
    sizes = rng.integers(0, max_rows + 1, n_users)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ts = np.concatenate([np.sort(rng.integers(0, t_span, s)) for s in sizes] or [np.zeros(0)]).astype(np.int64)
    code = rng.integers(0, n_events, int(starts[-1])).astype(np.int16)
    return sizes, starts, ts, code


def general(sizes, starts, ts, code, step_of, lo, hi, keep, n_steps, window, entry_lo, entry_hi, step_hi):
    """The general kernel on the selected rows (users, levels, step times, users with a row), and the one-pass
    kernel's rows on them, mapped back to store users and rows."""
    row_user = np.repeat(np.arange(sizes.size), sizes)
    sel = (step_of[code] >= 0) & (ts >= lo) & (ts <= hi)
    if keep.size:
        sel &= keep[row_user]
    rows = np.flatnonzero(sel)
    users, counts = np.unique(row_user[rows], return_counts=True)
    c_starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    c_code = step_of[code[rows]].astype(np.int8)  # a position in the step names
    step_mask = (np.int64(1) << np.arange(n_steps)).astype(np.int64)
    none = np.zeros(0, np.int64)
    u, lv, r = funnel_kernel(c_starts, ts[rows], c_code, step_mask, np.zeros(n_steps, np.int64), n_steps, window,
                             ORDERED, False, entry_lo, entry_hi, step_hi, none, none,
                             np.arange(n_steps, dtype=np.int64), np.ones(n_steps, np.int64))
    times = np.where(r >= 0, ts[rows][np.maximum(r, 0)], I64_MIN)
    _, _, fast_rows, _ = funnel_ordered_distinct(c_starts, ts[rows], c_code, np.arange(n_steps, dtype=np.int64),
                                                 n_steps, window, entry_lo, entry_hi, step_hi)
    store_rows = np.where(fast_rows >= 0, rows[np.maximum(fast_rows, 0)], -1)
    return users[u], lv, times, store_rows, users.size


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_steps=st.integers(2, 5), bounded=st.booleans(), masked=st.booleans(),
       ranged=st.booleans(), t_span=st.sampled_from([6, 20, 200]))
def test_in_place_equals_general_kernel_on_cut_rows(seed, n_steps, bounded, masked, ranged, t_span):
    rng = np.random.default_rng(seed)
    n_events = n_steps + 3
    sizes, starts, ts, code = store_log(rng, 60, n_events, 14, t_span)
    step_of = np.full(n_events, -1, np.int64)
    step_of[rng.permutation(n_events)[:n_steps]] = np.arange(n_steps)  # the store's codes -> steps
    lo, hi = (np.int64(t_span // 5), np.int64(t_span - t_span // 4)) if bounded else (I64_MIN, I64_MAX)
    keep = rng.random(60) < 0.7 if masked else np.zeros(0, np.bool_)
    window = np.int64(rng.integers(0, t_span))
    if ranged:
        entry_lo, entry_hi = np.int64(t_span // 4), np.int64(t_span // 2 + 1)
        step_hi = np.int64(t_span - 2) if rng.random() < 0.5 else np.int64(I64_MAX)
    else:
        entry_lo, entry_hi, step_hi = np.int64(I64_MIN), np.int64(I64_MAX), np.int64(I64_MAX)
    args = (step_of, lo, hi, keep, n_steps, window, entry_lo, entry_hi, step_hi)
    want_users, want_levels, want_times, want_rows, want_read = general(sizes, starts, ts, code, *args)
    u0, u1 = (0, 60) if rng.random() < 0.5 else (int(rng.integers(0, 30)), int(rng.integers(30, 61)))
    users, levels, rows, times, n_read = funnel_ordered_users(starts, ts, code, step_of, u0, u1, lo, hi, keep,
                                                              n_steps, window, entry_lo, entry_hi, step_hi)
    part = (want_users >= u0) & (want_users < u1)
    assert np.array_equal(users, want_users[part])
    assert np.array_equal(levels, want_levels[part])
    assert np.array_equal(times, want_times[part])
    assert np.array_equal(rows, want_rows[part])
    assert np.array_equal(times, np.where(rows >= 0, ts[np.maximum(rows, 0)], I64_MIN))
    reached = rows >= 0
    assert np.array_equal(step_of[code[rows[reached]]], np.nonzero(reached)[1])  # step k's row is a step k event
    if (u0, u1) == (0, 60):
        assert n_read == want_read  # users with a step row read
    # into the caller's arrays, without the rows (the store's funnel): the same users, levels and times,
    # nothing written past the users counted
    o_user, o_level = np.full(u1 - u0 + 3, -7, np.int64), np.full(u1 - u0 + 3, -7, np.int8)
    o_ts = np.full((u1 - u0 + 3, n_steps), -7, np.int64)
    n, n_read2 = funnel_ordered_into(starts, ts, code, step_of, u0, u1, lo, hi, keep, n_steps, window, entry_lo,
                                     entry_hi, step_hi, o_user, o_level, np.empty((0, n_steps), np.int64), o_ts)
    assert (n, n_read2) == (users.size, n_read)
    assert np.array_equal(o_user[:n], users) and np.array_equal(o_level[:n], levels)
    assert np.array_equal(o_ts[:n], times)
    assert (o_user[n:] == -7).all() and (o_level[n:] == -7).all() and (o_ts[n:] == -7).all()


@pytest.mark.parametrize("code_type", [np.int8, np.int32])
def test_negative_codes_are_no_event(code_type):
    """Chunk codes are -1 for events the analysis does not name: never a step, whatever ``step_of[-1]`` holds."""
    starts = np.array([0, 4], np.int64)
    ts = np.array([1, 2, 3, 4], np.int64)
    code = np.array([0, -1, 1, -1], code_type)
    step_of = np.array([0, 1, 1], np.int64)  # the last entry would be read for -1 if it were an index
    users, levels, rows, times, n_read = funnel_ordered_users(
        starts, ts, code, step_of, 0, 1, I64_MIN, I64_MAX, np.zeros(0, np.bool_), 2, np.int64(10),
        np.int64(I64_MIN), np.int64(I64_MAX), np.int64(I64_MAX))
    assert users.tolist() == [0] and levels.tolist() == [2] and rows.tolist() == [[0, 2]] and n_read == 1
