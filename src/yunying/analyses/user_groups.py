"""Breakdowns of the sequence analyses (funnel, retention) by who the users are: ``--by user.PROP`` (the user's
current profile value, derived ``user.$…`` included) and ``--by segment:A,B,C`` (each listed segment side by side).

A user's value does not change from one event to the next, so each group is a set of users: the analysis runs
once per group with the group as a per-user filter (on the sequence store: a user mask), and once without, for
the overall figures. ``user.PROP``: the ``top`` values by number of users who have them, the other values as
``(other)``, users without one as ``(none)``. ``segment:A,B``: a user in two listed segments counts in both;
users in none of them are in no group (docs/users.md#filters-on-analyses).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TypeVar

if TYPE_CHECKING:  # pragma: no cover - Ibis loads on first use (start-up time)
    import ibis


from ..engines.sequences import EventFilter
from . import filtering

OTHER, NONE = "(other)", "(none)"
R = TypeVar("R")


def is_user_breakdown(by: str | None) -> bool:
    return bool(by) and (by.startswith("user.") or by.startswith("segment:"))


def _members(ids: ibis.Table) -> EventFilter:
    return EventFilter(lambda t: t.user_id.isin(ids), per_user=True)


def _not_members(ids: ibis.Table) -> EventFilter:
    return EventFilter(lambda t: ~t.user_id.isin(ids), per_user=True)


def groups(engine, by: str, top: int) -> list[tuple[str, EventFilter]]:
    """(label, per-user filter) of every group of the breakdown, in the order shown."""
    import ibis  # loaded on first use (start-up time)

    if by.startswith("segment:"):
        names, m = filtering.listed_segments(engine, by)
        return [(n, _members(m.filter(m.segment == ibis.literal(n, "string")).user_id)) for n in names]
    u, col = filtering.user_property(engine, by[len("user."):])
    u = u.select(user_id=u.user_id, v=col.cast("string")).filter(lambda x: x.v.notnull())
    counts = engine.execute(u.group_by("v").aggregate(n=u.count())).to_pylist()
    order = [r["v"] for r in sorted(counts, key=lambda r: (-r["n"], r["v"]))]
    keep, rest = order[:top], order[top:]
    out = [(v, _members(u.filter(u.v == ibis.literal(v, "string")).user_id)) for v in keep]
    if rest:
        out.append((OTHER, _members(u.filter(~u.v.isin(keep)).user_id)))
    out.append((NONE, _not_members(u.user_id)))
    return out


def run_by_groups(engine, spec, analyse: Callable[..., R]) -> tuple[R, list[tuple[str, R]]]:
    """Run a sequence analysis for all users and for each group of ``spec.by`` (``user.PROP`` / ``segment:A,B``).

    ``analyse(engine, spec, extra=None)`` computes the analysis of the events its spec's filters and the
    per-user filter ``extra`` keep; it gets the spec without ``by``. Returns (all users' result,
    [(group label, the group's result)]) in the order of :func:`groups`.
    """
    engine.require("sequences")  # before any work
    base = spec.model_copy(update={"by": None})
    overall = analyse(engine, base)
    return overall, [(label, analyse(engine, base, where)) for label, where in groups(engine, spec.by, spec.top)]
