"""Retention (留存分析): of the users who started in a period, how many came back N periods later.

Definitions (口徑) are in docs/definitions.md#retention. In short:

* Cohort ``first_time`` (default): the period of the user's first-ever start event (over all
  data, not only the date range, so moving the range never moves a user to another cohort).
  ``recurring``: a user joins the cohort of every period in which they did the start event.
* Period 0 is the whole cohort; ``retained[i]`` (i >= 1) counts cohort members with a return
  event in period cohort + i (``on``) or in any period from cohort + i on (``on_or_after``).
  ``brackets`` replace single periods by ranges (day 1, days 2–7, days 8–30).
* Periods are calendar day / ISO week (Monday) / month in the workspace time zone.
* ``date_from``/``date_to`` select cohorts; returns count whenever they happen.
* A period that has not started by the end of the data is *unobserved*: its count is 0 and
  its rate ``None`` (``observed_periods`` says how many are real), so a cohort's numbers for
  past periods never change when newer data arrive.
* ``value``: the sum of a numeric property over return events (revenue per cohort); period 0
  counts events at or after the instant of the user's entry event. ``cumulative_value_per_user`` is the LTV curve.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import field_validator, model_validator

from ..engines.sequences import SequenceQuery
from ..sequences.calendar import UNITS, date_to_ordinal, local_date, ordinal_to_date, tz_offsets, utc_bound
from ..sequences.kernels.loader import retention_kernel
from .base import ANY, Result, ratio, refuse_all_none
from .table import Columns
from .filtering import FilteredSpec, filtered
from .user_groups import is_user_breakdown, run_by_groups
from ..errors import Text

OTHER = "(other)"
NONE = "(none)"
BIG = 1 << 40


def parse_brackets(text: str | list) -> list[tuple[int, int]]:
    """'1,2-7,8-30' -> [(1, 1), (2, 7), (8, 30)]."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
    elif isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        raise ValueError(Text("retention.brackets_must_text_like"))
    out = []
    for p in parts:
        if isinstance(p, (list, tuple)):
            if len(p) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in p):
                raise ValueError(Text("retention.cannot_read_bracket_pair", p=p))
            a, b = int(p[0]), int(p[1])
        else:
            m = re.fullmatch(r"(\d+)(?:\s*[-–]\s*(\d+))?", str(p))
            if not m:
                raise ValueError(Text("retention.cannot_read_bracket_use", p=p))
            a = int(m.group(1))
            b = int(m.group(2) or a)
        if a < 1 or b < a:
            raise ValueError(Text("retention.bracket_periods_start_at", a=a, b=b))
        out.append((a, b))
    return out


class RetentionSpec(FilteredSpec):
    """Cohort retention.

    >>> RetentionSpec(start_event="signup", return_event="app_open", period="week", periods=8).periods
    8
    """

    kind = "retention"
    start_event: str = ANY
    return_event: str = ANY
    period: Literal["day", "week", "month"] = "day"
    periods: int = 7
    cohort: Literal["first_time", "recurring"] = "first_time"
    mode: Literal["on", "on_or_after"] = "on"
    brackets: list[tuple[int, int]] | None = None
    by: str | None = None
    top: int = 10
    value: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @field_validator("cohort", mode="before")
    @classmethod
    def _cohort(cls, v):
        return v.replace("-", "_") if isinstance(v, str) else v

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v):
        return v.replace("-", "_") if isinstance(v, str) else v

    @field_validator("brackets", mode="before")
    @classmethod
    def _brackets(cls, v):
        return None if v is None or v == "" else parse_brackets(v)

    @model_validator(mode="after")
    def _check(self):
        if not 1 <= self.periods <= 400:
            raise ValueError(Text("retention.periods_must_between_1"))
        if self.top < 1:
            raise ValueError(Text("explain.top_must_at_least"))
        return self

    @property
    def columns(self) -> list[tuple[int, int]]:
        """(first, last) period offsets counted by each column; column 0 is the cohort period."""
        if self.brackets:
            cols = [(0, 0)] + list(self.brackets)
        else:
            cols = [(0, 0)] + [(i, i) for i in range(1, self.periods + 1)]
        if self.mode == "on_or_after":
            cols = [cols[0]] + [(a, BIG) for a, _ in cols[1:]]
        return cols

    @property
    def labels(self) -> list[str]:
        unit = self.period
        out = [f"{unit} 0"]
        for a, b in self.columns[1:]:
            if b >= BIG:
                out.append(f"{unit} {a}+")
            else:
                out.append(f"{unit} {a}" if a == b else f"{unit} {a}-{b}")
        return out


