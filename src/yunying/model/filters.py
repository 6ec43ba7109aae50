"""The filter language: one expression syntax for every analysis (``--where``, a spec's ``filters``).

Grammar (docs/users.md#filter-language has the full description with examples)::

    expr       := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | condition
    condition  := field OP value
                | field ["not"] "in" "(" value ("," value)* ")"
                | field ("contains" | "matches") string
                | field "is" ["not"] "set"
    field      := ("event" | "user") "." (NAME | string) | "segment"
    OP         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := number | string | date | relative date | true | false

Strings take single or double quotes (the other quote may appear inside) and backslash escapes
(``\\'``, ``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\uXXXX``); dates are ``YYYY-MM-DD``; relative dates are ``-30d``
(days) or ``-2w`` (weeks) before the as-of day. Keywords are case-insensitive.

:func:`parse` turns text into a frozen tree (:class:`Condition`, :class:`And`, :class:`Or`, :class:`Not`)
that round-trips through JSON (:func:`to_json` / :func:`from_json`) and back to canonical text
(:func:`to_text`). Nothing here touches an engine: ``yunying.analyses.filtering`` compiles a tree into
engine expressions with the values bound as literals, never as SQL text.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Union

from ..errors import SpecError, Text

MAX_LENGTH = 20_000     # characters of one expression
MAX_DEPTH = 64          # nesting of parentheses and "not"
MAX_ITEMS = 10_000      # values in one "in (...)" list, conditions in one expression

SCOPES = ("event", "user")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS = COMPARISONS + ("in", "not in", "contains", "matches", "is set", "is not set")
KEYWORDS = {"and", "or", "not", "in", "contains", "matches", "is", "set", "true", "false"}


class _OnFirstUse:
    """A regular expression compiled when first used: ``NAME``'s code-point ranges take 10-20 ms to compile,
    which every command would otherwise pay at start-up whether it parses a filter or not."""

    def __init__(self, pattern: str):
        self.pattern, self._re = pattern, None

    def _compiled(self) -> re.Pattern:
        if self._re is None:
            self._re = re.compile(self.pattern)
        return self._re

    def match(self, *args):
        return self._compiled().match(*args)

    def fullmatch(self, *args):
        return self._compiled().fullmatch(*args)


NAME = _OnFirstUse(r"[A-Za-z_$\u00c0-\U0010ffff][A-Za-z0-9_$\-\u00c0-\U0010ffff]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w\-:])")
_RELATIVE = re.compile(r"-(\d{1,5})([dw])(?![\w])")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(?![\w.])")
# Constructs a regex engine of one backend has and another lacks (RE2 in DuckDB, Java in Spark).
_UNPORTABLE_REGEX = re.compile(r"\(\?[=!<>]|\\[1-9]|\(\?P[<=>]")


# -- the tree ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """``event.NAME``, ``user.NAME`` or ``segment`` (then ``name`` is None)."""

    scope: str
    name: str | None = None


@dataclass(frozen=True)
class Value:
    """A literal: ``kind`` is number, string, date, relative_date or bool.

    ``value`` is an int/float, a str, an ISO date string, a number of days (negative: before the as-of
    day) or a bool."""

    kind: str
    value: object


@dataclass(frozen=True)
class Condition:
    field: Field
    op: str
    value: Union[Value, tuple, None] = None   # a tuple of Values for in / not in; None for is (not) set


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


Node = Union[Condition, And, Or, Not]


# -- tokenizer -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str      # name, string, number, date, relative, op, punct, end
    text: str
    value: object
    pos: int       # 0-based offset in the source


FILTER = Text("filters.what_filter")  # what a syntax error names: "filter" (a rule, a metric … name themselves)


def syntax_error(source: str, pos: int, message: str | Text, what: str | Text = FILTER) -> SpecError:
    """An error of ``what`` (``filter``, ``metric 'gmv'``) showing the expression, a caret under the column."""
    pos = max(0, min(pos, len(source)))
    line_start = source.rfind("\n", 0, pos) + 1
    line_end = source.find("\n", pos)
    line = source[line_start: line_end if line_end >= 0 else len(source)]
    col = pos - line_start
    if len(line) > 100:  # show a window around the error in long expressions
        lo = max(0, col - 50)
        shown = ("…" if lo else "") + line[lo:lo + 100] + ("…" if lo + 100 < len(line) else "")
        caret = (col - lo + (1 if lo else 0))
    else:
        shown, caret = line, col
    return SpecError(key="filters.at_column", what=what, message_=message, col=col + 1, shown=shown, caret=' ' * caret,
                     details={"column": col + 1, "position": pos})


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


def _read_string(src: str, i: int, what: str) -> tuple[str, int]:
    quote = src[i]
    out = []
    j = i + 1
    while j < len(src):
        c = src[j]
        if c == quote:
            return "".join(out), j + 1
        if c == "\\":
            if j + 1 >= len(src):
                break
            e = src[j + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                j += 2
                continue
            if e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", src[j + 2:j + 6]):
                out.append(chr(int(src[j + 2:j + 6], 16)))
                j += 6
                continue
            raise syntax_error(src, j, Text("filters.unknown_escape_string_use", e=e), what)
        out.append(c)
        j += 1
    raise syntax_error(src, i, Text("filters.string_not_closed", quote=quote), what)


def tokenize(src: str, what: str | Text = FILTER, arithmetic: bool = False) -> list[Token]:
    """Tokens of ``src`` (the last: ``end``). ``arithmetic`` (model/metrics.py): ``+ - * /`` are operators,
    numbers unsigned, no dates."""
    if not isinstance(src, str):
        raise SpecError(key="filters.expected_text", what=what, __name__=type(src).__name__)
    if len(src) > MAX_LENGTH:
        raise SpecError(key="filters.expression_characters_long_at", what=what, n_src=len(src), MAX_LENGTH=MAX_LENGTH)
    toks: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            text, j = _read_string(src, i, what)
            toks.append(Token("string", src[i:j], text, i))
            i = j
            continue
        if c in "(),." and not (arithmetic and c == "." and src[i + 1:i + 2].isdigit()):  # .5: a number there
            toks.append(Token("punct", c, c, i))
            i += 1
            continue
        two = src[i:i + 2]
        if two in ("!=", "<=", ">=", "<>", "=="):
            toks.append(Token("op", {"<>": "!=", "==": "="}.get(two, two), two, i))
            i += 2
            continue
        if c in "=<>":
            toks.append(Token("op", c, c, i))
            i += 1
            continue
        m = None if arithmetic else _DATE.match(src, i)  # 2024-01-01 is a subtraction there
        if m:
            try:
                day = _dt.date.fromisoformat(m.group())
            except ValueError:
                raise syntax_error(src, i, Text("filters.date", m=m.group()), what) from None
            toks.append(Token("date", m.group(), day, i))
            i = m.end()
            continue
        m = _RELATIVE.match(src, i)
        if m:
            days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
            toks.append(Token("relative", m.group(), -days, i))
            i = m.end()
            continue
        if arithmetic and c in "+-*/":
            toks.append(Token("op", c, c, i))
            i += 1
            continue
        m = _NUMBER.match(src, i)
        if m:
            text = m.group()
            num = float(text) if any(ch in text for ch in ".eE") else int(text)
            if isinstance(num, float) and num != num or num in (float("inf"), float("-inf")):
                raise syntax_error(src, i, Text("filters.finite_number", text=text), what)
            toks.append(Token("number", text, num, i))
            i = m.end()
            continue
        m = NAME.match(src, i)
        if m:
            toks.append(Token("name", m.group(), m.group(), i))
            i = m.end()
            continue
        raise syntax_error(src, i, Text("filters.unexpected_character", c=c), what)
    toks.append(Token("end", "", None, n))
    return toks


# -- parser ----------------------------------------------------------------------------------------------
class _Parser:
    what = FILTER

    def __init__(self, src: str):
        self.src = src
        self.toks = tokenize(src, self.what)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def kw(self, word: str) -> bool:
        t = self.tok
        return t.kind == "name" and t.text.lower() == word

    def accept_kw(self, word: str) -> bool:
        if self.kw(word):
            self.i += 1
            return True
        return False

    def punct(self, c: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == c

    def fail(self, message: str, tok: Token | None = None) -> SpecError:
        t = tok or self.tok
        return syntax_error(self.src, t.pos, message, self.what)

    def describe(self, t: Token) -> str:
        return Text("filters.end_of_expression") if t.kind == "end" else repr(t.text)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail(Text("filters.empty_filter_expected_condition"))
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail(Text("filters.expected_end_found", self_=self.describe(self.tok)))
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.accept_kw("or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.unary()]
        while self.accept_kw("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(Text("filters.nested_more_than_levels", MAX_DEPTH=MAX_DEPTH))

    def unary(self) -> Node:
        if self.accept_kw("not"):
            self.nest()
            node = Not(self.unary())
            self.depth -= 1
            return node
        if self.punct("("):
            self.nest()
            self.i += 1
            node = self.or_()
            if not self.punct(")"):
                raise self.fail(Text("filters.expected_found", self_=self.describe(self.tok)))
            self.i += 1
            self.depth -= 1
            return node
        return self.condition()

    def field(self) -> Field:
        t = self.tok
        if t.kind != "name":
            raise self.fail(Text("filters.expected_field_event_name", value=self.describe(t)))
        scope = t.text.lower()
        self.i += 1
        if scope == "segment":
            return Field("segment")
        if scope not in SCOPES:
            raise self.fail(Text("filters.unknown_field_write_event", text=t.text), t)
        if not self.punct("."):
            raise self.fail(Text("filters.expected_property_name_after_2", text=t.text))
        self.i += 1
        t = self.tok
        if t.kind in ("name", "string") and t.value != "":
            self.i += 1
            return Field(scope, t.value)
        raise self.fail(Text("filters.expected_property_name_after", scope=scope, value=self.describe(t)))

    def value(self) -> Value:
        t = self.tok
        self.i += 1
        if t.kind == "string":
            return Value("string", t.value)
        if t.kind == "number":
            return Value("number", t.value)
        if t.kind == "date":
            return Value("date", t.value.isoformat())
        if t.kind == "relative":
            return Value("relative_date", t.value)
        if t.kind == "name" and t.text.lower() in ("true", "false"):
            return Value("bool", t.text.lower() == "true")
        self.i -= 1
        hint = " (quote text: 'like this')" if t.kind == "name" else ""
        raise self.fail(Text("filters.expected_value_number_text", value=self.describe(t), hint=hint))

    def condition(self) -> Condition:
        self.conditions += 1
        if self.conditions > MAX_ITEMS:
            raise self.fail(Text("filters.more_than_conditions", MAX_ITEMS=MAX_ITEMS))
        start = self.tok
        field = self.field()
        t = self.tok
        if t.kind == "op":
            self.i += 1
            return self.checked(Condition(field, t.value, self.value()), start)
        if self.accept_kw("in"):
            return self.checked(Condition(field, "in", self.value_list()), start)
        if self.kw("not"):
            self.i += 1
            if not self.accept_kw("in"):
                raise self.fail(Text("filters.expected_after_field_negate"))
            return self.checked(Condition(field, "not in", self.value_list()), start)
        for word in ("contains", "matches"):
            if self.accept_kw(word):
                v = self.tok
                if v.kind != "string":
                    raise self.fail(Text("filters.takes_quoted_string_found", word=word, value=self.describe(v)))
                self.i += 1
                return self.checked(Condition(field, word, Value("string", v.value)), start)
        if self.accept_kw("is"):
            neg = self.accept_kw("not")
            if not self.accept_kw("set"):
                raise self.fail(Text("filters.expected_set_after", neg=' not' if neg else ''))
            return self.checked(Condition(field, "is not set" if neg else "is set"), start)
        raise self.fail(Text("filters.expected_operator_contains_matches", value=self.describe(t)))

    def value_list(self) -> tuple:
        if not self.punct("("):
            raise self.fail(Text("filters.expected_list_values"))
        self.i += 1
        items = [self.value()]
        while self.punct(","):
            self.i += 1
            items.append(self.value())
            if len(items) > MAX_ITEMS:
                raise self.fail(Text("filters.more_than_values_one", MAX_ITEMS=MAX_ITEMS))
        if not self.punct(")"):
            raise self.fail(Text("filters.expected_list_found", self_=self.describe(self.tok)))
        self.i += 1
        return tuple(items)

    def checked(self, cond: Condition, start: Token) -> Condition:
        try:
            check(cond)
        except SpecError as exc:
            raise self.fail(exc.text.params["problem"], start) from None
        return cond


def check(cond: Condition) -> None:
    """Rules a condition must follow whatever way it was built (text or JSON)."""
    f = cond.field
    if f.scope == "segment":
        if cond.op not in ("=", "!=", "in", "not in"):
            raise SpecError(key="filters.prefixed", problem=Text("filters.filter_segment_takes", op=cond.op))
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        if any(v.kind != "string" for v in values):
            raise SpecError(key="filters.prefixed", problem=Text("filters.filter_segment_compared_with"))
    if cond.op == "matches":
        pattern = cond.value.value
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SpecError(key="filters.prefixed", problem=Text("filters.filter_matches_regular_expression", pattern=pattern, exc=exc)) from None
        if _UNPORTABLE_REGEX.search(pattern):
            raise SpecError(key="filters.prefixed", problem=Text("filters.filter_matches_uses_look", pattern=pattern))
    if cond.op in ("<", "<=", ">", ">=") and cond.value.kind == "bool":
        raise SpecError(key="filters.prefixed", problem=Text("filters.filter_cannot_compare_with", op=cond.op))


def parse(text: str) -> Node:
    """Parse a filter expression into a tree; a malformed one raises :class:`SpecError` with a caret."""
    return _Parser(text).parse()


def parse_all(filters) -> Node | None:
    """Several filters (texts or trees or JSON dicts) that must all hold, as one tree (None when empty)."""
    if filters is None:
        return None
    if isinstance(filters, (str, dict)) or isinstance(filters, (Condition, And, Or, Not)):
        filters = [filters]
    nodes = [coerce(f) for f in filters]
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def coerce(f) -> Node:
    if isinstance(f, (Condition, And, Or, Not)):
        return f
    if isinstance(f, str):
        return parse(f)
    if isinstance(f, dict):
        return from_json(f)
    raise SpecError(key="filters.filter_expected_text_json", __name__=type(f).__name__)


# -- JSON ------------------------------------------------------------------------------------------------
def _value_json(v: Value) -> dict:
    return {"type": v.kind, "value": v.value}


def to_json(node: Node) -> dict:
    """A JSON-serialisable dict: ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": ...}`` or a condition
    ``{"field": {"scope": "event", "name": "city"}, "op": "=", "value": {"type": "string", "value": "上海"}}``.
    Deep trees are walked without recursion limits (the parser bounds their depth anyway)."""
    if isinstance(node, Condition):
        out = {"field": {"scope": node.field.scope, **({"name": node.field.name} if node.field.name is not None else {})},
               "op": node.op}
        if isinstance(node.value, tuple):
            out["value"] = [_value_json(v) for v in node.value]
        elif node.value is not None:
            out["value"] = _value_json(node.value)
        return out
    if isinstance(node, And):
        return {"and": [to_json(x) for x in node.items]}
    if isinstance(node, Or):
        return {"or": [to_json(x) for x in node.items]}
    if isinstance(node, Not):
        return {"not": to_json(node.item)}
    raise SpecError(key="filters.filter_filter_node", node=node)


_KINDS = {"number": (int, float), "string": (str,), "date": (str,), "relative_date": (int,), "bool": (bool,)}


def _value_from(d, where: str) -> Value:
    if not isinstance(d, dict) or set(d) != {"type", "value"}:
        raise SpecError(key="filters.filter_json_value", where=where)
    kind, v = d["type"], d["value"]
    types = _KINDS.get(kind)
    if types is None:
        raise SpecError(key="filters.filter_json_value_type", where=where, kind=kind, _KINDS=', '.join(_KINDS))
    if not isinstance(v, types) or (kind != "bool" and isinstance(v, bool)):
        raise SpecError(key="filters.filter_json_value_has", where=where, kind=kind, v=v)
    if kind == "number" and (v != v or v in (float("inf"), float("-inf"))):
        raise SpecError(key="filters.filter_json_finite_number", where=where, v=v)
    if kind == "date":
        try:
            v = _dt.date.fromisoformat(v).isoformat()
        except ValueError:
            raise SpecError(key="filters.filter_json_date_yyyy", where=where, v=v) from None
    return Value(kind, v)


def from_json(data, _depth: int = 0) -> Node:
    """The inverse of :func:`to_json`, validating as strictly as the parser."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SpecError(key="filters.filter_json_valid_json", msg=exc.msg) from None
    if _depth > MAX_DEPTH:
        raise SpecError(key="filters.filter_json_nested_more", MAX_DEPTH=MAX_DEPTH)
    if not isinstance(data, dict):
        raise SpecError(key="filters.filter_json_expected_object")
    for key, cls in (("and", And), ("or", Or)):
        if key in data:
            items = data[key]
            if set(data) != {key} or not isinstance(items, list) or len(items) < 2 or len(items) > MAX_ITEMS:
                raise SpecError(key="filters.filter_json_needs_list", key_=key)
            return cls(tuple(from_json(x, _depth + 1) for x in items))
    if "not" in data:
        if set(data) != {"not"}:
            raise SpecError(key="filters.filter_json_takes_nothing")
        return Not(from_json(data["not"], _depth + 1))
    return _condition_from(data)


