"""Funnels (漏斗分析): how many users go through steps A → B → C within a conversion window.

Definitions (口徑) are in docs/definitions.md#funnels. In short:

* ``ordered`` (default): every step-1 event starts an attempt; each later step is the
  earliest matching event after the previous step, at most ``window`` after step 1
  (edge inclusive). A user counts once, at the furthest step of their best attempt
  (ties: the attempt that reached that step first, then the latest start).
* ``strict``: the user's very next event must be the next step (any other event ends the attempt).
* ``unordered``: the number of distinct steps done inside the window after any step event.
* Events with the same timestamp are taken in step order; an event serves one step of an attempt.
* ``date_from``/``date_to`` bound the *entry* (step 1); later steps may fall after
  ``date_to`` unless ``steps_in_range``.
* Exclusions: an attempt with an exclusion event after its ``from_step`` and before its
  ``to_step`` (or inside the window, when ``to_step`` is not reached) is void; a user
  with no valid attempt is in no step.
* ``repeat``: count attempts instead of users (an event serves one attempt).

The computation pulls only the step (and exclusion) events, ordered by user and time,
and runs the Numba kernel :func:`yunying.sequences.kernels.funnel.funnel_kernel` over each
user's run, through the engine (``engine.map_sequences``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import SpecError, Text
from ..model.durations import format_duration, parse_duration
from ..engines.sequences import SequenceQuery
from ..sequences.calendar import local_period_ordinals, ordinal_to_date, utc_bound
from ..sequences.chunks import ids_to_arrow
from ..sequences.kernels.consts import I64_MAX, I64_MIN, ORDERED, STRICT, UNORDERED
from ..sequences.kernels.loader import (funnel_kernel, funnel_ordered_distinct, funnel_ordered_into,
                                        step_time_stats)
from .base import Result, Spec, clean, ratio, refuse_all_none
from .table import Columns
from .filtering import FilteredSpec, event_filter, filtered, spec_filters
from .funnel_partials import NONE, OTHER, funnel_on_workers  # (other) and (none) are defined there
from .funnel_steps import StepCodes, parse_step, step_label
from .user_groups import is_user_breakdown, run_by_groups

_STORE_OUT_LOCK = threading.Lock()

# Buckets of the time-to-convert distribution (upper bounds, seconds).
TTC_EDGES = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400,
             7 * 86400, 14 * 86400, 30 * 86400, 60 * 86400, 90 * 86400]


class Exclusion(BaseModel):
    """An event that voids an attempt when it happens between ``from_step`` and ``to_step`` (1-based)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event: str
    from_step: int = 1
    to_step: int | None = None  # default: the last step


