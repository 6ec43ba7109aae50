"""Compile a filter tree (:mod:`yunying.model.filters`) into an Ibis predicate over the events table.

Every value of the expression becomes an Ibis literal (quoted by the SQL compiler), and every property
name is looked up as data (a column name it matches, else a key of the ``properties`` JSON), so nothing
the user typed is ever pasted into SQL. Semantics (docs/users.md#filter-language):

* A property is the typed column of that name if the events table has one, else the text stored under
  that key of ``properties`` (JSON numbers and booleans as their text, e.g. ``'12.5'``, ``'true'``).
* ``=``/``<``/… with a number compare numerically: text that reads as a decimal number (``' 12.5 '``,
  ``'1e3'``) is that number, other text matches nothing. With a string they compare text (code-point
  order). With a date (or ``-30d``) they compare the calendar date: the local date in the workspace
  time zone for a timestamp such as ``ts``, the leading ``YYYY-MM-DD`` of a text value.
* A condition on a property an event does not have is false, and ``!=``/``not in`` are exactly ``not``
  of ``=``/``in``: ``event.city != '上海'`` holds for events without a city.
* ``contains`` is a case-sensitive substring test (``%`` and ``_`` are plain characters); ``matches`` is a
  regular-expression search anywhere in the text.
* ``user.$first_channel`` and the other derived properties (:mod:`yunying.analyses.profiles`) are computed
  from the events on every engine; any other ``user.PROP`` reads the workspace's ``users`` table (one row
  per user id), ``segment`` its ``segment_members`` table (segment, user_id). A workspace without them
  says so.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - Ibis loads on first use (start-up time)
    import ibis

import dataclasses
import datetime as dt
import difflib
from zoneinfo import ZoneInfo


from pydantic import field_validator

from ..errors import Either, SpecError, Text, did_you_mean
from ..model import filters as F
from .base import Spec
from .profiles import DERIVED, derived_users
from .properties import json_text, prop

_NUMBER_TEXT = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


# -- checks ----------------------------------------------------------------------------------------------
def check_properties(engine, t: ibis.Table, names, what: str = "event") -> None:
    """An unknown property (not a column, in no row's ``properties``) is an error with a "did you mean"."""
    names = [n for n in dict.fromkeys(names) if n not in t.columns or n == "properties"]
    missing = []
    for name in names:
        if "properties" in t.columns:
            expr = json_text(engine, t, name)
            if engine.execute(t.filter(expr.notnull()).select(x=expr).limit(1)).num_rows:
                continue
        missing.append(name)
    if not missing or not engine.execute(t.select(t.columns[0]).limit(1)).num_rows:
        return  # all found, or no rows at all to check against (the result is empty anyway)
    keys = engine.property_keys(t)
    for name in missing:
        if name in keys:  # present, null wherever it was seen
            continue
        close = difflib.get_close_matches(name, sorted(keys), n=3, cutoff=0.7)
        hint = (Text("hint.did_you_mean", names=Either(F.field_text(F.Field(what, c)) for c in close)) if close
                else did_you_mean([], sorted(keys)[:25]))
        raise SpecError(key="filtering.filter_column_no_has", value=F.field_text(F.Field(what, name)), what=Text(f"words.{what}"), hint=hint,
                        details={"property": name, "suggestions": close})


def _has_table(engine, name: str) -> bool:
    return engine.has_table(name)


def _side_table(engine, name: str, why: str) -> ibis.Table:
    if not _has_table(engine, name):
        raise SpecError(key="filtering.filter_needs_workspace_s", why=why, name=name, engine=Text("filtering.not_yet") if engine.name == 'duckdb' else Text("filtering.not_on_engine", engine=engine.name))
    return engine.table(name)


def user_property(engine, name: str, why: str = "by user.PROP") -> tuple[ibis.Table, ibis.Value]:
    """``user.NAME`` as a column of a per-user table: (the table with ``user_id``, the column); a derived
    ``$…`` property from the events, else the profile's property (an unknown one is an error)."""
    if name in DERIVED:
        u = derived_users(engine)
        return u, u[DERIVED[name]]
    u = _side_table(engine, "users", why)
    check_properties(engine, u, [name], "user")
    return u, prop(engine, u, name)


def listed_segments(engine, by: str) -> tuple[list[str], ibis.Table]:
    """``by segment:A,B``: the listed names, each checked to have stored members, and the members table."""
    names = [n.strip() for n in by[len("segment:"):].split(",") if n.strip()]
    if not names:
        raise SpecError(key="filtering.by_segment_b_needs")
    m = _side_table(engine, "segment_members", "by segment")
    known = set(engine.execute(m.filter(m.segment.isin(names)).select("segment").distinct())["segment"].to_pylist())
    missing = [n for n in names if n not in known]
    if missing:
        raise SpecError(key="filtering.by_segment_no_members", missing=', '.join(map(repr, missing)))
    return names, m


def segment_names(tree) -> list[str]:
    """The segment names a filter tree mentions (``segment = 'A'``, ``segment in ('A', 'B')``)."""
    out = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, F.Condition):
            if node.field.scope == "segment":
                vals = node.value if isinstance(node.value, tuple) else (node.value,)
                out += [v.value for v in vals if v is not None and isinstance(v.value, str)]
        elif isinstance(node, F.Not):
            todo.append(node.item)
        else:
            todo.extend(node.items)
    return list(dict.fromkeys(out))


