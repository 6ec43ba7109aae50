"""Segment rules (用戶分群, docs/users.md#segments): the filter language's ``and`` / ``or`` / ``not`` and
parentheses over profile conditions (``user.PROP …``) and behaviour:

```
rule       := (as a filter: or / and / not / parentheses) over atoms
atom       := behaviour | "in" "segment" NAME | user-condition
behaviour  := ("did" | "did" "not" "do" | "first" "did") EVENT ["where" "(" filter ")"] [count] [window]
count      := "at" "least" N "times" | "at" "most" N "times" | "exactly" N "times"
window     := "in" "the" "last" N "days" | "between" DATE "and" DATE
```

``EVENT`` and ``NAME`` are names or quoted strings. A rule is parsed into a tree (``Behaviour``, ``InSegment``
and the filter language's nodes), never pasted into SQL.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from ..errors import SpecError, Text
from . import filters as F


@dataclass(frozen=True)
class Behaviour:
    """``kind``: did | did not | first did. ``count``: (op, n) with op >=, <= or =. ``window``: None (ever, up to
    the as-of day), ("last", days) or ("between", first ISO date, last ISO date)."""

    kind: str
    event: str
    where: object = None          # a filter tree over event.PROP (and user.PROP / segment)
    count: tuple | None = None
    window: tuple | None = None


@dataclass(frozen=True)
class InSegment:
    name: str


class _RuleParser(F._Parser):
    what = Text("segments.what_rule")

    def parse(self):
        if self.tok.kind == "end":
            raise self.fail(Text("segments.empty_rule_expected_e"))
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail(Text("filters.expected_end_found", self_=self.describe(self.tok)))
        return node

    def word(self) -> str:
        t = self.tok
        if t.kind in ("name", "string") and t.value != "":
            self.i += 1
            return t.value
        raise self.fail(Text("segments.expected_event_segment_name", value=self.describe(t)))

    def expect(self, *words: str) -> None:
        for w in words:
            if not self.accept_kw(w):
                raise self.fail(Text("segments.expected_found", w=w, self_=self.describe(self.tok)))

    def int_(self, what: str) -> int:
        t = self.tok
        if t.kind != "number" or not isinstance(t.value, int) or t.value < 0:
            raise self.fail(Text("segments.expected_whole_number_found", what=what, value=self.describe(t)))
        self.i += 1
        return t.value

    def date(self) -> str:
        t = self.tok
        if t.kind != "date":
            raise self.fail(Text("segments.expected_date_yyyy_mm", value=self.describe(t)))
        self.i += 1
        return t.value.isoformat()

    in_where = False

    def condition(self):
        if self.in_where:  # inside did EVENT where (…): the filter language as it is
            return super().condition()
        self.conditions += 1
        if self.conditions > F.MAX_ITEMS:
            raise self.fail(Text("filters.more_than_conditions", MAX_ITEMS=F.MAX_ITEMS))
        if self.accept_kw("in"):
            self.expect("segment")
            return InSegment(self.word())
        if self.kw("did") or self.kw("first"):
            return self.behaviour()
        start = self.tok
        cond = super().condition()
        if cond.field.scope == "event":
            raise self.fail(Text("segments.event_prop_conditions_go"), start)
        return cond

    def behaviour(self) -> Behaviour:
        if self.accept_kw("first"):
            self.expect("did")
            kind = "first did"
        else:
            self.expect("did")
            kind = "did"
            if self.accept_kw("not"):
                self.expect("do")
                kind = "did not"
        event = self.word()
        where = None
        if self.accept_kw("where"):
            if not self.punct("("):
                raise self.fail(Text("segments.expected_after_where_did"))
            self.i += 1
            self.nest()
            self.in_where = True
            where = self.or_()  # the filter language, event.PROP allowed
            self.in_where = False
            self.depth -= 1
            if not self.punct(")"):
                raise self.fail(Text("segments.expected_close_where_found", self_=self.describe(self.tok)))
            self.i += 1
        count = None
        if kind == "did":
            if self.accept_kw("at"):
                op = ">=" if self.accept_kw("least") else "<=" if self.accept_kw("most") else None
                if op is None:
                    raise self.fail(Text("segments.expected_least_most_after"))
                count = (op, self.int_("a count"))
                self.expect("times")
            elif self.accept_kw("exactly"):
                count = ("=", self.int_("a count"))
                self.expect("times")
            if count and count[0] != "<=" and count[1] < 1:
                raise self.fail(Text("segments.count_at_least_1"))
        window = None
        if self.kw("in") and self.toks[self.i + 1].kind == "name" and self.toks[self.i + 1].text.lower() == "the":
            self.i += 1
            self.expect("the", "last")
            days = self.int_("a number of days")
            if days < 1:
                raise self.fail(Text("segments.last_n_days_needs"))
            if not (self.accept_kw("days") or self.accept_kw("day")):
                raise self.fail(Text("segments.expected_days_found", self_=self.describe(self.tok)))
            window = ("last", days)
        elif self.accept_kw("between"):
            lo = self.date()
            self.expect("and")
            hi = self.date()
            if hi < lo:
                raise self.fail(Text("segments.between_second_date_before", lo=lo, hi=hi))
            window = ("between", lo, hi)
        return Behaviour(kind, event, where, count, window)


def parse(text: str):
    """A rule's tree; a malformed rule raises :class:`SpecError` pointing at the column."""
    return _RuleParser(text).parse()  # its syntax errors name the rule (_RuleParser.what)