class FunnelSpec(FilteredSpec):
    """A funnel. ``steps`` are event names in order; ``window`` like ``30m``, ``1d``, ``14d``.

    >>> FunnelSpec(steps=["signup", "activate", "purchase"], window="7d").window_seconds
    604800
    """

    kind = "funnel"
    steps: list[str] = Field(min_length=2, max_length=32)
    window: str = "14d"
    order: Literal["ordered", "strict", "unordered"] = "ordered"
    exclusions: list[Exclusion] = []
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    steps_in_range: bool = False
    by: str | None = None
    attribution: Literal["first_touch", "last_touch", "step"] = "first_touch"
    attribution_step: int | None = None
    top: int = 10
    repeat: bool = False
    interval: Literal["day", "week", "month"] | None = None
    #: per-step filters (JSON trees), one list per step (empty: none); steps may also be given as
    #: ``"purchase[event.revenue > 100]"`` or ``{"event": "purchase", "filters": [...]}``
    step_filters: list[list[dict]] = []

    @model_validator(mode="before")
    @classmethod
    def _step_items(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("steps"), (list, tuple)):
            return data
        parsed = [parse_step(s) for s in data["steps"]]
        names = [n for n, _ in parsed]
        if not any(f for _, f in parsed):
            return {**data, "steps": names} if any(isinstance(s, dict) for s in data["steps"]) else data
        if data.get("step_filters"):
            raise ValueError(Text("funnel.give_per_step_filters"))
        return {**data, "steps": names, "step_filters": [f for _, f in parsed]}

    @field_validator("step_filters", mode="before")
    @classmethod
    def _step_filters(cls, v):
        return [spec_filters(f) for f in v or []]

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, v):
        parse_duration(v)
        return str(v)

    @field_validator("steps")
    @classmethod
    def _steps(cls, v):
        if any(not s or not str(s).strip() for s in v):
            raise ValueError(Text("funnel.step_names_must_empty"))
        return [str(s).strip() for s in v]

    @model_validator(mode="after")
    def _check(self):
        n = len(self.steps)
        if self.top < 1:
            raise ValueError(Text("explain.top_must_at_least"))
        for ex in self.exclusions:
            to = ex.to_step if ex.to_step is not None else n
            if not (1 <= ex.from_step < to <= n):
                raise ValueError(Text("funnel.exclusion_need_1_from", event=ex.event, n=n))
            if ex.event in self.steps:
                raise ValueError(Text("funnel.exclusion_also_step_use", event=ex.event))
        if self.attribution == "step":
            if self.attribution_step is None or not 1 <= self.attribution_step <= n:
                raise ValueError(Text("funnel.attribution_step_needs_attribution", n=n))
        if self.repeat and self.order == "unordered":
            raise ValueError(Text("funnel.repeat_conversions_need_ordered"))
        if self.step_filters:
            if len(self.step_filters) != n:
                raise ValueError(Text("funnel.step_filters_one_list", n=n, n_step_filters=len(self.step_filters)))
            if not any(self.step_filters):
                object.__setattr__(self, "step_filters", [])
            elif self.order == "unordered":
                raise ValueError(Text("funnel.per_step_filters_need"))
        return self

    @property
    def step_labels(self) -> list[str]:
        """The steps as shown: ``name`` or ``name[filter]``."""
        fs = self.step_filters or [[]] * len(self.steps)
        return [step_label(s, f) for s, f in zip(self.steps, fs)]

    @property
    def window_seconds(self) -> int:
        return parse_duration(self.window)