def check_segments(engine, names) -> None:
    """A segment that is neither defined (``segments``) nor has stored members is an error with a "did you
    mean", not a filter that silently keeps nobody."""
    if not names or not _has_table(engine, "segments"):
        return
    known = {r["name"] for r in engine.sql("SELECT name FROM segments").to_pylist()}
    members = {r["segment"] for r in engine.sql("SELECT DISTINCT segment FROM segment_members").to_pylist()}
    for name in names:
        if name not in known and name not in members:
            close = difflib.get_close_matches(name, sorted(known | members), n=3, cutoff=0.6)
            hint = did_you_mean(close, []) if close else Text("hint.segments_list")
            raise SpecError(key="filtering.filter_no_segment_named", name=name, hint=hint, details={"segment": name,
                                                                                   "suggestions": close})


# -- compilation -----------------------------------------------------------------------------------------
class _Compiler:
    def __init__(self, engine, today: dt.date):
        self.engine = engine
        self.today = today
        self._users = None
        self._derived = None

    def date_of(self, t: ibis.Table, col: ibis.Value, name: str) -> ibis.Value:
        import ibis  # loaded on first use (start-up time)
        import ibis.expr.datatypes as dtypes

        if isinstance(col.type(), dtypes.Timestamp):  # stored as UTC, like every timestamp of a workspace
            return self.engine.local_ts(col).date()
        if isinstance(col.type(), dtypes.Date):
            return col
        if not isinstance(col.type(), dtypes.String):
            raise SpecError(key="filtering.filter_it_cannot_compared", name=name, col=col.type())
        text = col.cast("string")
        return ibis.ifelse(text.re_search(_DATE_TEXT), text.substr(0, 10).try_cast("date"), ibis.null("date"))

    def number_of(self, col: ibis.Value, name: str) -> ibis.Value:
        import ibis  # loaded on first use (start-up time)

        ty = col.type()
        if ty.is_numeric():
            return col.cast("float64")
        if not ty.is_string():
            raise SpecError(key="filtering.filter_it_cannot_compared_2", name=name, ty=ty)
        return ibis.ifelse(col.re_search(_NUMBER_TEXT), col.try_cast("float64"), ibis.null("float64"))

    def text_of(self, col: ibis.Value, name: str, v: F.Value) -> ibis.Value:
        if not col.type().is_string():
            raise SpecError(key="filtering.filter_compare_it_with", name=name, col=col.type(), col2=Text('words.date' if col.type().is_temporal() else 'words.number'), value=F.value_text(v))
        return col

    def operand(self, t, col, name: str, v: F.Value):
        """(left, right) of a comparison, both typed by the literal's kind."""
        import ibis  # loaded on first use (start-up time)

        if v.kind == "number":
            return self.number_of(col, name), ibis.literal(float(v.value), "float64")
        if v.kind in ("date", "relative_date"):
            day = (dt.date.fromisoformat(v.value) if v.kind == "date"
                   else self.today + dt.timedelta(days=v.value))
            return self.date_of(t, col, name), ibis.literal(day, "date")
        if v.kind == "bool":
            return self.text_of(col, name, v), ibis.literal("true" if v.value else "false", "string")
        return self.text_of(col, name, v), ibis.literal(v.value, "string")

    def compare(self, t, col, name: str, op: str, v: F.Value) -> ibis.Value:
        left, right = self.operand(t, col, name, v)
        return {"=": left == right, "!=": left == right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op]

    def positive(self, t: ibis.Table, cond: F.Condition, col, name: str) -> ibis.Value:
        """The condition without its negation (``!=`` -> ``=``, ``not in`` -> ``in``, ``is not set`` -> ``is set``)."""
        import ibis  # loaded on first use (start-up time)

        op = cond.op
        if op in ("is set", "is not set"):
            return col.notnull()
        if op in ("in", "not in"):
            parts = [self.compare(t, col, name, "=", v) for v in cond.value]
            out = parts[0]
            for p in parts[1:]:
                out = out | p
            return out
        if op in ("contains", "matches"):
            text = self.text_of(col, name, cond.value)
            lit = ibis.literal(cond.value.value, "string")
            return text.contains(lit) if op == "contains" else text.re_search(lit)
        return self.compare(t, col, name, op, cond.value)

    def condition(self, t: ibis.Table, cond: F.Condition) -> ibis.Value:
        f = cond.field
        negated = cond.op in ("!=", "not in", "is not set")
        if f.scope == "event":
            pred = self.positive(t, cond, prop(self.engine, t, f.name), f"event.{f.name}")
        elif f.scope == "user":
            if f.name in DERIVED:  # computed from the events, on every engine
                u = self.derived()
                col = u[DERIVED[f.name]]
            else:
                u = self.users()
                col = prop(self.engine, u, f.name)
            inner = self.positive(u, cond, col, f"user.{f.name}")
            pred = t.user_id.isin(u.filter(inner.fill_null(False)).user_id)
        else:
            m = _side_table(self.engine, "segment_members", "segment")
            names = [v.value for v in (cond.value if isinstance(cond.value, tuple) else (cond.value,))]
            pred = t.user_id.isin(m.filter(m.segment.isin(names)).user_id)
        pred = pred.fill_null(False)
        return ~pred if negated else pred

    def derived(self) -> ibis.Table:
        if self._derived is None:
            self._derived = derived_users(self.engine)
        return self._derived

    def users(self) -> ibis.Table:
        if self._users is None:
            self._users = _side_table(self.engine, "users", "user.PROP")
        return self._users

    def node(self, t: ibis.Table, node) -> ibis.Value:
        if isinstance(node, F.Condition):
            return self.condition(t, node)
        if isinstance(node, F.Not):
            return ~self.node(t, node.item)
        parts = [self.node(t, x) for x in node.items]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node, F.And) else (out | p)
        return out


