"""Per-step filters of a funnel: ``purchase[event.revenue > 100]`` (docs/users.md#filters-on-analyses).

A step with a filter matches only the events of its name for which the filter holds (as PostHog's and 神策's
per-step filters). The spec keeps the event names in ``steps`` and the filters, as JSON trees, in
``step_filters`` (one list per step, empty for a step without one).

The engines evaluate each step filter on every row of the query as a flag column (``SequenceQuery.flags``);
:class:`StepCodes` turns the event codes plus those flags into codes of their own before the kernel runs: an
event of name E gets a code whose step mask holds E's unfiltered steps plus the filtered steps whose filter
holds on that row. So the kernels stay as they are: an event "is" the steps it qualifies for.
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..model import filters as F

MAX_FILTERED = 6  # filtered steps of one event name (2**6 - 1 codes each)


def split_steps(text: str) -> list[str]:
    """``'a,b[event.x in (1, 2)],c'`` -> the steps: commas inside ``[...]`` or quotes do not split."""
    out, cur, depth, quote, esc = [], [], 0, None, False
    for ch in text:
        if quote:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                quote = None
            continue
        if ch in "'\"" and depth:
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        elif ch == "," and not depth:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def parse_step(item) -> tuple[str, list[dict]]:
    """A step as given (``'name'``, ``'name[filter]'`` or ``{"event": …, "filters": […]}``) -> (name, filters)."""
    if isinstance(item, dict):
        extra = set(item) - {"event", "filters"}
        if extra or "event" not in item:
            raise SpecError(key="funnel_steps.step_expected", item=item)
        filters = item.get("filters") or []
        filters = [filters] if isinstance(filters, (str, dict)) else list(filters)
        return str(item["event"]).strip(), [F.to_json(F.coerce(f)) for f in filters]
    text = str(item).strip()
    if text.endswith("]") and "[" in text:
        name, expr = text[: text.index("[")].strip(), text[text.index("[") + 1: -1]
        try:
            return name, [F.to_json(F.parse(expr))]
        except SpecError as exc:
            raise SpecError(key="funnel_steps.step", name=name, exc=exc) from None
    return text, []


def step_label(name: str, filters: list[dict]) -> str:
    tree = F.parse_all(filters) if filters else None
    return name if tree is None else f"{name}[{F.to_text(tree)}]"


class StepCodes:
    """Codes for the kernel from event codes and per-step flags (see the module's doc). Built from the funnel's
    names (``names``: steps and exclusions, code = position) and its step masks; picklable."""

    def __init__(self, steps: list[str], filtered: list[bool], names: list[str], step_mask, excl_mask,
                 step_count, step_of):
        self.groups = []  # (base code, [(flag column, step)])
        flag = 0
        by_code: dict[int, list] = {}
        for k, (s, f) in enumerate(zip(steps, filtered)):
            if f:
                by_code.setdefault(names.index(s), []).append((f"#flag{flag}", k))
                flag += 1
        self.n_flags = flag
        masks, excl, count, of = list(step_mask), list(excl_mask), list(step_count), list(step_of)
        self.base = {}
        for code, items in by_code.items():
            if len(items) > MAX_FILTERED:
                raise SpecError(key="funnel_steps.at_most_filtered_steps", MAX_FILTERED=MAX_FILTERED, value=names[code])
            for _, k in items:
                masks[code] &= ~(1 << k)  # the event alone (no filter holding) is not that step
            of[code] = -1 if not masks[code] else of[code]
            self.base[code] = len(masks)
            for sub in range(1, 1 << len(items)):
                steps_of = [k for j, (_, k) in enumerate(items) if sub >> j & 1]
                masks.append(masks[code] | sum(1 << k for k in steps_of))
                excl.append(excl_mask[code])
                count.append(step_count[code])
                of.append(steps_of[0] if len(steps_of) == 1 and not masks[code] else -1)
            self.groups.append((code, items))
        self.step_mask, self.excl_mask = np.array(masks, np.int64), np.array(excl, np.int64)
        self.step_count, self.step_of = np.array(count, np.int64), np.array(of, np.int64)

    def codes(self, ch) -> np.ndarray:
        """The chunk's codes with each flagged event moved to the code of the steps it qualifies for."""
        code = np.asarray(ch.code).astype(np.int32)
        for base, items in self.groups:
            rows = np.flatnonzero(code == base)
            if not rows.size:
                continue
            sub = np.zeros(rows.size, np.int32)
            for j, (col, _) in enumerate(items):
                sub |= (np.asarray(ch.columns[col].to_numpy(zero_copy_only=False))[rows] > 0).astype(np.int32) << j
            code[rows] = np.where(sub > 0, self.base[base] + sub - 1, base)
        return code