class FunnelResult(Result):
    kind = "funnel"
    rows_key = "steps"

    def to_csv(self) -> str:
        """One table: the steps; with a breakdown, one row per (breakdown value, step); with --interval,
        the conversion over time instead (one row per entry period)."""
        data = self.to_dict()
        if data.get("breakdown"):
            rows = [{"breakdown": b["value"], **step} for b in data["breakdown"] for step in b["steps"]]
            return Columns.from_rows(rows, list(rows[0])).to_csv()
        if data.get("over_time"):
            return Columns.from_rows(data["over_time"], list(data["over_time"][0])).to_csv()
        return super().to_csv()

    def __init__(self, spec, frame, meta, data: dict, breakdown: list[dict] | None = None, over_time=None):
        super().__init__(spec, frame, meta)
        self._data = data  # levels, step_ts (µs, UTC), user_ids (Arrow), breakdown values
        self._attempts = None
        self.breakdown = breakdown
        self._over_time = over_time  # Columns, or a pandas DataFrame (computed on the workers)

    @property
    def over_time(self):
        """Conversion by entry period (a pandas DataFrame), or None without ``interval``."""
        if isinstance(self._over_time, Columns):
            self._over_time = self._over_time.to_pandas()
        return self._over_time

    def over_time_rows(self) -> list[dict] | None:
        """The conversion by entry period as JSON-safe rows (no DataFrame built), or None without ``interval``."""
        ot = self._over_time
        if ot is None:
            return None
        return [clean(r) for r in (ot.rows() if isinstance(ot, Columns) else ot.to_dict(orient="records"))]

    @property
    def attempts(self):
        """One row per counted attempt (per user unless ``repeat``): user_id, level, step_K_at (UTC): a pandas
        DataFrame."""
        import pandas as pd

        if self._attempts is None:
            d = self._data
            if "levels" not in d:  # aggregated on the workers: the attempts are read now, when asked for
                d.update(d.pop("fetch")())
            if callable(d["user_ids"]):  # read on first use (the funnel itself read hashed ids)
                d["user_ids"] = [d["user_ids"]()]
            df = pd.DataFrame({"user_id": ids_to_arrow(d["user_ids"]).to_pandas().to_numpy(dtype=object),
                               "level": d["levels"]})
            for k in range(d["step_ts"].shape[1]):
                col = d["step_ts"][:, k]
                df[f"step_{k + 1}_at"] = pd.to_datetime(
                    np.where(col == I64_MIN, np.datetime64("NaT"), col.astype("datetime64[us]")))
            if d.get("breakdown") is not None:
                df["breakdown"] = d["breakdown"]
            self._attempts = df
        return self._attempts

    # -- derived views -----------------------------------------------------------------
    def dropped_after(self, step: int):
        """Users who reached step ``step`` (1-based) but not the next one, for re-engagement.

        Columns: ``user_id``, ``entered_at`` (step 1, UTC), ``last_step_at`` (UTC) and the
        breakdown value when the funnel has one. In repeat mode a user is listed when any
        attempt stopped at that step.
        """
        n = len(self.spec.steps)
        if not 1 <= step <= n - 1:
            raise SpecError(key="funnel.dropped_after_needs_step", n=n - 1)
        import pandas as pd

        a = self.attempts
        sel = a[a["level"] == step]
        out = pd.DataFrame({
            "user_id": sel["user_id"],
            "entered_at": sel["step_1_at"],
            "last_step_at": sel[f"step_{step}_at"],
        })
        if "breakdown" in sel:
            out[self.spec.by] = sel["breakdown"].values
        out = out.drop_duplicates("user_id", keep="first").sort_values("user_id", kind="stable")
        return out.reset_index(drop=True)

    def time_to_convert(self, from_step: int = 1, to_step: int | None = None):
        """Distribution of the time from ``from_step`` to ``to_step`` among attempts that reached ``to_step``
        (a pandas DataFrame: from_seconds, to_seconds, label, count)."""
        import pandas as pd

        return pd.DataFrame(self._ttc_rows(from_step, to_step))

    def _ttc_rows(self, from_step: int = 1, to_step: int | None = None) -> list[dict]:
        n = len(self.spec.steps)
        to_step = to_step or n
        if not 1 <= from_step < to_step <= n:
            raise SpecError(key="funnel.time_convert_needs_1", n=n)
        edges = _ttc_edges(self.spec)
        if (from_step, to_step) == (1, n) and "ttc" in self._data:  # counted on the workers
            counts = self._data["ttc"]
        else:
            if "levels" not in self._data:  # aggregated on the workers: read the attempts (not their user ids)
                self._data.update(self._data.pop("fetch")())
            lv, st = self._data["levels"], self._data["step_ts"]
            sel = lv >= to_step
            secs = (st[sel, to_step - 1] - st[sel, from_step - 1]) / 1e6
            counts, lo = [], 0
            for hi in edges:
                counts.append(int(((secs >= lo) & (secs < hi)).sum()) if hi != edges[-1]
                              else int(((secs >= lo) & (secs <= hi)).sum()))
                lo = hi
        rows, lo = [], 0
        for hi, k in zip(edges, counts):
            rows.append({"from_seconds": lo, "to_seconds": hi, "label": f"{format_duration(lo)}–{format_duration(hi)}", "count": k})
            lo = hi
        return rows

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.breakdown is not None:
            out["breakdown"] = clean(self.breakdown)
        if self._over_time is not None:
            out["over_time"] = self.over_time_rows()
        out["time_to_convert"] = [clean(r) for r in self._ttc_rows()]
        return out

    def chart(self):
        import plotly.graph_objects as go

        fig = go.Figure()
        if self.breakdown:
            for b in self.breakdown:
                fig.add_bar(name=str(b["value"]), x=[f"{s['step']}. {s['name']}" for s in b["steps"]],
                            y=[s["count"] for s in b["steps"]])
            fig.update_layout(barmode="group")
        else:
            fig.add_bar(x=[f"{r.step}. {r.name}" for r in self.frame.itertuples()], y=self.frame["count"],
                        text=[f"{(c or 0):.1%}" for c in self.frame["conversion_from_start"]],
                        textposition="outside")
        fig.update_layout(title=self.meta.get("title", "Funnel"), yaxis_title="users" if not self.spec.repeat else "attempts")
        return fig


