"""Paths (路徑分析): the most common events after (or before) an event, as Sankey edges.

Definitions (口徑), docs/definitions.md#paths. Each user contributes one path, from their
first occurrence of ``event`` inside the date range (``direction="after"``) or their last one
(``"before"``); ``all_occurrences`` starts a path at every occurrence instead. A path is the
next ``depth`` events of the user (any event; ``collapse_repeats`` skips an event equal to the
previous one, so ``view, view, view`` is one step), ending early at a pause longer than
``max_gap`` (a session break) or at the user's last event. Events at the same timestamp are
taken in alphabetical order.

Each edge (step k, source → target) counts paths; ``share`` = count / paths. At every step,
events reached by fewer than ``min_share`` of paths are grouped as ``(other)``.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import Field

from ..model.durations import parse_duration
from .table import Columns
from .base import OptionalDuration, Result, ratio
from .filtering import FilteredSpec, filtered
from ..engines.sequences import SequenceQuery
from ..sequences.calendar import utc_bound
from ..sequences.kernels.consts import I64_MAX, I64_MIN
from ..sequences.kernels.loader import paths_kernel

OTHER = "(other)"
END = "(end)"


class PathsSpec(FilteredSpec):
    """>>> PathsSpec(event="signup", depth=3).direction
    'after'
    """

    kind = "paths"
    event: str
    direction: Literal["after", "before"] = "after"
    depth: int = Field(3, ge=1, le=20)
    min_share: float = Field(0.01, ge=0, le=1)
    collapse_repeats: bool = True
    max_gap: OptionalDuration = None
    all_occurrences: bool = False
    include_end: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class PathsResult(Result):
    kind = "paths"
    rows_key = "edges"

    def next_events(self):
        """The events right after (or before) the anchor, most common first."""
        f = self.frame[self.frame["step"] == 1]
        col = "target" if self.spec.direction == "after" else "source"
        return f[[col, "count", "share"]].rename(columns={col: "event"}).reset_index(drop=True)

    def chart(self):
        import plotly.graph_objects as go

        f = self.frame
        after = self.spec.direction == "after"

        def node(step, name):
            return f"{step}. {name}" if after else f"-{step}. {name}"

        labels, index = [], {}

        def idx(label):
            if label not in index:
                index[label] = len(labels)
                labels.append(label)
            return index[label]

        src, dst, val = [], [], []
        for r in f.itertuples():
            if after:
                a = node(r.step - 1, r.source) if r.step > 1 else f"0. {r.source}"
                b = node(r.step, r.target)
            else:
                a = node(r.step, r.source)
                b = node(r.step - 1, r.target) if r.step > 1 else f"0. {r.target}"
            src.append(idx(a))
            dst.append(idx(b))
            val.append(int(r.count))
        fig = go.Figure(go.Sankey(node={"label": labels}, link={"source": src, "target": dst, "value": val}))
        fig.update_layout(title=self.meta.get("title", "Paths"))
        return fig


def paths(engine, spec: PathsSpec | None = None, **kwargs) -> PathsResult:
    """Sankey edges of the paths after/before an event.

    >>> paths(ws.engine, event="signup", depth=3).next_events()                   # doctest: +SKIP
    """
    spec = spec or PathsSpec.build(**kwargs)
    engine.require("sequences")  # before any work
    tz = engine.timezone
    names = list(engine.known_events(refresh=True))  # sorted, no null
    cols = ["step", "source", "target", "count", "share"]
    title = f"paths {spec.direction} {spec.event}"
    if spec.event not in names:
        return PathsResult(spec, Columns.from_rows([], cols), {"title": title, "paths": 0})
    anchor = names.index(spec.event)
    lo = utc_bound(spec.date_from, tz) if spec.date_from else None
    hi = utc_bound(spec.date_to + dt.timedelta(days=1), tz) if spec.date_to else None
    gap = (parse_duration(spec.max_gap) if spec.max_gap else 0) * 1_000_000
    seqs = []
    def kernel(ch):
        return paths_kernel(ch.starts, ch.ts, ch.code.astype(np.int32), np.int32(anchor),
                            spec.direction == "before", spec.depth, np.int64(gap), spec.collapse_repeats,
                            np.int64(lo if lo is not None else I64_MIN), np.int64(hi if hi is not None else I64_MAX),
                            spec.all_occurrences)

    for _, (_, s) in engine.map_sequences(kernel, filtered(engine, spec, SequenceQuery(tuple(names), all_events=True))):
        seqs.append(s)
    seq = np.concatenate(seqs) if seqs else np.zeros((0, spec.depth), np.int32)
    total = seq.shape[0]
    labels = np.array(names + [END, OTHER], dtype=object)
    end_code, other_code = len(names), len(names) + 1
    grouped = np.where(seq < 0, end_code, seq)
    # group rare events at each step
    for k in range(spec.depth):
        col = grouped[:, k]
        vals, cnt = np.unique(col, return_counts=True)
        rare = vals[(cnt < spec.min_share * total) & (vals != end_code)]
        if rare.size:
            grouped[np.isin(col, rare), k] = other_code
    rows = []
    prev = np.full(total, anchor, np.int64)
    alive = np.ones(total, bool)
    for k in range(spec.depth):
        cur = grouped[:, k]
        m = alive.copy()
        if not spec.include_end:
            m &= cur != end_code
        if m.any():
            pairs, counts = np.unique(np.stack([prev[m], cur[m].astype(np.int64)], axis=1), axis=0, return_counts=True)
            for (a, b), c in zip(pairs.tolist(), counts.tolist()):
                src, dst = (labels[a], labels[b]) if spec.direction == "after" else (labels[b], labels[a])
                rows.append({"step": k + 1, "source": src, "target": dst, "count": int(c), "share": ratio(int(c), total)})
        alive &= cur != end_code
        prev = cur.astype(np.int64)
    rows.sort(key=lambda r: (r["step"], -r["count"], r["source"], r["target"]))
    frame = Columns.from_rows(rows, cols)
    meta = {"title": title, "paths": int(total), "direction": spec.direction, "depth": spec.depth}
    return PathsResult(spec, frame, meta)