def _condition_from(data: dict) -> Condition:
    if not {"field", "op"} <= set(data) or set(data) - {"field", "op", "value"}:
        raise SpecError(key="filters.filter_json_condition")
    f, op = data["field"], data["op"]
    if not isinstance(f, dict) or f.get("scope") not in (*SCOPES, "segment") or set(f) - {"scope", "name"}:
        raise SpecError(key="filters.filter_json_field")
    name = f.get("name")
    if (f["scope"] == "segment") != (name is None) or (name is not None and (not isinstance(name, str) or not name)):
        raise SpecError(key="filters.filter_json_event_user")
    if op not in OPERATORS:
        raise SpecError(key="filters.filter_json_op_expected", op=op, OPERATORS=', '.join(OPERATORS))
    raw = data.get("value")
    if op in ("is set", "is not set"):
        if raw is not None:
            raise SpecError(key="filters.filter_json_takes_no", op=op)
        value = None
    elif op in ("in", "not in"):
        if not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS:
            raise SpecError(key="filters.filter_json_takes_non", op=op)
        value = tuple(_value_from(v, op) for v in raw)
    else:
        value = _value_from(raw, op)
        if op in ("contains", "matches") and value.kind != "string":
            raise SpecError(key="filters.filter_json_takes_string", op=op)
    cond = Condition(Field(f["scope"], name), op, value)
    check(cond)
    return cond