def _step_table(levels: np.ndarray, step_ts: np.ndarray, names: list[str], user_idx: np.ndarray | None = None
                ) -> list[dict]:
    n = len(names)
    per_level = np.bincount(levels, minlength=n + 1)[: n + 1]
    counts = [int(per_level[k + 1:].sum()) for k in range(n)]
    stats = _step_times(levels, step_ts, counts)
    num = lambda v: None if v != v else float(v)  # noqa: E731 - NaN -> None
    rows = []
    for k in range(n):
        row = {
            "step": k + 1,
            "name": names[k],
            "count": counts[k],
            "conversion_from_start": ratio(counts[k], counts[0]),
            "conversion_from_previous": ratio(counts[k], counts[k - 1]) if k else ratio(counts[0], counts[0]),
            "drop_off": counts[k - 1] - counts[k] if k else 0,
        }
        if user_idx is not None:
            row["users"] = int(np.unique(user_idx[levels >= k + 1]).size)
        row.update(avg_seconds_from_previous=num(stats[k, 1]), median_seconds_from_previous=num(stats[k, 2]),
                   avg_seconds_from_start=num(stats[k, 3]), median_seconds_from_start=num(stats[k, 4]))
        rows.append(row)
    return rows


PARALLEL_STATS_FROM = 200_000  # attempts: from this many the step times' statistics are computed on two threads


def _step_times(levels: np.ndarray, step_ts: np.ndarray, counts: list[int]) -> np.ndarray:
    """``step_time_stats`` of every step: the steps split in two runs of about the same number of attempts,
    one on a helper thread (the kernel does not hold Python's lock)."""
    n = step_ts.shape[1]
    out = np.full((n, 5), np.nan)
    if not levels.size:
        return out
    levels, step_ts = np.ascontiguousarray(levels, np.int64), np.ascontiguousarray(step_ts, np.int64)
    work = np.cumsum(counts[1:])  # attempts read for steps 2..k
    split = 1 + int(np.searchsorted(work, work[-1] / 2)) if n > 2 and counts[0] >= PARALLEL_STATS_FROM else n
    if split + 1 >= n:
        return step_time_stats(levels, step_ts, 1, n, out)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="yunying-kernel") as pool:
        rest = pool.submit(step_time_stats, levels, step_ts, split + 1, n, out)
        step_time_stats(levels, step_ts, 1, split + 1, out)
        rest.result()
    return out


def funnel(engine, spec: FunnelSpec | None = None, **kwargs) -> FunnelResult:
    """Compute a funnel.

    >>> import yunying
    >>> ws = yunying.open("my-workspace")                                         # doctest: +SKIP
    >>> funnel(ws.engine, steps=["signup", "activate", "purchase"], window="7d").to_pandas()  # doctest: +SKIP
    """
    spec = spec or FunnelSpec.build(**kwargs)
    if is_user_breakdown(spec.by):
        return _by_user_groups(engine, spec)
    return _funnel(engine, spec)


def _by_user_groups(engine, spec: FunnelSpec) -> "FunnelResult":
    """``by user.PROP`` / ``segment:A,B``: the funnel of all users, and of each group of users (user_groups.py)."""
    res, per_group = run_by_groups(engine, spec, _funnel)
    out = []
    for label, group in per_group:
        rows = group.records()
        if label == NONE and not rows[0]["count"]:
            continue
        out.append({"value": label, "steps": [{k: r[k] for k in ("step", "name", "count", "conversion_from_start",
                                                                 "conversion_from_previous",
                                                                 "median_seconds_from_start")} for r in rows],
                    "conversion": rows[-1]["conversion_from_start"]})
    res.spec, res.breakdown = spec, out
    return res


