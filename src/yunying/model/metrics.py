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

from ..errors import SpecError, Text
from . import filters as F

AGGREGATES = ("count", "users", "sum")
ANY = "any"
MAX_LENGTH = 2_000
_METRIC_NAME = re.compile(r"[A-Za-z_\u00c0-\U0010ffff][A-Za-z0-9_\u00c0-\U0010ffff]*\Z")


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


def check_name(name: str, what: str | Text = Text("metrics.word_metric")) -> str:
    if not isinstance(name, str) or not _METRIC_NAME.match(name) or name.lower() in (*AGGREGATES, ANY, "where"):
        raise SpecError(key="metrics.name_expected_name_letters", what=what, name=name)
    return name


# -- parser (over the tokens of the filter language's lexer, with arithmetic) ------------------------------
class _Parser:
    def __init__(self, what: str, text: str):
        self.what = what
        self.src = text
        self.toks = F.tokenize(text, what, arithmetic=True)
        self.i = 0

    @property
    def tok(self) -> F.Token:
        return self.toks[self.i]

    def error(self, message: str, pos: int | None = None) -> SpecError:
        return F.syntax_error(self.src, self.tok.pos if pos is None else pos, message, self.what)

    def at(self, *signs: str) -> bool:
        """The current token is one of these operators or punctuation marks."""
        return self.tok.kind in ("op", "punct") and self.tok.text in signs

    def expect(self, sign: str) -> None:
        if not self.at(sign):
            found = Text("metrics.the_end") if self.tok.kind == "end" else repr(self.tok.text)
            raise self.error(Text("metrics.expected_found", sign=sign, found=found))
        self.i += 1

    def name(self) -> tuple[str, bool]:
        """A bare or quoted name, and whether it was quoted."""
        t = self.tok
        if t.kind not in ("name", "string"):
            raise self.error(Text("metrics.expected_name"))
        self.i += 1
        return t.value, t.kind == "string"

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise self.error(Text("metrics.empty_definition_expected_e"), 0)
        out = self.expr(0)
        if self.tok.kind != "end":
            raise self.error(Text("metrics.unexpected", text=self.tok.text))
        return out

    def expr(self, depth: int) -> Expr:
        if depth > 50:
            raise self.error(Text("metrics.too_deeply_nested"))
        return self.chain(("+", "-"), lambda: self.chain(("*", "/"), lambda: self.unary(depth)))

    def chain(self, ops: tuple[str, ...], operand) -> Expr:
        """operand (op operand)*, left-associative: ``term`` of ``expr``, ``unary`` of ``term``."""
        left = operand()
        while self.at(*ops):
            op = self.tok.text
            self.i += 1
            left = BinOp(op, left, operand())
        return left

    def unary(self, depth: int) -> Expr:
        t = self.tok
        if self.at("-"):
            self.i += 1
            return Neg(self.unary(depth + 1))
        if self.at("("):
            self.i += 1
            out = self.expr(depth + 1)
            self.expect(")")
            return out
        if t.kind == "number":
            self.i += 1
            return Number(float(t.value))
        if t.kind == "end":
            raise self.error(Text("metrics.unexpected_end_expected_number"))
        if t.kind != "name":
            raise self.error(Text("metrics.unexpected", text=t.text))
        self.i += 1
        if t.text.lower() in AGGREGATES and self.at("("):
            return self.aggregate(t.text.lower(), t.pos)
        if "-" in t.text or t.text.startswith("$"):
            raise self.error(Text("metrics.metric_name", text=t.text), t.pos)
        return Ref(t.text)

    def aggregate(self, func: str, start: int) -> Aggregate:
        self.expect("(")
        event, quoted = self.name()
        if event == ANY and not quoted:
            event = None
        prop = None
        if self.at("."):
            self.i += 1
            prop = self.name()[0]
        if func == "sum" and (prop is None or event is None):
            raise self.error(Text("metrics.sum_needs_event_property"), start)
        if func != "sum" and prop is not None:
            raise self.error(Text("metrics.counts_event_property_use", func=func, func2=Text('words.events' if func == 'count' else 'words.users'), value=event or ANY), start)
        where = None
        if self.tok.kind == "name" and self.tok.text.lower() == "where":
            self.i += 1
            where = self.filter_text(self.toks[self.i - 1].pos + len("where"))
        self.expect(")")
        return Aggregate(func, event, prop, where)

    def filter_text(self, start: int):
        """The filter from ``start`` up to the aggregate's closing parenthesis, parsed."""
        depth = 0
        while self.tok.kind != "end" and not (depth == 0 and self.at(")")):
            depth += self.at("(") - self.at(")")
            self.i += 1
        text = self.src[start:self.tok.pos]
        if not text.strip():
            raise self.error(Text("metrics.expected_filter_after_where"), start)
        try:
            return F.parse(text)
        except SpecError as exc:
            pos = start + (exc.details or {}).get("position", 0)
            first = exc.message.split("\n")[0].removeprefix("filter: ")
            inner = exc.text.params["message_"] if exc.text is not None and exc.text.key == "filters.at_column" else None
            raise self.error(inner or re.sub(r" at column \d+$", "", first), pos) from None


def parse_metric(name: str, text: str) -> Expr:
    """The definition of metric ``name``.

    >>> parse_metric("gmv", "sum(purchase.revenue)")
    Aggregate(func='sum', event='purchase', prop='revenue', where=None)
    >>> parse_metric("rate", "users(purchase) / users(any)").op
    '/'
    """
    check_name(name)
    if not isinstance(text, str):
        raise SpecError(key="metrics.metric_expected_text_definition", name=name)
    what = Text("metrics.what_metric", name=name)
    if len(text) > MAX_LENGTH:
        raise SpecError(key="metrics.at_most_characters", what=what, MAX_LENGTH=MAX_LENGTH)
    return _Parser(what, text).parse()


def parse_tree(name: str, text: str) -> Tree:
    """The tree of metric ``name``: ``a * b * c``, ``a + b``, or ``sum over DIM``.

    >>> parse_tree("revenue", "active_users * pay_rate * arppu").factors
    ('active_users', 'pay_rate', 'arppu')
    >>> parse_tree("new_users", "sum over channel")
    SumOverTree(dim='channel')
    """
    what = Text("metrics.what_tree", name=name)
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
            raise F.syntax_error(src, max(at, 0), Text("metrics.expected_metric_names_joined"), what)
        pos = at + len(part)
    if len(ops) > 1:
        raise F.syntax_error(src, src.find("+"), Text("metrics.mix_tree_product_sum"), what)
    if len(names) < 2:
        raise F.syntax_error(src, len(src), Text("metrics.tree_needs_at_least"), what)
    if len(set(names)) != len(names):
        raise SpecError(key="metrics.factor_listed_twice", what=what)
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
    if F.NAME.fullmatch(name) and name.lower() not in (ANY, "where"):
        return name
    if "'" in name and not any(c in name for c in '"\\\n\t\r\0'):
        return f'"{name}"'
    return F.quote(name)


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