def today_in(engine) -> dt.date:
    return dt.datetime.now(ZoneInfo(engine.timezone)).date()


def predicate(engine, filters, *, today: dt.date | None = None, check: bool = True):
    """A function ``t -> boolean expression`` for an events table ``t`` (None when there are no filters).

    ``filters``: text, a tree, its JSON, or a list of those (all must hold). ``today`` anchors relative
    dates (default: today in the workspace time zone). ``check`` first verifies every property exists."""
    tree = F.parse_all(filters)
    if tree is None:
        return None
    fields = F.fields(tree)
    if check:
        event_names = [f.name for f in fields if f.scope == "event"]
        if event_names:
            check_properties(engine, engine.events(), event_names, "event")
        user_names = [f.name for f in fields if f.scope == "user" and f.name not in DERIVED]
        for name in user_names:
            close = difflib.get_close_matches(name, list(DERIVED), n=1, cutoff=0.8) if name.startswith("$") else []
            if close:
                raise SpecError(key="filtering.filter_user_derived_property", name=name, close=close[0])
        if user_names:
            check_properties(engine, _side_table(engine, "users", "user.PROP"), user_names, "user")
        if any(f.scope == "segment" for f in fields):
            _side_table(engine, "segment_members", "segment")
            check_segments(engine, segment_names(tree))
    comp = _Compiler(engine, today or today_in(engine))
    return lambda t: comp.node(t, tree)


