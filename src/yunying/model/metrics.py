"""The metric language: named metrics over events, and metric trees (how a metric factors).

Grammar (docs/explain.md#metric-language)::

    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := "-" unary | NUMBER | "(" expr ")" | aggregate | METRIC
    aggregate := "count" "(" target [where FILTER] ")"        events
               | "users" "(" target [where FILTER] ")"        distinct users
               | "sum"   "(" EVENT "." PROP [where FILTER] ")" sum of a numeric property
    target    := "any" | EVENT
    EVENT     := NAME | 'quoted name'

``FILTER`` is the filter language of :mod:`yunying.model.filters` (``event.channel = 'feed'``), read up to
the aggregate's closing parenthesis. ``METRIC`` names another metric of the workspace.

A tree is either a product or sum of metric names (``active_users * pay_rate * arppu``) or a sum over
the values of a dimension (``sum over channel``, ``sum over user.city``).

Nothing here touches an engine: :mod:`yunying.analyses.metrics` evaluates the parsed trees.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ..errors import SpecError
from . import filters as F

AGGREGATES = ("count", "users", "sum")
ANY = "any"
MAX_LENGTH = 2_000
_NAME = re.compile(r"[A-Za-z_$\u00c0-\U0010ffff][A-Za-z0-9_$\-\u00c0-\U0010ffff]*")
_METRIC_NAME = re.compile(r"[A-Za-z_\u00c0-\U0010ffff][A-Za-z0-9_\u00c0-\U0010ffff]*\Z")
_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


# -- the tree ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Aggregate:
    """``count``/``users`` of an event (``event=None``: any event) or ``sum`` of ``event.prop``, with a filter
    (a filter tree of :mod:`yunying.model.filters` or None)."""

    func: str
    event: str | None
    prop: str | None = None
    where: object = None

    @property
    def key(self) -> tuple:
        return (self.func, self.event, self.prop, None if self.where is None else F.to_text(self.where))


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    item: object


Expr = Union[Aggregate, Number, Ref, BinOp, Neg]


@dataclass(frozen=True)
class ProductTree:
    """``metric = a * b * c`` (op ``*``) or ``metric = a + b + c`` (op ``+``)."""

    op: str
    factors: tuple


@dataclass(frozen=True)
class SumOverTree:
    """``metric = sum over DIM``: the metric is the sum of its values over each value of ``dim``."""

    dim: str


Tree = Union[ProductTree, SumOverTree]


# -- errors --------------------------------------------------------------------------------------------
def _error(what: str, source: str, pos: int, message: str) -> SpecError:
    pos = max(0, min(pos, len(source)))
    return SpecError(f"{what}: {message} at column {pos + 1}\n  {source}\n  {' ' * pos}^",
                     details={"column": pos + 1, "position": pos})


def check_name(name: str, what: str = "metric") -> str:
    if not isinstance(name, str) or not _METRIC_NAME.match(name) or name.lower() in (*AGGREGATES, ANY, "where"):
        raise SpecError(f"{what} name {name!r}: expected a name of letters, digits and _ (not count, users, sum, "
                        "any or where)")
    return name


# -- parser --------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, name: str, text: str):
        self.what = f"metric {name!r}"
        self.src = text
        self.i = 0

    def error(self, message: str, pos: int | None = None) -> SpecError:
        return _error(self.what, self.src, self.i if pos is None else pos, message)

    def skip(self) -> None:
        while self.i < len(self.src) and self.src[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        self.skip()
        return self.src[self.i] if self.i < len(self.src) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            found = repr(self.src[self.i]) if self.i < len(self.src) else "the end"
            raise self.error(f"expected {ch!r}, found {found}")
        self.i += 1

    def name(self) -> str:
        self.skip()
        if self.peek() in ("'", '"'):
            return self.string()
        m = _NAME.match(self.src, self.i)
        if not m:
            raise self.error("expected a name")
        self.i = m.end()
        return m.group(0)

    def string(self) -> str:
        quote, start = self.src[self.i], self.i
        end = self.src.find(quote, self.i + 1)
        if end < 0:
            raise self.error("unterminated string", start)
        self.i = end + 1
        return self.src[start + 1:end]

    def parse(self) -> Expr:
        if len(self.src) > MAX_LENGTH:
            raise SpecError(f"{self.what}: at most {MAX_LENGTH} characters")
        if not self.src.strip():
            raise self.error("empty definition (expected e.g. count(purchase), users(any), sum(purchase.revenue))")
        out = self.expr(0)
        if self.peek():
            raise self.error(f"unexpected {self.src[self.i]!r}")
        return out

    def expr(self, depth: int) -> Expr:
        if depth > 50:
            raise self.error("too deeply nested")
        left = self.term(depth)
        while self.peek() in ("+", "-"):
            op = self.src[self.i]
            self.i += 1
            left = BinOp(op, left, self.term(depth))
        return left

    def term(self, depth: int) -> Expr:
        left = self.unary(depth)
        while self.peek() in ("*", "/"):
            op = self.src[self.i]
            self.i += 1
            left = BinOp(op, left, self.unary(depth))
        return left

    def unary(self, depth: int) -> Expr:
        ch = self.peek()
        if ch == "-":
            self.i += 1
            return Neg(self.unary(depth + 1))
        if ch == "(":
            self.i += 1
            out = self.expr(depth + 1)
            self.expect(")")
            return out
        m = _NUMBER.match(self.src, self.i)
        if m:
            self.i = m.end()
            return Number(float(m.group(0)))
        if not ch:
            raise self.error("unexpected end (expected a number, a metric or count/users/sum(...))")
        start = self.i
        word = _NAME.match(self.src, self.i)
        if not word:
            raise self.error(f"unexpected {ch!r}")
        self.i = word.end()
        if word.group(0).lower() in AGGREGATES and self.peek() == "(":
            return self.aggregate(word.group(0).lower(), start)
        if "-" in word.group(0) or word.group(0).startswith("$"):
            raise self.error(f"{word.group(0)!r} is not a metric name", start)
        return Ref(word.group(0))

    def aggregate(self, func: str, start: int) -> Aggregate:
        self.expect("(")
        at = self.i
        event = self.name()
        quoted = self.src[at:self.i].strip()[:1] in ("'", '"')
        if event == ANY and not quoted:
            event = None
        prop = None
        if self.peek() == "." :
            self.i += 1
            prop = self.name()
        if func == "sum" and (prop is None or event is None):
            raise self.error("sum needs EVENT.PROPERTY, e.g. sum(purchase.revenue)", start)
        if func != "sum" and prop is not None:
            raise self.error(f"{func} counts {'events' if func == 'count' else 'users'} of an event: "
                             f"{func}({event or ANY}), not a property (use sum(EVENT.PROP))", start)
        where = None
        self.skip()
        if self.src[self.i:self.i + 5].lower() == "where" and not _NAME.match(self.src[self.i + 5:self.i + 6] or " "):
            self.i += 5
            where = self.filter_text()
        self.expect(")")
        return Aggregate(func, event, prop, where)

    def filter_text(self):
        """The filter up to the aggregate's closing parenthesis (quotes and nesting respected), parsed."""
        start, depth, i = self.i, 0, self.i
        while i < len(self.src):
            ch = self.src[i]
            if ch in ("'", '"'):
                j = i + 1
                while j < len(self.src) and self.src[j] != ch:
                    j += 2 if self.src[j] == "\\" else 1
                i = j + 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            i += 1
        text = self.src[start:i]
        if not text.strip():
            raise self.error("expected a filter after 'where'", start)
        try:
            tree = F.parse(text)
        except SpecError as exc:
            pos = start + (exc.details or {}).get("position", 0)
            first = exc.message.split("\n")[0].removeprefix("filter: ")
            raise self.error(re.sub(r" at column \d+$", "", first), pos) from None
        self.i = i
        return tree


