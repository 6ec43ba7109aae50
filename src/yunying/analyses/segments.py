"""Segment evaluation (用戶分群, docs/users.md#segments): a rule (``model/segments.py``) compiled to Ibis
expressions over the events and the users table, as of a day in the workspace time zone.

* The candidates are the users of the ``users`` table first seen on or before the as-of day (or known only
  from a profile); events after the as-of day never count.
* ``did E [where (F)] [count] [window]``: the user has events named E for which F holds, on local days in the
  window (``in the last N days``: the N days ending on the as-of day; ``between A and B``: A..B, inclusive;
  none: ever); their number satisfies the count (default: at least 1; ``at most N``: 1..N).
* ``did not do E …``: a candidate without such an event. ``first did E …``: the user's first such event (ever,
  up to the as-of day) falls in the window. ``in segment S``: a member of S as of the same day (a static
  segment: its stored ids). ``user.PROP …``: the filter language on the current profile.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import ibis

from ..errors import SpecError
from ..model import filters as F
from ..model import segments as R
from . import filtering
from .properties import prop


class Evaluator:
    def __init__(self, engine, as_of: dt.date, lookup):
        """``lookup(name)`` -> the stored segment dict (name, kind, rule) or None."""
        self.engine = engine
        self.as_of = as_of
        self.lookup = lookup
        self.stack: list[str] = []
        users = filtering._side_table(engine, "users", "a segment")
        local_first = engine.local_ts(users.first_seen).date()
        self.universe = users.filter(users.first_seen.isnull() | (local_first <= as_of)).select("user_id")
        e = engine.events()
        self.events = e.filter(engine.local_ts(e.ts).date() <= as_of)

    def members(self, node) -> ibis.Table:
        u = self.universe
        return u.filter(self.pred(u, node)).select("user_id").distinct()

    def pred(self, u: ibis.Table, node) -> ibis.Value:
        if isinstance(node, F.Not):
            return ~self.pred(u, node.item)
        if isinstance(node, (F.And, F.Or)):
            parts = [self.pred(u, x) for x in node.items]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node, F.And) else (out | p)
            return out
        if isinstance(node, R.InSegment):
            return u.user_id.isin(self.segment(node.name).user_id)
        if isinstance(node, R.Behaviour):
            return self.behaviour(u, node)
        return filtering.predicate(self.engine, node, today=self.as_of)(u)

    def matching(self, b: R.Behaviour) -> ibis.Table:
        e = self.events
        e = e.filter(e.event == ibis.literal(b.event, "string"))
        if b.where is not None:
            e = filtering.apply(self.engine, e, b.where, today=self.as_of)
        return e.mutate(day=self.engine.local_ts(e.ts).date())

    def behaviour(self, u: ibis.Table, b: R.Behaviour) -> ibis.Value:
        lo, hi = R.window_days(b.window, self.as_of)
        e = self.matching(b)
        if b.kind == "first did":
            first = e.group_by("user_id").aggregate(first=e.day.min())
            cond = first["first"] <= ibis.literal(hi, "date")
            if lo is not None:
                cond = cond & (first["first"] >= ibis.literal(lo, "date"))
            return u.user_id.isin(first.filter(cond).user_id)
        if lo is not None:
            e = e.filter(e.day >= ibis.literal(lo, "date"))
        e = e.filter(e.day <= ibis.literal(hi, "date"))
        counts = e.group_by("user_id").aggregate(n=e.count())
        if b.kind == "did not":
            return ~u.user_id.isin(counts.user_id)
        op, n = b.count or (">=", 1)
        keep = {">=": counts.n >= n, "<=": counts.n <= n, "=": counts.n == n}[op]
        return u.user_id.isin(counts.filter(keep).user_id)

    def segment(self, name: str) -> ibis.Table:
        seg = self.lookup(name)
        if seg is None:
            raise SpecError(key="segments.segment_does_exist", name=name)
        if seg["kind"] == "static":
            s = filtering._side_table(self.engine, "segment_static", "in segment")
            return s.filter(s.segment == ibis.literal(name, "string")).select("user_id")
        if name in self.stack:
            raise SpecError(key="segments.segment_refers_itself", name=name, value=' -> '.join([*self.stack, name]))
        self.stack.append(name)
        try:
            return self.members(R.parse(seg["rule"]))
        finally:
            self.stack.pop()


def today_in(engine) -> dt.date:
    return filtering.today_in(engine)


def check_rule(engine, text: str, lookup, name: str | None = None):
    """Parse a rule and check what it refers to: events' and users' properties exist, segments exist, no cycle."""
    node = R.parse(text)
    for other in R.segments_used(node):
        if other == name:
            raise SpecError(key="segments.segment_cannot_refer_itself", name=name)
    ev = Evaluator(engine, today_in(engine), lookup)
    if name:
        ev.stack.append(name)
    engine.execute(ev.members(node).count().name("n").as_table())  # compiles and checks every reference
    return node


def evaluate(engine, text: str, lookup, as_of: dt.date | None = None) -> list[str]:
    """The sorted user ids of a rule as of ``as_of`` (default: today in the workspace time zone)."""
    ev = Evaluator(engine, as_of or today_in(engine), lookup)
    t = engine.execute(ev.members(R.parse(text)))
    return sorted(x for x in t["user_id"].to_pylist() if x is not None)


def members_of(ws, name: str, as_of: dt.date | None = None) -> list[str]:
    seg = ws.segment(name)
    if seg is None:
        raise SpecError(key="segments.segment_does_exist_yunying", name=name)
    if seg["kind"] == "static":
        return ws.segment_static_ids(name)
    return evaluate(ws.engine, seg["rule"], ws.segment, as_of)


def sizes_over(ws, name: str, period: str, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Members at the end of each week / month / day from ``date_from`` to ``date_to`` (the last one: date_to)."""
    if period not in ("day", "week", "month"):
        raise SpecError(key="segments.over_expected_day_week", period=period)
    if date_to < date_from:
        raise SpecError(key="segments.before_from")
    ends, d = [], date_from
    while d <= date_to:
        if period == "day":
            end = d
        elif period == "week":
            end = d + dt.timedelta(days=6 - d.weekday())
        else:
            nxt = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            end = nxt - dt.timedelta(days=1)
        end = min(end, date_to)
        ends.append(end)
        d = end + dt.timedelta(days=1)
    if len(ends) > 400:
        raise SpecError(key="segments.over_periods_at_most", period=period, n_ends=len(ends))
    return [{"as_of": e.isoformat(), "users": len(members_of(ws, name, e))} for e in ends]