def _funnel(engine, spec: FunnelSpec, extra=None) -> "FunnelResult":
    """The funnel of the events the spec's filters (and the ``extra`` event filter) keep."""
    steps = spec.steps
    engine.require("sequences")
    engine.check_events(steps)  # a typo'd step would silently show 0% conversion
    engine.check_properties([spec.by])
    tz = engine.timezone
    plan = _FunnelKernel(spec, tz)
    query = filtered(engine, spec, plan.query, extra)
    if spec.step_filters:  # each evaluated on every row, as a flag column (funnel_steps.py)
        query = dataclasses.replace(query, flags=tuple(event_filter(engine, f) for f in spec.step_filters if f))
    steps = spec.step_labels
    if "reduce_rows" in engine.capabilities:  # aggregated on the workers; the attempts fetched when asked
        rows, breakdown, over_time, ttc, sent = funnel_on_workers(engine, spec, plan, _ttc_edges(spec), query)
        if spec.by:
            refuse_all_none(spec.by, [b["value"] for b in breakdown], f"{_attributed(spec)} event of the users counted")
        frame = Columns.from_rows(rows, list(rows[0]))
        data = {"fetch": lambda: _attempt_data(engine, spec, plan, query), "ttc": ttc, "bytes_to_driver": sent}
    else:
        data = _attempt_data(engine, spec, plan, query)
        levels, step_ts, attr = data["levels"], data["step_ts"], data["breakdown"]
        table = _step_table(levels, step_ts, steps, data["user_idx"] if spec.repeat else None)
        frame = Columns.from_rows(table, list(table[0]))
        breakdown = None
        if spec.by:
            refuse_all_none(spec.by, attr, f"{_attributed(spec)} event of the users counted")
            breakdown = _breakdown(attr, levels, step_ts, steps, spec)
        over_time = _over_time(levels, step_ts, spec, tz) if spec.interval else None
    title = " → ".join(steps) + f" within {spec.window}" + (f" ({spec.order})" if spec.order != "ordered" else "")
    meta = {
        "title": title,
        "order": spec.order,
        "window_seconds": spec.window_seconds,
        "counting": "attempts" if spec.repeat else "users",
        "timezone": tz,
        "entered": int(frame.data["count"][0]),
        "converted": int(frame.data["count"][-1]),
        "conversion": ratio(int(frame.data["count"][-1]), int(frame.data["count"][0])),
    }
    return FunnelResult(spec, frame, meta, data, breakdown, over_time)


def _attributed(spec: FunnelSpec) -> str:
    return {"first_touch": "first step", "last_touch": "last step reached"}.get(spec.attribution,
                                                                          f"step {spec.attribution_step}")


def _ttc_edges(spec: FunnelSpec) -> list[int]:
    return [e for e in TTC_EDGES if e < spec.window_seconds] + [spec.window_seconds]


def _attempt_data(engine, spec: FunnelSpec, plan: "_FunnelKernel", query) -> dict:
    """Every counted attempt: levels, step times (µs UTC), user ids (or a function reading them), user index
    (repeat), breakdown values (None without ``by``)."""
    found = _Attempts(spec, plan)
    plan.__dict__.pop("_store_out", None)  # each run its own output arrays (an earlier result may hold them)
    for _, part in engine.map_sequences(plan, query):
        found.add(part)
    levels, step_ts, uids, user_idx, attr = found.merged(engine)
    return {"levels": levels, "step_ts": step_ts, "user_ids": uids, "user_idx": user_idx,
            "breakdown": attr if spec.by else None}


