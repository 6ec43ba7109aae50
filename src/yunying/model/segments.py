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

from ..errors import SpecError
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
    def parse(self):
        if self.tok.kind == "end":
            raise self.fail("empty rule (expected e.g. did purchase in the last 30 days)")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail(f"expected and, or or the end, found {self.describe(self.tok)}")
        return node

    def word(self) -> str:
        t = self.tok
        if t.kind in ("name", "string") and t.value != "":
            self.i += 1
            return t.value
        raise self.fail(f"expected an event or segment name, found {self.describe(t)}")

    def expect(self, *words: str) -> None:
        for w in words:
            if not self.accept_kw(w):
                raise self.fail(f"expected {w}, found {self.describe(self.tok)}")

    def int_(self, what: str) -> int:
        t = self.tok
        if t.kind != "number" or not isinstance(t.value, int) or t.value < 0:
            raise self.fail(f"expected {what} (a whole number), found {self.describe(t)}")
        self.i += 1
        return t.value

    def date(self) -> str:
        t = self.tok
        if t.kind != "date":
            raise self.fail(f"expected a date (YYYY-MM-DD), found {self.describe(t)}")
        self.i += 1
        return t.value.isoformat()

    in_where = False

    def condition(self):
        if self.in_where:  # inside did EVENT where (…): the filter language as it is
            return super().condition()
        self.conditions += 1
        if self.conditions > F.MAX_ITEMS:
            raise self.fail(f"more than {F.MAX_ITEMS:,} conditions")
        if self.accept_kw("in"):
            self.expect("segment")
            return InSegment(self.word())
        if self.kw("did") or self.kw("first"):
            return self.behaviour()
        start = self.tok
        cond = super().condition()
        if cond.field.scope == "event":
            raise self.fail("event.PROP conditions go inside a behaviour: did EVENT where (event.PROP …)", start)
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
                raise self.fail("expected ( after where: did EVENT where (event.PROP …)")
            self.i += 1
            self.nest()
            self.in_where = True
            where = self.or_()  # the filter language, event.PROP allowed
            self.in_where = False
            self.depth -= 1
            if not self.punct(")"):
                raise self.fail(f"expected ) to close where (…), found {self.describe(self.tok)}")
            self.i += 1
        count = None
        if kind == "did":
            if self.accept_kw("at"):
                op = ">=" if self.accept_kw("least") else "<=" if self.accept_kw("most") else None
                if op is None:
                    raise self.fail("expected least or most after at")
                count = (op, self.int_("a count"))
                self.expect("times")
            elif self.accept_kw("exactly"):
                count = ("=", self.int_("a count"))
                self.expect("times")
            if count and count[0] != "<=" and count[1] < 1:
                raise self.fail("a count of at least 1 (for none, write did not do EVENT)")
        window = None
        if self.kw("in") and self.toks[self.i + 1].kind == "name" and self.toks[self.i + 1].text.lower() == "the":
            self.i += 1
            self.expect("the", "last")
            days = self.int_("a number of days")
            if days < 1:
                raise self.fail("the last N days needs N >= 1")
            if not (self.accept_kw("days") or self.accept_kw("day")):
                raise self.fail(f"expected days, found {self.describe(self.tok)}")
            window = ("last", days)
        elif self.accept_kw("between"):
            lo = self.date()
            self.expect("and")
            hi = self.date()
            if hi < lo:
                raise self.fail(f"between {lo} and {hi}: the second date is before the first")
            window = ("between", lo, hi)
        return Behaviour(kind, event, where, count, window)


def parse(text: str):
    """A rule's tree; a malformed rule raises :class:`SpecError` pointing at the column."""
    try:
        return _RuleParser(text).parse()
    except SpecError as exc:
        raise SpecError("rule" + exc.message.removeprefix("filter"), details=exc.details) from None


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