# -- what the CLI and the query API share (cli/segments.py, server/segments_api.py) -----------------------
def rule_text(rule) -> str:
    """A rule given as text or as its JSON tree (``model.segments.to_json``), as the rule text stored."""
    if isinstance(rule, str):
        R.parse(rule)
        return rule
    return R.to_text(R.from_json(rule))


def describe(ws, name: str, as_of: dt.date | None = None) -> dict:
    """A stored segment with its rule tree (dynamic ones) and its size as of a day (default: today)."""
    seg = ws.segment(name)
    if seg is None:
        raise SpecError(key="segments.segment_does_exist_yunying", name=name)
    seg["tree"] = R.to_json(R.parse(seg["rule"])) if seg.get("rule") else None
    day = as_of or today_in(ws.engine)
    seg["users"] = len(members_of(ws, name, day))
    seg["as_of"] = day.isoformat()
    return seg


def create_dynamic(ws, name: str, rule, description: str | None = None, replace: bool = False) -> dict:
    """Check and store a dynamic segment with its members as of today (what ``segment`` filters read)."""
    text = rule_text(rule)
    check_rule(ws.engine, text, ws.segment, name)
    members = evaluate(ws.engine, text, ws.segment)
    ws.save_segment(name, kind="dynamic", rule=text, description=description, members=members, replace=replace)
    return {"name": name, "kind": "dynamic", "rule": text, "users": len(members)}


def size_of_rule(engine, rule, lookup, as_of: dt.date | None = None) -> int:
    """How many users an unsaved rule (text or JSON tree) selects as of a day: the builder's live size."""
    text = rule_text(rule)
    check_rule(engine, text, lookup)
    return len(evaluate(engine, text, lookup, as_of))


def used_by(ws, name: str) -> list[str]:
    """The segments whose rules refer to ``name``."""
    return [s["name"] for s in ws.segments() if s["rule"] and name in R.segments_used(R.parse(s["rule"]))]


def delete(ws, name: str) -> None:
    users = used_by(ws, name)
    if users:
        raise SpecError(key="segments.segment_used_by_delete", name=name, users=', '.join(users))
    if not ws.delete_segment(name):
        raise SpecError(key="segments.segment_does_exist", name=name)


def sizes_between(ws, name: str, period: str, date_from: dt.date | None, date_to: dt.date) -> list[dict]:
    """``size --over PERIOD``: ``date_from`` defaults to 12 periods before ``date_to``."""
    step = {"day": 1, "week": 7, "month": 31}.get(period, 7)
    return sizes_over(ws, name, period, date_from or date_to - dt.timedelta(days=step * 12 - 1), date_to)


def export_rows(ws, ids: list[str], props: list[str]) -> list[dict]:
    """One row per user id (in order) with the listed profile properties as text (None: not set)."""
    eng = ws.engine
    users = eng.backend.table("users")
    if props:
        filtering.check_properties(eng, users, props, "user")
    t = users.select("user_id", *[prop(eng, users, p).cast("string").name(f"p{i}")
                                  for i, p in enumerate(props)])
    known = {r["user_id"]: r for r in eng.execute(t).to_pylist()}
    return [{"user_id": uid, **{p: known.get(uid, {}).get(f"p{i}") for i, p in enumerate(props)}} for uid in ids]


def export_bytes(rows: list[dict], props: list[str], fmt: str, id_header: str = "user_id",
                 title: str = "members") -> bytes:
    """The user list as CSV (UTF-8) or an Excel workbook (one sheet named ``title``, e.g. the segment's name);
    every cell text (a value such as "=1+1" stays text). ``id_header`` heads the id column (the callers pass the
    catalogue's "User ID" / "用户 ID", which the id-list import recognises again); the properties keep their names."""
    keys = ["user_id", *props]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        sheet = wb.active
        sheet.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip() or "members"
        sheet.append([id_header, *props])
        for r in rows:
            sheet.append([r[h] for h in keys])
            for cell in sheet[sheet.max_row]:
                cell.data_type = "s"
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    if fmt != "csv":
        raise SpecError(key="segments.export_format_must_csv", fmt=fmt)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([id_header, *props])
    w.writerows([r[h] for h in keys] for r in rows)
    return buf.getvalue().encode("utf-8")