def segments_used(node) -> list[str]:
    """Names of the segments a rule refers to (``in segment X`` and ``segment = …`` conditions)."""
    out: list[str] = []
    if isinstance(node, InSegment):
        out.append(node.name)
    elif isinstance(node, Behaviour):
        if node.where is not None:
            out += segments_used(node.where)
    elif isinstance(node, F.Condition):
        if node.field.scope == "segment":
            vals = node.value if isinstance(node.value, tuple) else (node.value,)
            out += [v.value for v in vals if v is not None]
    elif isinstance(node, F.Not):
        out += segments_used(node.item)
    elif isinstance(node, (F.And, F.Or)):
        for x in node.items:
            out += segments_used(x)
    return out


def window_days(window: tuple | None, as_of: _dt.date) -> tuple[_dt.date | None, _dt.date]:
    """The first and last local day a window covers as of ``as_of`` (never after it); None: no lower bound."""
    if window is None:
        return None, as_of
    if window[0] == "last":
        return as_of - _dt.timedelta(days=window[1] - 1), as_of
    return _dt.date.fromisoformat(window[1]), min(_dt.date.fromisoformat(window[2]), as_of)


# -- JSON and canonical text (the query API and the dashboard's segment builder) --------------------------
_RULE_WORDS = {"did", "do", "first", "where", "at", "least", "most", "exactly", "times", "the", "last", "days", "day",
               "between", "segment"}


def _word_text(name: str) -> str:
    simple = F.NAME.fullmatch(name) and name.lower() not in F.KEYWORDS | _RULE_WORDS
    return name if simple else F.quote(name)


def to_json(node) -> dict:
    """A rule as JSON: the filter language's ``and`` / ``or`` / ``not`` / conditions, plus
    ``{"behaviour": {"kind": "did", "event": E, "where": FILTER, "count": {"op": ">=", "n": 2},
    "window": {"last": 30} | {"between": [A, B]}}}`` and ``{"in_segment": NAME}``."""
    if isinstance(node, InSegment):
        return {"in_segment": node.name}
    if isinstance(node, Behaviour):
        out: dict = {"kind": node.kind, "event": node.event}
        if node.where is not None:
            out["where"] = F.to_json(node.where)
        if node.count is not None:
            out["count"] = {"op": node.count[0], "n": node.count[1]}
        if node.window is not None:
            out["window"] = {"last": node.window[1]} if node.window[0] == "last" else {"between": list(node.window[1:])}
        return {"behaviour": out}
    if isinstance(node, F.And):
        return {"and": [to_json(x) for x in node.items]}
    if isinstance(node, F.Or):
        return {"or": [to_json(x) for x in node.items]}
    if isinstance(node, F.Not):
        return {"not": to_json(node.item)}
    return F.to_json(node)


def _behaviour_text(b: Behaviour) -> str:
    head = {"did": "did", "did not": "did not do", "first did": "first did"}[b.kind]
    out = f"{head} {_word_text(b.event)}"
    if b.where is not None:
        out += f" where ({F.to_text(b.where)})"
    if b.count is not None:
        op, n = b.count
        out += {">=": " at least", "<=": " at most", "=": " exactly"}[op] + f" {n} times"
    if b.window is not None:
        out += f" in the last {b.window[1]} days" if b.window[0] == "last" else f" between {b.window[1]} and {b.window[2]}"
    return out