def apply(engine, t: ibis.Table, filters, *, today: dt.date | None = None, check: bool = True) -> ibis.Table:
    """``t`` keeping only the rows (events) for which every filter holds."""
    pred = predicate(engine, filters, today=today, check=check)
    return t if pred is None else t.filter(pred(t))


def spec_filters(value) -> list[dict]:
    """A spec's ``filters`` field: texts or JSON trees in, their JSON trees out (validated, so a spec with a
    malformed filter cannot be built and a saved spec carries no text to re-parse)."""
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise SpecError(key="filtering.filters_expected_list_filter")
    return [F.to_json(F.coerce(v)) for v in value]


def event_filter(engine, filters, *, today: dt.date | None = None):
    """The filters as the engine's :class:`~yunying.engines.sequences.EventFilter` for a sequence query (None
    without filters): a filter on ``user.PROP`` / ``segment`` only is marked per-user, so an engine can select
    whole users (a mask over the sequence store) instead of testing every event."""
    from ..engines.sequences import EventFilter

    tree = F.parse_all(filters)
    if tree is None:
        return None
    pred = predicate(engine, filters, today=today)
    scopes = {f.scope for f in F.fields(tree)}
    return EventFilter(pred, per_user=scopes <= {"user", "segment"}, per_event=scopes == {"event"},
                       text=F.to_text(tree))


class FilteredSpec(Spec):
    """A spec with the ``filters`` field (docs/users.md#filter-language): texts or JSON trees in, JSON trees
    stored; the analysis keeps only the events for which every filter holds."""

    filters: list[dict] = []

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v):
        return spec_filters(v)


def filtered(engine, spec, query, extra=None):
    """``query`` (a :class:`~yunying.engines.sequences.SequenceQuery`) with the spec's filters applied, and the
    ``extra`` :class:`~yunying.engines.sequences.EventFilter` too (a breakdown group)."""
    where = both(event_filter(engine, getattr(spec, "filters", None)), extra)
    return query if where is None else dataclasses.replace(query, where=where)


def both(a, b):
    """Two event filters (or None) as one: both must hold."""
    from ..engines.sequences import EventFilter

    if a is None or b is None:
        return a if b is None else b
    return EventFilter(lambda t: a.rows(t) & b.rows(t), per_user=a.per_user and b.per_user,
                       per_event=a.per_event and b.per_event, text=f"({a.text}) and ({b.text})")


class FilteredEngine:
    """An engine seen through filters: ``events()`` (and ``table("events")``) are only the events every filter
    keeps; everything else is the engine's own. For analyses written as Ibis queries over the events (overview,
    acquisition), so that every event they read - signups, touches, activity, purchases - is filtered alike."""

    def __init__(self, engine, filters, *, today: dt.date | None = None):
        self._engine = engine
        self._pred = predicate(engine, filters, today=today)

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def events(self) -> ibis.Table:
        t = self._engine.events()
        return t if self._pred is None else t.filter(self._pred(t))

    def table(self, name: str) -> ibis.Table:
        return self.events() if name == "events" else self._engine.table(name)


def per_user(filters) -> bool:
    """Whether the filters depend on the user only (``user.PROP`` / ``segment``): they select users."""
    tree = F.parse_all(filters)
    return tree is not None and all(f.scope in ("user", "segment") for f in F.fields(tree))