class _FunnelKernel:
    """The spec turned into kernel arguments; called on a chunk it returns that chunk's counted attempts
    ``(users, levels, rows, step times or None)``."""

    def __init__(self, spec: FunnelSpec, tz: str):
        steps, n_steps = spec.steps, len(spec.steps)
        self.spec, self.n_steps, self.tz = spec, n_steps, tz
        self.window_us = spec.window_seconds * 1_000_000
        entry_lo = utc_bound(spec.date_from, tz) if spec.date_from else None
        entry_hi = utc_bound(spec.date_to + dt.timedelta(days=1), tz) if spec.date_to else None
        step_hi = entry_hi if (spec.steps_in_range and entry_hi is not None) else None
        read_hi = None
        if entry_hi is not None:
            read_hi = entry_hi - 1 if step_hi is not None else entry_hi - 1 + self.window_us
        self.entry_lo, self.read_hi = entry_lo, read_hi
        self.lo = np.int64(entry_lo if entry_lo is not None else I64_MIN)
        self.hi = np.int64(entry_hi if entry_hi is not None else I64_MAX)
        self.shi = np.int64(step_hi if step_hi is not None else I64_MAX)

        names = list(dict.fromkeys(list(steps) + [e.event for e in spec.exclusions]))
        self.names = names
        self.step_mask = np.zeros(max(len(names), 1), np.int64)
        self.excl_mask = np.zeros(max(len(names), 1), np.int64)
        for k, s in enumerate(steps):
            self.step_mask[names.index(s)] |= 1 << k
        for e, ex in enumerate(spec.exclusions):
            self.excl_mask[names.index(ex.event)] |= 1 << e
        self.excl_from = np.array([ex.from_step - 1 for ex in spec.exclusions], np.int64)
        self.excl_to = np.array([(ex.to_step or n_steps) - 1 for ex in spec.exclusions], np.int64)
        distinct = list(dict.fromkeys(steps))
        self.step_count = np.array([distinct.index(nm) if nm in distinct else -1 for nm in names] or [-1], np.int64)
        self.multiplicity = np.array([steps.count(d) for d in distinct], np.int64)
        self.mode = {"ordered": ORDERED, "strict": STRICT, "unordered": UNORDERED}[spec.order]
        # ordered, no exclusions, no repeat, every step a different event: the one-pass kernel
        self.one_pass = (spec.order == "ordered" and not spec.exclusions and not spec.repeat
                         and len(set(steps)) == n_steps)
        self.step_of = np.array([steps.index(nm) if nm in steps else -1 for nm in names] or [-1], np.int64)
        # the events that can be an attempt's first step (whose rows identify the users counted)
        self.first_names = distinct if spec.order == "unordered" else [steps[0]]
        self.first_codes = np.array([names.index(nm) for nm in self.first_names], np.int32)
        self.codes = None
        if spec.step_filters:
            self.codes = StepCodes(steps, [bool(f) for f in spec.step_filters], names, self.step_mask,
                                   self.excl_mask, self.step_count, self.step_of)
            self.step_mask, self.excl_mask = self.codes.step_mask, self.codes.excl_mask
            self.step_count, self.step_of = self.codes.step_count, self.codes.step_of
        self.query = SequenceQuery(tuple(names), all_events=(spec.order == "strict"),
                                   props=(spec.by,) if spec.by else (), ts_lo=entry_lo, ts_hi=read_hi,
                                   hashed_ids=True)

    def __call__(self, ch) -> "_Part":
        """The chunk's counted attempts as a self-contained partial result (no reference to the chunk's rows
        except a sequence store's user index), so it can be computed where the chunk is (a Spark executor)."""
        w = np.int64(self.window_us)
        code = ch.code if self.codes is None else self.codes.codes(ch)
        if self.one_pass:
            out = funnel_ordered_distinct(ch.starts, ch.ts, code, self.step_of, self.n_steps, w,
                                          self.lo, self.hi, self.shi)
        else:
            out = funnel_kernel(ch.starts, ch.ts, code, self.step_mask, self.excl_mask, self.n_steps, w,
                                self.mode, self.spec.repeat, self.lo, self.hi, self.shi, self.excl_from,
                                self.excl_to, self.step_count, self.multiplicity) + (None,)
        return _Part.of(self, ch, *out)

    @property
    def on_store(self):
        """The one-pass kernel reads a sequence store's block in place (``map_chunks``); the others get chunks."""
        return self._on_store if self.one_pass and self.codes is None else None

    def _on_store(self, b) -> "_Part":
        step_of = np.where(b.lut >= 0, self.step_of[np.maximum(b.lut, 0)], -1)  # the store's codes -> steps
        users, levels, times = self._store_outputs(b.store)
        u0, u1 = b.u0, b.u1
        n, n_read = funnel_ordered_into(
            b.starts, b.ts, b.code, step_of, u0, u1, b.lo, b.hi, b.keep, self.n_steps, np.int64(self.window_us),
            self.lo, self.hi, self.shi, users[u0:u1], levels[u0:u1], np.empty((0, self.n_steps), np.int64),
            times[u0:u1])
        return _Part.stored(b.store, users[u0:u0 + n], levels[u0:u0 + n], times[u0:u0 + n], n_read, times)

    def _store_outputs(self, store) -> tuple:
        """One set of output arrays for all the blocks of a store read in place: block ``u0..u1`` writes its users
        counted from row ``u0`` on (it counts at most ``u1 - u0``), and the step times are then compacted in
        place (:class:`_Attempts`), so no block allocates memory of its own and none is copied into a new
        array (fresh memory costs more to touch than the kernel's work on it). Not kept with the plan when
        pickled."""
        with _STORE_OUT_LOCK:
            out = self.__dict__.get("_store_out")
            if out is None or out[0] is not store:
                n = store.n_users
                out = (store, np.empty(n, np.int64), np.empty(n, np.int8), np.empty((n, self.n_steps), np.int64))
                self.__dict__["_store_out"] = out
        return out[1:]

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_store_out"}

    def first_rows(self, ch) -> np.ndarray:
        """Rows of the chunk that can be step 1."""
        fc = self.first_codes
        return np.flatnonzero(ch.code == fc[0] if fc.size == 1 else np.isin(ch.code, fc))