def to_text(node) -> str:
    """Canonical rule text: ``parse(to_text(r)) == r``."""
    if isinstance(node, InSegment):
        return f"in segment {_word_text(node.name)}"
    if isinstance(node, Behaviour):
        return _behaviour_text(node)
    if isinstance(node, F.And):
        return " and ".join(f"({to_text(x)})" if isinstance(x, (F.And, F.Or)) else to_text(x) for x in node.items)
    if isinstance(node, F.Or):
        return " or ".join(f"({to_text(x)})" if isinstance(x, F.Or) else to_text(x) for x in node.items)
    if isinstance(node, F.Not):
        inner = node.item
        return "not " + (f"({to_text(inner)})" if isinstance(inner, (F.And, F.Or)) else to_text(inner))
    return F.to_text(node)


def _int(value, what: str, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise SpecError(key="segments.rule_json_must_whole", what=what, low=low, value=value)
    return value


def _behaviour_from(d) -> Behaviour:
    if not isinstance(d, dict) or set(d) - {"kind", "event", "where", "count", "window"}:
        raise SpecError(key="segments.rule_json_behaviour")
    kind, event = d.get("kind", "did"), d.get("event")
    if kind not in ("did", "did not", "first did"):
        raise SpecError(key="segments.rule_json_behaviour_kind", kind=kind)
    if not isinstance(event, str) or not event:
        raise SpecError(key="segments.rule_json_behaviour_needs")
    where = F.from_json(d["where"]) if d.get("where") is not None else None
    count = None
    if d.get("count") is not None:
        c = d["count"]
        if kind != "did" or not isinstance(c, dict) or c.get("op") not in (">=", "<=", "="):
            raise SpecError(key="segments.rule_json_count_only")
        count = (c["op"], _int(c.get("n"), "count n", 0 if c["op"] == "<=" else 1))
    window = None
    if d.get("window") is not None:
        w = d["window"]
        if isinstance(w, dict) and set(w) == {"last"}:
            window = ("last", _int(w["last"], "last N days", 1))
        elif isinstance(w, dict) and set(w) == {"between"} and isinstance(w["between"], list) and len(w["between"]) == 2:
            try:
                lo, hi = (_dt.date.fromisoformat(x).isoformat() for x in w["between"])
            except (TypeError, ValueError):
                raise SpecError(key="segments.rule_json_between_takes") from None
            if hi < lo:
                raise SpecError(key="segments.rule_json_between_second", lo=lo, hi=hi)
            window = ("between", lo, hi)
        else:
            raise SpecError(key="segments.rule_json_window")
    return Behaviour(kind, event, where, count, window)


def from_json(data, _depth: int = 0):
    """The inverse of :func:`to_json`, as strict as the parser (``event.PROP`` only inside a behaviour)."""
    if _depth > F.MAX_DEPTH:
        raise SpecError(key="segments.rule_json_nested_more", MAX_DEPTH=F.MAX_DEPTH)
    if not isinstance(data, dict):
        raise SpecError(key="segments.rule_json_expected_object")
    if set(data) == {"in_segment"}:
        if not isinstance(data["in_segment"], str) or not data["in_segment"]:
            raise SpecError(key="segments.rule_json_segment_takes")
        return InSegment(data["in_segment"])
    if set(data) == {"behaviour"}:
        return _behaviour_from(data["behaviour"])
    for key, cls in (("and", F.And), ("or", F.Or)):
        if key in data:
            items = data[key]
            if set(data) != {key} or not isinstance(items, list) or len(items) < 2:
                raise SpecError(key="segments.rule_json_needs_list", key_=key)
            return cls(tuple(from_json(x, _depth + 1) for x in items))
    if "not" in data:
        if set(data) != {"not"}:
            raise SpecError(key="segments.rule_json_takes_nothing")
        return F.Not(from_json(data["not"], _depth + 1))
    cond = F.from_json(data)
    if cond.field.scope == "event":
        raise SpecError(key="segments.rule_json_event_prop")
    return cond