# -- canonical text --------------------------------------------------------------------------------------
def quote(s: str) -> str:
    """A single-quoted string literal that :func:`parse` reads back as ``s``."""
    out = s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    out = out.replace("\0", "\\0")
    return "'" + out + "'"


def field_text(f: Field) -> str:
    """``event.city``, ``event.'a.b'`` (quoted when the name needs it) or ``segment``."""
    if f.name is None:
        return f.scope
    simple = NAME.fullmatch(f.name) and f.name.lower() not in KEYWORDS
    return f"{f.scope}.{f.name if simple else quote(f.name)}"


def value_text(v: Value) -> str:
    if v.kind == "string":
        return quote(v.value)
    if v.kind == "bool":
        return "true" if v.value else "false"
    if v.kind == "relative_date":
        days = -v.value
        return f"-{days // 7}w" if days and days % 7 == 0 else f"-{days}d"
    if v.kind == "number":
        return repr(v.value)
    return str(v.value)


def to_text(node: Node) -> str:
    """Canonical text: ``parse(to_text(t)) == t`` for every tree."""
    if isinstance(node, Condition):
        f = field_text(node.field)
        if node.value is None:
            return f"{f} {node.op}"
        if isinstance(node.value, tuple):
            return f"{f} {node.op} (" + ", ".join(value_text(v) for v in node.value) + ")"
        return f"{f} {node.op} {value_text(node.value)}"
    if isinstance(node, And):
        return " and ".join(f"({to_text(x)})" if isinstance(x, (And, Or)) else to_text(x) for x in node.items)
    if isinstance(node, Or):
        return " or ".join(f"({to_text(x)})" if isinstance(x, Or) else to_text(x) for x in node.items)
    if isinstance(node, Not):
        inner = node.item
        return "not " + (f"({to_text(inner)})" if isinstance(inner, (And, Or)) else to_text(inner))
    raise SpecError(key="filters.filter_filter_node", node=node)


def fields(node: Node) -> list[Field]:
    """Every field the tree mentions, in order of first mention."""
    out: dict[Field, None] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Condition):
            out.setdefault(n.field)
        elif isinstance(n, (And, Or)):
            stack.extend(reversed(n.items))
        elif isinstance(n, Not):
            stack.append(n.item)
    return list(out)