class _Part:
    """One chunk's counted attempts: levels, step times, the users' ids (or the hashed-id ordinals / the
    sequence store index to read them by later), user numbers (repeat) and breakdown values. Picklable."""

    __slots__ = ("level", "ts", "uid", "keys", "ords", "idx", "store", "user", "attr", "n_users", "n_first", "buf")

    @classmethod
    def of(cls, plan: "_FunnelKernel", ch, users, levels, rows, sts) -> "_Part":
        spec = plan.spec
        p = cls()
        p.level = p.ts = p.uid = p.keys = p.ords = p.idx = p.store = p.user = p.attr = p.buf = None
        p.n_users = ch.n_users
        first = plan.first_rows(ch) if ch.keyed else None
        p.n_first = int(first.size) if ch.keyed else 0
        if users.size:
            p.ts = sts if sts is not None else np.where(rows >= 0, ch.ts[np.maximum(rows, 0)], I64_MIN)
            p.level = levels
            if ch.keyed:
                row0 = rows[:, 0]
                p.ords = np.searchsorted(first, row0)
                p.keys = ch.ids.to_numpy()[row0]
            elif ch.index is not None:  # from the sequence store: ids looked up when asked for
                p.store, p.idx = ch.store, ch.index[users]
            else:
                p.uid = ch.ids_of(users)
            if spec.repeat:
                p.user = users
            if spec.by:
                p.attr = _attribution(spec, ch, levels, rows)
        return p

    @classmethod
    def stored(cls, store, users, levels, sts, n_users, buf=None) -> "_Part":
        """The attempts counted on a sequence store's block read in place (users are the store's indices); ``buf``:
        the array ``sts`` is a part of, where the attempts of every block are gathered."""
        p = cls()
        p.uid = p.keys = p.ords = p.user = p.attr = None
        p.n_users, p.n_first, p.buf = n_users, 0, buf
        p.level, p.ts, p.store, p.idx = (levels, sts, store, users) if users.size else (None, None, None, None)
        return p


def _attribution(spec, ch, levels, rows) -> pa.Array:
    if spec.attribution == "first_touch":
        arow = rows[:, 0]
    elif spec.attribution == "last_touch":
        arow = rows[np.arange(rows.shape[0]), levels.astype(np.int64) - 1]
    else:
        arow = rows[:, spec.attribution_step - 1]
    import pyarrow.compute as pc  # (start-up time: a breakdown only)

    vals = ch.columns[spec.by].take(pa.array(np.maximum(arow, 0)))
    vals = pc.if_else(pa.array(arow >= 0), vals, pa.scalar(None, vals.type))
    return vals.cast(pa.string())


