"""The filter language's parser: trees, canonical text, JSON, errors with a caret, bounded size."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yunying.errors import SpecError
from yunying.model import filters as F
from yunying.model.filters import And, Condition, Field, Not, Or, Value


def cond(name, op, value=None, scope="event"):
    return Condition(Field(scope, name), op, value)


S = lambda v: Value("string", v)  # noqa: E731
N = lambda v: Value("number", v)  # noqa: E731


def test_precedence_and_parentheses():
    a, b, c = cond("a", "=", N(1)), cond("b", "=", N(2)), cond("c", "=", N(3))
    assert F.parse("event.a = 1 or event.b = 2 and event.c = 3") == Or((a, And((b, c))))
    assert F.parse("(event.a = 1 or event.b = 2) and event.c = 3") == And((Or((a, b)), c))
    assert F.parse("not event.a = 1 and event.b = 2") == And((Not(a), b))
    assert F.parse("NOT (event.a = 1 AND event.b = 2)") == Not(And((a, b)))


def test_every_operator_and_literal():
    t = F.parse("event.city = '上海' and user.plan != \"pro\" and event.n < -1.5 and event.n <= 2 and event.n > 1e3 "
                "and event.n >= 0 and event.c in ('a', \"b\", 3) and event.c not in (true, false) "
                "and event.t contains '%_' and event.t matches '^a+$' and user.x is set and event.y is not set "
                "and event.ts >= 2024-02-29 and event.ts < -30d and event.ts > -2w and segment in ('vip', '沉睡')")
    ops = [c.op for c in t.items]
    assert ops == ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "matches", "is set", "is not set",
                   ">=", "<", ">", "in"]
    assert t.items[0].value == S("上海") and t.items[1].field == Field("user", "plan")
    assert t.items[2].value == N(-1.5) and t.items[4].value == Value("number", 1000.0)
    assert t.items[6].value == (S("a"), S("b"), N(3))
    assert t.items[7].value == (Value("bool", True), Value("bool", False))
    assert t.items[12].value == Value("date", "2024-02-29")
    assert t.items[13].value == Value("relative_date", -30) and t.items[14].value == Value("relative_date", -14)
    assert t.items[15].field == Field("segment")


def test_strings_quotes_escapes_and_odd_names():
    t = F.parse(r"""event."it's; DROP TABLE events" = "say \"hi\"" and event.'a.b' = 'O\'Brien \\ \u4e0a\n'""")
    assert t.items[0] == cond("it's; DROP TABLE events", "=", S('say "hi"'))
    assert t.items[1] == cond("a.b", "=", S("O'Brien \\ 上\n"))
    assert F.parse("event.x = \"it's\"").value == S("it's")
    assert F.parse("event.x = '他说\"好\"'").value == S('他说"好"')
    assert F.parse("event.城市 = '北京'").field == Field("event", "城市")
    assert F.parse("event.$browser = 'Chrome'").field == Field("event", "$browser")
    assert F.parse("event.and = 1").field == Field("event", "and")  # after "event." a keyword is a name


@pytest.mark.parametrize("text, column, fragment", [
    ("event.city = ", 14, "expected a value"),
    ("event.city = 'x' and", 21, "expected a field"),
    ("city = 'x'", 1, "unknown field 'city'"),
    ("event.a = 'x", 11, "string not closed"),
    ("event.a = 5 5", 13, "expected and, or"),
    ("(event.a = 1", 13, "expected )"),
    ("event.a in ()", 13, "expected a value"),
    ("event.a in 1", 12, "expected ("),
    ("event.a = bare", 11, "quote text"),
    ("event.a = 2024-13-01", 11, "not a date"),
    ("user.x is nothing", 11, "expected set"),
    ("event.a ~ 1", 9, "unexpected character"),
    ("event.a not like 'x'", 13, "expected in after not"),
    ("event.a contains 5", 18, "quoted string"),
    ("event.a matches '('", 1, "not a regular expression"),
    ("event.a matches '(?<=x)y'", 1, "look-around"),
    ("event.a > true", 1, "true/false"),
    ("segment > 'x'", 1, "segment takes"),
    ("segment = 3", 1, "segment names"),
    ("event.a = 'x\\q'", 13, "unknown escape"),
    ("", 1, "empty filter"),
    ("event.a = 1 and\n event.b = ", 12, "expected a value"),
])
def test_errors_point_at_the_column(text, column, fragment):
    with pytest.raises(SpecError) as e:
        F.parse(text)
    msg = e.value.message
    assert fragment in msg
    assert e.value.details["column"] == column
    lines = msg.split("\n")
    # the caret sits under the reported column of the shown line
    assert lines[2].index("^") - 2 == column - 1
    assert lines[1][2:] == text.split("\n")[text[:e.value.details["position"]].count("\n")]


def test_long_line_error_shows_a_window_with_the_caret():
    text = " and ".join(f"event.a{i} = {i}" for i in range(60)) + " and event.b = ?"
    with pytest.raises(SpecError) as e:
        F.parse(text)
    shown, caret = e.value.message.split("\n")[1:]
    assert shown[caret.index("^")] == "?"
    assert len(shown) < 120


def test_size_and_depth_are_bounded_without_recursion_errors():
    with pytest.raises(SpecError, match="at most"):
        F.parse("event.a = 1 or " * 5000 + "event.a = 1")
    with pytest.raises(SpecError, match="nested more than"):
        F.parse("(" * 5000 + "event.a = 1" + ")" * 5000)
    with pytest.raises(SpecError, match="nested more than"):
        F.parse("not " * 3000 + "event.a = 1")
    with pytest.raises(SpecError, match="nested more than"):
        F.from_json(json.loads('{"not": ' * 200 + '{"field": {"scope": "event", "name": "a"}, "op": "is set"}' + "}" * 200))
    wide = F.parse(" or ".join(f"event.a = {i}" for i in range(1000)))
    assert len(wide.items) == 1000
    assert F.parse(F.to_text(wide)) == wide


@pytest.mark.parametrize("bad", [
    {"field": {"scope": "event", "name": "a"}, "op": "==", "value": {"type": "number", "value": 1}},
    {"field": {"scope": "event"}, "op": "is set"},
    {"field": {"scope": "segment", "name": "x"}, "op": "=", "value": {"type": "string", "value": "a"}},
    {"field": {"scope": "event", "name": "a"}, "op": "=", "value": {"type": "number", "value": "1"}},
    {"field": {"scope": "event", "name": "a"}, "op": "=", "value": {"type": "number", "value": True}},
    {"field": {"scope": "event", "name": "a"}, "op": "=", "value": {"type": "date", "value": "2024-02-30"}},
    {"field": {"scope": "event", "name": "a"}, "op": "in", "value": []},
    {"field": {"scope": "event", "name": "a"}, "op": "is set", "value": {"type": "number", "value": 1}},
    {"field": {"scope": "event", "name": "a"}, "op": "contains", "value": {"type": "number", "value": 1}},
    {"and": [{"field": {"scope": "event", "name": "a"}, "op": "is set"}]},
    {"or": [], "not": {}},
    {"sql": "1=1"},
    [],
])
def test_json_is_validated_as_strictly_as_text(bad):
    with pytest.raises(SpecError):
        F.from_json(bad)


# -- round trips on random trees ----------------------------------------------------------------------
names = st.one_of(st.sampled_from(["city", "revenue", "$browser", "城市", "and", "a.b", "it's", "x`y;", "$.k[0]", "-x"]),
                  st.text(min_size=1, max_size=6))
texts = st.text(max_size=8)
values = st.one_of(
    texts.map(S),
    st.integers(-10**12, 10**12).map(N),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(N),
    st.dates().map(lambda d: Value("date", d.isoformat())).filter(lambda v: v.value[0] != "0"),
    st.integers(-5000, 0).map(lambda d: Value("relative_date", d)),
    st.booleans().map(lambda b: Value("bool", b)),
)


@st.composite
def conditions(draw):
    scope = draw(st.sampled_from(["event", "user", "segment"]))
    if scope == "segment":
        op = draw(st.sampled_from(["=", "!=", "in", "not in"]))
        v = draw(st.lists(texts.map(S), min_size=1, max_size=3)) if "in" in op else draw(texts.map(S))
        return Condition(Field("segment"), op, tuple(v) if isinstance(v, list) else v)
    name = draw(names)
    op = draw(st.sampled_from(F.OPERATORS))
    if op in ("is set", "is not set"):
        v = None
    elif op in ("in", "not in"):
        v = tuple(draw(st.lists(values, min_size=1, max_size=3)))
    elif op == "contains":
        v = draw(texts.map(S))
    elif op == "matches":
        v = S(draw(st.sampled_from(["^a", "b+$", "[0-9]{2}", "上海|北京", "a\\.b", ""])))
    else:
        v = draw(values.filter(lambda x: not (x.kind == "bool" and op in ("<", "<=", ">", ">="))))
    return Condition(Field(scope, name), op, v)


trees = st.recursive(conditions(), lambda kids: st.one_of(
    st.lists(kids, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
    st.lists(kids, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    kids.map(Not)), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_text_and_json_round_trip(tree):
    text = F.to_text(tree)
    assert F.parse(text) == tree
    data = json.loads(json.dumps(F.to_json(tree), ensure_ascii=False))
    assert F.from_json(data) == tree
    assert F.to_text(F.parse(text)) == text  # canonical: printing is a fixed point


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_garbage_is_a_spec_error_or_a_tree(text):
    try:
        tree = F.parse(text)
    except SpecError as exc:
        assert "column" in exc.details
    else:
        assert F.parse(F.to_text(tree)) == tree


def test_several_filters_all_hold():
    t = F.parse_all(["event.a = 1", {"field": {"scope": "user", "name": "b"}, "op": "is set"}])
    assert t == And((cond("a", "=", N(1)), cond("b", "is set", scope="user")))
    assert F.parse_all([]) is None and F.parse_all(None) is None
    assert F.fields(t) == [Field("event", "a"), Field("user", "b")]