def parse_metric(name: str, text: str) -> Expr:
    """The definition of metric ``name``.

    >>> parse_metric("gmv", "sum(purchase.revenue)")
    Aggregate(func='sum', event='purchase', prop='revenue', where=None)
    >>> parse_metric("rate", "users(purchase) / users(any)").op
    '/'
    """
    check_name(name)
    if not isinstance(text, str):
        raise SpecError(f"metric {name!r}: expected a text definition such as \"sum(purchase.revenue)\"")
    return _Parser(name, text).parse()


def parse_tree(name: str, text: str) -> Tree:
    """The tree of metric ``name``: ``a * b * c``, ``a + b``, or ``sum over DIM``.

    >>> parse_tree("revenue", "active_users * pay_rate * arppu").factors
    ('active_users', 'pay_rate', 'arppu')
    >>> parse_tree("new_users", "sum over channel")
    SumOverTree(dim='channel')
    """
    what = f"tree of {name!r}"
    src = text if isinstance(text, str) else ""
    m = re.fullmatch(r"\s*sum\s+over\s+(\S+)\s*", src, flags=re.IGNORECASE)
    if m:
        return SumOverTree(m.group(1))
    parts = re.split(r"\s*([*+])\s*", src.strip())
    names, ops = parts[0::2], set(parts[1::2])
    pos = 0
    for part in names:
        at = src.find(part, pos) if part else len(src)
        if not part or not _METRIC_NAME.match(part):
            raise _error(what, src, max(at, 0), "expected metric names joined by * (a product) or + (a sum), "
                         "or 'sum over DIM'")
        pos = at + len(part)
    if len(ops) > 1:
        raise _error(what, src, src.find("+"), "mix of * and +: a tree is a product or a sum")
    if len(names) < 2:
        raise _error(what, src, len(src), "a tree needs at least two factors (a * b) or 'sum over DIM'")
    if len(set(names)) != len(names):
        raise SpecError(f"{what}: a factor is listed twice")
    return ProductTree(ops.pop(), tuple(names))


def references(expr: Expr) -> list[str]:
    """Names of the other metrics ``expr`` uses, in order."""
    out, todo = [], [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, Ref):
            out.append(node.name)
        elif isinstance(node, BinOp):
            todo += [node.right, node.left]
        elif isinstance(node, Neg):
            todo.append(node.item)
    return out


def name_text(name: str) -> str:
    """An event or property name as the language writes it: bare when it can be, else quoted."""
    if _NAME.fullmatch(name) and name.lower() not in (ANY, "where"):
        return name
    return f'"{name}"' if "'" in name else f"'{name}'"


def to_text(expr: Expr) -> str:
    """Canonical text of a definition (fully parenthesised binary operations)."""
    if isinstance(expr, Aggregate):
        target = ANY if expr.event is None else name_text(expr.event)
        if expr.prop:
            target += "." + name_text(expr.prop)
        where = f" where {F.to_text(expr.where)}" if expr.where is not None else ""
        return f"{expr.func}({target}{where})"
    if isinstance(expr, Number):
        return f"{expr.value:g}"
    if isinstance(expr, Ref):
        return expr.name
    if isinstance(expr, Neg):
        return f"-{to_text(expr.item)}"
    return f"({to_text(expr.left)} {expr.op} {to_text(expr.right)})"