class _Attempts:
    """The counted attempts of every chunk (:class:`_Part`), merged in reading order: levels, step times,
    the users' ids (or how to read them later) and the breakdown value of each."""

    def __init__(self, spec: FunnelSpec, plan: _FunnelKernel):
        self.spec, self.plan = spec, plan
        self.uid, self.level, self.ts, self.attr, self.user = [], [], [], [], []
        self.user_base = 0
        # Engines with hashed ids hand out 64-bit hashes of the user ids (cheap to export); the ids of the
        # users counted are then read for their first step's rows only: ordinals among the rows that can
        # be step 1, in scan order
        self.keyed, self.keys, self.ords, self.n_first = False, [], [], 0
        self.stored, self.idx = None, []
        self.buf, self.n_buf = None, 0

    def add(self, p: _Part) -> None:
        if p.level is not None:
            if p.store is not None and not self.spec.repeat:  # at most one attempt per user of the store:
                if self.buf is None:  # into one buffer as they come: the kernel's own output, compacted in place
                    self.buf = p.buf if p.buf is not None else np.empty((p.store.n_users, self.plan.n_steps), np.int64)
                self.buf[self.n_buf: self.n_buf + p.ts.shape[0]] = p.ts
                self.n_buf += p.ts.shape[0]
            else:
                self.ts.append(p.ts)
            self.level.append(p.level)
            if p.keys is not None:
                self.keyed = True
                self.ords.append(self.n_first + p.ords)
                self.keys.append(p.keys)
            elif p.idx is not None:
                self.stored = p.store
                self.idx.append(p.idx)
            else:
                self.uid.append(p.uid)
            if p.user is not None:
                self.user.append(p.user + self.user_base)
            if p.attr is not None:
                self.attr.append(p.attr)
        self.n_first += p.n_first
        self.user_base += p.n_users

    def merged(self, engine):
        """(levels, step_ts, user ids - a list of arrays or a function reading them -, user index, breakdown)."""
        if not self.level:
            return (np.zeros(0, np.int64), np.zeros((0, self.plan.n_steps), np.int64), [], np.zeros(0, np.int64),
                    np.array([], object))
        levels = np.concatenate(self.level).astype(np.int64)
        step_ts = np.concatenate(self.ts) if self.buf is None else self.buf[: self.n_buf]
        uids = self.uid
        if self.keyed:
            ords, keys = np.concatenate(self.ords), np.concatenate(self.keys)
            fetch = engine.row_ids(self.plan.first_names, ts_lo=self.plan.entry_lo, ts_hi=self.plan.read_hi)
            uids = lambda: fetch(ords, keys)  # noqa: E731
            if getattr(engine.workspace, "path", None) is None:  # in memory: gone once closed
                uids = [uids()]
        elif self.stored is not None:
            stored, parts = self.stored, self.idx  # joined when the ids are asked for (most results never are)
            uids = lambda: stored.user_ids(np.concatenate(parts))  # noqa: E731
        user_idx = np.concatenate(self.user) if self.user else np.zeros(0, np.int64)
        if self.attr:
            import pyarrow.compute as pc  # (start-up time: a breakdown only)
        attr = (pc.fill_null(pa.chunked_array(self.attr, pa.string()), NONE).to_numpy().astype(object)
                if self.attr else np.array([], object))
        return levels, step_ts, uids, user_idx, attr


def _breakdown(vals: np.ndarray, levels, step_ts, steps, spec: FunnelSpec) -> list[dict]:
    if vals.size == 0:
        return []
    entered = Counter(vals.tolist())
    order = sorted(entered, key=lambda v: (-int(entered[v]), str(v)))
    keep = order[: spec.top]
    if len(order) > spec.top:
        kept = set(keep)
        vals = np.array([v if v in kept else OTHER for v in vals.tolist()], dtype=object)
        keep = keep + [OTHER]
    out = []
    for v in keep:
        m = vals == v
        rows = _step_table(levels[m], step_ts[m], steps)
        out.append({"value": v, "steps": [{k: r[k] for k in ("step", "name", "count", "conversion_from_start",
                                                              "conversion_from_previous", "median_seconds_from_start")}
                                          for r in rows],
                    "conversion": rows[-1]["conversion_from_start"]})
    return out


def _over_time(levels, step_ts, spec: FunnelSpec, tz: str) -> Columns:
    n = len(spec.steps)
    cols = ["period", "entered"] + [f"step_{k + 1}" for k in range(1, n)] + ["conversion"]
    if levels.size == 0:
        return Columns.from_rows([], cols)
    ords = np.asarray(local_period_ordinals(step_ts[:, 0].copy(), tz, spec.interval))
    rows = []
    for o in np.unique(ords).tolist():  # entry periods in order
        lv = levels[ords == o]
        row = {"period": ordinal_to_date(int(o), spec.interval), "entered": int(lv.size)}
        for k in range(1, n):
            row[f"step_{k + 1}"] = int((lv >= k + 1).sum())
        row["conversion"] = ratio(row[f"step_{n}"], row["entered"])
        rows.append(row)
    return Columns.from_rows(rows, cols)