class RetentionResult(Result):
    kind = "retention"
    rows_key = "cohorts"

    def records(self):
        recs = super().records()
        for r in recs:
            if self.spec.by is None:
                r.pop("breakdown", None)
        return recs

    def to_csv(self) -> str:
        rows = []
        for r in self.records():
            flat = {"cohort": r["cohort"]}
            if self.spec.by:
                flat["breakdown"] = r.get("breakdown")
            flat["size"] = r["size"]
            for lab, v in zip(self.spec.labels, r["retained"]):
                flat[lab] = v
            for lab, v in zip(self.spec.labels, r["rates"]):
                flat[f"{lab} rate"] = v
            if self.spec.value:
                for lab, v in zip(self.spec.labels, r["value"]):
                    flat[f"{lab} {self.spec.value}"] = v
            rows.append(flat)
        return Columns.from_rows(rows, list(rows[0]) if rows else []).to_csv()

    def chart(self):
        import plotly.graph_objects as go

        f = self.frame
        ylab = [str(c) + (f" · {b}" if self.spec.by else "") for c, b in
                zip(f["cohort"], f["breakdown"] if "breakdown" in f else [None] * len(f))]
        z = [[(v if v is not None else None) for v in r] for r in f["rates"]]
        text = [[("" if v is None else f"{v:.0%}") for v in r] for r in f["rates"]]
        fig = go.Figure(go.Heatmap(z=z, x=self.spec.labels, y=ylab, text=text, texttemplate="%{text}",
                                   colorscale="Blues", zmin=0, zmax=1))
        fig.update_layout(title=self.meta.get("title", "Retention"), yaxis_autorange="reversed")
        return fig


def retention(engine, spec: RetentionSpec | None = None, **kwargs) -> RetentionResult:
    """Cohort retention table.

    >>> import yunying
    >>> ws = yunying.open("my-workspace")                                            # doctest: +SKIP
    >>> retention(ws.engine, start_event="signup", return_event="app_open", period="week", periods=8)  # doctest: +SKIP
    """
    spec = spec or RetentionSpec.build(**kwargs)
    if is_user_breakdown(spec.by):
        return _by_user_groups(engine, spec)
    return _retention(engine, spec)


def _by_user_groups(engine, spec: RetentionSpec) -> "RetentionResult":
    """``by user.PROP`` / ``segment:A,B``: each group of users' cohorts (user_groups.py); the average is all users'."""
    import pandas as pd

    overall, per_group = run_by_groups(engine, spec, _retention)
    frames = [group.frame.assign(breakdown=label) for label, group in per_group]
    frame = pd.concat([f for f in frames if len(f)] or [overall.frame.iloc[:0]], ignore_index=True)
    frame = frame.sort_values("cohort", kind="stable").reset_index(drop=True)
    return RetentionResult(spec, frame, overall.meta)


def _retention(engine, spec: RetentionSpec, extra=None) -> "RetentionResult":
    """Retention of the events the spec's filters (and the ``extra`` event filter) keep."""
    engine.require("sequences")  # before any work
    tz = engine.timezone
    unit = UNITS[spec.period]
    start_any, return_any = spec.start_event == ANY, spec.return_event == ANY
    names = [n for n in dict.fromkeys([spec.start_event, spec.return_event]) if n != ANY]
    engine.check_events(names)
    engine.check_properties([spec.by, spec.value])
    any_event = start_any or return_any
    lo_us, hi_us = engine.time_bounds(None)  # the data's first and last event (cheap: storage statistics)
    cols = spec.columns
    n_cols = len(cols)
    empty = lo_us is None
    if not empty:
        data_end = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=hi_us))
        points, offsets = tz_offsets(tz, lo_us, hi_us)
        first_day, last_day = local_date(lo_us, tz), local_date(hi_us, tz)
        coh_lo = date_to_ordinal(spec.date_from or first_day, spec.period)
        coh_hi = date_to_ordinal(spec.date_to or last_day, spec.period)
        ord_hi = date_to_ordinal(last_day, spec.period)
        empty = coh_hi < coh_lo
    if empty:
        frame = Columns.from_rows([], ["cohort", "breakdown", "size", "retained", "rates", "observed_periods"])
        return RetentionResult(spec, frame, {"title": _title(spec), "period": spec.period, "timezone": tz,
                                             "average": [None] * n_cols})

    # Returns before the first cohort period never count; first-time cohorts need every start event.
    read_lo = None
    if spec.date_from and not (spec.cohort == "first_time"):
        read_lo = utc_bound(ordinal_to_date(coh_lo, spec.period), tz)
    code_names = names
    props = (spec.by,) if spec.by else ()
    numeric = (spec.value,) if spec.value else ()
    dictionary: dict = {}
    counts = np.zeros((coh_hi - coh_lo + 1, 1, n_cols), np.int64)
    sums = np.zeros_like(counts, dtype=np.float64)
    kernel = _kernel(spec, code_names, (points, offsets, unit), (coh_lo, coh_hi, ord_hi))

    # each chunk numbers its own breakdown values; they are mapped onto ``dictionary`` here, as they come
    query = SequenceQuery(tuple(code_names), all_events=any_event, props=tuple(props), numeric=tuple(numeric),
                          ts_lo=read_lo)
    for _, (c, s, local) in engine.map_sequences(kernel, filtered(engine, spec, query, extra)):
        if local is not None:
            c, s = _to_dictionary(c, s, local, dictionary)
        if c.shape[1] > counts.shape[1]:
            pad = c.shape[1] - counts.shape[1]
            counts = np.concatenate([counts, np.zeros((counts.shape[0], pad, n_cols), np.int64)], axis=1)
            sums = np.concatenate([sums, np.zeros((sums.shape[0], pad, n_cols))], axis=1)
        counts[:, : c.shape[1]] += c
        sums[:, : s.shape[1]] += s

    values = list(dictionary) if spec.by else [None]
    if spec.by and len(values) > 0:
        counts, sums, values = _top_values(counts, sums, values, spec.top)
    rows = _cohort_rows(counts, sums, values, spec, coh_lo, ord_hi)
    if spec.by:
        refuse_all_none(spec.by, [r["breakdown"] for r in rows if r["size"]], f"{spec.start_event!r} event that "
                        f"starts a cohort")
    frame = Columns.from_rows(rows, ["cohort", "breakdown", "size", "retained", "rates", "observed_periods"]
                         + (["value", "value_per_user", "cumulative_value_per_user"] if spec.value else []))
    average = []
    for j in range(n_cols):
        num = sum(r["retained"][j] for r in rows if r["rates"][j] is not None)
        den = sum(r["size"] for r in rows if r["rates"][j] is not None)
        average.append(ratio(num, den))
    meta = {"title": _title(spec), "period": spec.period, "timezone": tz, "labels": spec.labels,
            "average": average, "data_end": data_end.isoformat()}
    return RetentionResult(spec, frame, meta)


def _to_dictionary(c, s, local: list, dictionary: dict):
    """A chunk's counts and sums over its own breakdown values ``local``, re-indexed by ``dictionary``
    (values numbered as met, new ones added)."""
    idx = np.array([dictionary.setdefault(v, len(dictionary)) for v in local], np.int64)
    n = len(dictionary)
    c2 = np.zeros((c.shape[0], n, c.shape[2]), c.dtype)
    s2 = np.zeros((s.shape[0], n, s.shape[2]), s.dtype)
    c2[:, idx] = c[:, : len(local)]
    s2[:, idx] = s[:, : len(local)]
    return c2, s2


def _kernel(spec: RetentionSpec, code_names, calendar, cohorts):
    """The retention kernel for one chunk: ``(counts, sums, breakdown values or None)``; each chunk numbers
    its breakdown values itself (in order of first appearance), so chunks run anywhere, in any order."""
    points, offsets, unit = calendar
    coh_lo, coh_hi, ord_hi = cohorts
    start_any, return_any = spec.start_event == ANY, spec.return_event == ANY
    start_mask = np.array([n == spec.start_event for n in code_names] or [False], np.bool_)
    return_mask = np.array([n == spec.return_event for n in code_names] or [False], np.bool_)
    col_lo = np.array([a for a, _ in spec.columns], np.int64)
    col_hi = np.array([min(b, BIG) for _, b in spec.columns], np.int64)

    def kernel(ch):
        if spec.by:
            enc = pc.dictionary_encode(pc.fill_null(ch.columns[spec.by].cast(pa.string()), NONE))
            local = enc.dictionary.to_pylist()
            bcode = (enc.indices.to_numpy(zero_copy_only=False).astype(np.int32) if len(enc.indices)
                     else np.zeros(0, np.int32))
            n_b = max(len(local), 1)
        else:
            local = None
            bcode = np.zeros(1, np.int32)
            n_b = 1
        if spec.value:
            value = pc.fill_null(ch.columns[spec.value].cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        else:
            value = np.zeros(1, np.float64)
        c, s = retention_kernel(ch.starts, ch.ts, ch.code, start_mask, return_mask, start_any, return_any,
                                points, offsets, unit, spec.cohort == "first_time", coh_lo, coh_hi, ord_hi,
                                col_lo, col_hi, bcode, n_b, value, spec.value is not None)
        return c, s, local
    return kernel


def _top_values(counts, sums, values, top):
    """Keep the ``top`` breakdown values by cohort size (ties by name); the rest summed as ``(other)``."""
    sizes = counts[:, :, 0].sum(axis=0)
    order = sorted(range(len(values)), key=lambda i: (-int(sizes[i]), str(values[i])))
    keep, rest = order[:top], order[top:]
    new_counts = [counts[:, i] for i in keep]
    new_sums = [sums[:, i] for i in keep]
    labels = [values[i] for i in keep]
    if rest:
        new_counts.append(counts[:, rest].sum(axis=1))
        new_sums.append(sums[:, rest].sum(axis=1))
        labels.append(OTHER)
    return np.stack(new_counts, axis=1), np.stack(new_sums, axis=1), labels


def _cohort_rows(counts, sums, values, spec, coh_lo, ord_hi) -> list[dict]:
    """One row per (cohort, breakdown value) with members: counts, rates and values per column."""
    cols = spec.columns
    rows = []
    for ci in range(counts.shape[0]):
        o = coh_lo + ci
        cohort = ordinal_to_date(o, spec.period)
        observed_upto = ord_hi - o  # last period offset that has started by the end of the data
        for bi, bval in enumerate(values):
            size = int(counts[ci, bi, 0])
            if size == 0:
                continue
            retained = [int(x) for x in counts[ci, bi]]
            seen = [a <= observed_upto for a, _ in cols]
            rates = [ratio(x, size) if ok else None for x, ok in zip(retained, seen)]
            row = {"cohort": cohort, "breakdown": bval, "size": size, "retained": retained, "rates": rates,
                   "observed_periods": int(sum(seen))}
            if spec.value:
                v = [float(x) if ok else None for x, ok in zip(sums[ci, bi], seen)]
                row["value"] = v
                row["value_per_user"] = [None if x is None else x / size for x in v]
                cum, acc = [], 0.0
                for x in v:
                    if x is None:
                        cum.append(None)
                        continue
                    acc += x
                    cum.append(acc / size)
                row["cumulative_value_per_user"] = cum
            rows.append(row)
    return rows


def _title(spec: RetentionSpec) -> str:
    s = "any event" if spec.start_event == ANY else spec.start_event
    r = "any event" if spec.return_event == ANY else spec.return_event
    kind = "first-time" if spec.cohort == "first_time" else "recurring"
    return f"{spec.period}ly retention: {kind} {s} → {r}".replace("dayly", "daily")
