"""Every filter operator against an independent pandas implementation of the documented definition
(docs/users.md#filter-language), on random events with nasty cases, on DuckDB and on Spark."""
from __future__ import annotations

import datetime as dt
import json
import random
import re
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from users_helpers import make_ws

from yunying.analyses import filtering
from yunying.errors import SpecError
from yunying.model import filters as F

TZ = "Asia/Shanghai"
TODAY = dt.date(2024, 1, 8)
EVIL = "'; DROP TABLE events; --"
ODD_KEYS = ["a.b", "it's", "x`y;", "$.k", "select", "名 字"]
POOLS = {
    "city": ["上海", "北京", "shanghai", "Shang'hai", "广州 ", "", None, "上海市"],
    "price": [12.5, 3, -7, "12.5", " 8 ", "1e3", "abc", "", None, True, "3"],
    "flag": [True, False, "true", None],
    "day": ["2024-01-05T10:00:00+08:00", "2024-01-06", "2024-1-6", 20240105, "2024-01-05"],
    "note": ["100%", "a_b", EVIL, "x'y\"z", "订单 42", "ab", "`rm -rf`", "$.note"],
    "$browser": ["Chrome", "Safari", None],
    "utm-term": ["春节", "a-b"],
}


def random_rows(seed: int = 7, n: int = 400) -> list[dict]:
    rng = random.Random(seed)
    t0 = dt.datetime(2024, 1, 1)
    rows = []
    for i in range(n):
        props = {}
        for key, pool in POOLS.items():
            if rng.random() < 0.8:  # sometimes absent altogether
                props[key] = rng.choice(pool)  # None here is a JSON null
        for key in ODD_KEYS:
            if rng.random() < 0.5:
                props[key] = rng.choice(["v", EVIL, "it's", "1", "上"])
        rows.append({
            "user_id": f"u{rng.randrange(30)}", "event": rng.choice(["view", "purchase", "signup"]),
            "ts": t0 + dt.timedelta(seconds=rng.randrange(10 * 86400)), "event_uuid": f"e{i}",
            "channel": rng.choice(["ads", "kol", None, "k%l", "广告", "k_l"]),
            "revenue": rng.choice([None, 0, 9.99, 100, -5]),
            "props": props if props else None,
        })
    return rows


# -- the reference: the documented definition, row by row -----------------------------------------------
NUM = re.compile(r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")
TYPED = {"user_id", "event", "ts", "event_uuid", "channel", "revenue"}


def raw(row: dict, name: str):
    if name in TYPED:
        return row[name]
    v = (row["props"] or {}).get(name)
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else json.dumps(v)


def as_number(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return float(v) if NUM.match(v) else None


def as_date(v, name):
    if v is None:
        return None
    if name == "ts":
        return v.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(TZ)).date()
    if isinstance(v, str) and re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}", v):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def compare(row, name, op, value: F.Value) -> bool:
    v = raw(row, name)
    if value.kind == "number":
        left, right = as_number(v), float(value.value)
    elif value.kind in ("date", "relative_date"):
        left = as_date(v, name)
        right = dt.date.fromisoformat(value.value) if value.kind == "date" else TODAY + dt.timedelta(days=value.value)
    elif value.kind == "bool":
        left, right = v, "true" if value.value else "false"
    else:
        left, right = v, value.value
    if left is None:
        return False
    return {"=": left == right, "<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def holds(row: dict, node) -> bool:
    if isinstance(node, F.And):
        return all(holds(row, x) for x in node.items)
    if isinstance(node, F.Or):
        return any(holds(row, x) for x in node.items)
    if isinstance(node, F.Not):
        return not holds(row, node.item)
    name, op = node.field.name, node.op
    if op in ("is set", "is not set"):
        return (raw(row, name) is not None) == (op == "is set")
    if op in ("!=", "not in"):
        return not holds(row, F.Condition(node.field, {"!=": "=", "not in": "in"}[op], node.value))
    if op == "in":
        return any(compare(row, name, "=", v) for v in node.value)
    if op in ("contains", "matches"):
        v = raw(row, name)
        if v is None:
            return False
        return node.value.value in v if op == "contains" else re.search(node.value.value, v, re.ASCII) is not None
    return compare(row, name, op, node.value)


def reference(rows, text) -> list[str]:
    tree = F.parse(text)
    df = pd.DataFrame({"row": rows, "uuid": [r["event_uuid"] for r in rows]})
    return sorted(df[df["row"].map(lambda r: holds(r, tree))]["uuid"])


# -- the expressions ---------------------------------------------------------------------------------------
ATOMS = [
    "event.city = '上海'", "event.city != '上海'", "event.city in ('上海', '北京', \"Shang'hai\")",
    "event.city not in ('上海', '')", "event.city contains '海'", "event.city matches '^Sh'",
    "event.city is set", "event.city is not set", "event.city < 'c'", "event.city >= '上'", "event.city = ''",
    "event.price = 12.5", "event.price > 5", "event.price <= 8", "event.price >= -7", "event.price != 3",
    "event.price in (3, 12.5)", "event.price < 1000", "event.price = '12.5'", "event.price = 1e3",
    "event.price = '3'", "event.price contains '.'", "event.price is set",
    "event.flag = true", "event.flag != false", "event.flag = 'true'",
    "event.day = 2024-01-05", "event.day >= 2024-01-06", "event.day < -2d",
    "event.ts >= 2024-01-05", "event.ts < 2024-01-03", "event.ts = 2024-01-04", "event.ts >= -3d",
    "event.ts > -1w",
    "event.channel = 'ads'", "event.channel contains '%'", "event.channel contains '_'",
    "event.channel matches 'k.l'", "event.channel is not set", "event.channel in ('kol', '广告')",
    "event.channel != 'kol'",
    "event.revenue > 0", "event.revenue = 9.99", "event.revenue is set", "event.revenue != 100",
    "event.revenue < 0", "event.revenue in (0, 100)",
    "event.note contains '%'", "event.note contains \"_\"", f"event.note = {F.quote(EVIL)}",
    "event.note matches '[0-9]+'", "event.note contains '\\''", "event.note contains '\"'",
    "event.note = '$.note'", "event.note matches '^`'",
    "event.'a.b' is set", "event.\"it's\" = \"it's\"", f"event.'x`y;' = {F.quote(EVIL)}", "event.'$.k' = 'v'",
    "event.select = '1'", "event.'名 字' in ('上', 'v')", "event.'名 字' is not set",
    "event.user_id in ('u1', 'u2', 'u3')", "event.event = 'purchase'",
    "event.$browser = 'Chrome'", "event.$browser is not set", "event.utm-term = '春节'", "EVENT.city = '上海' OR NOT event.city IS SET",
]
COMBOS = [
    "event.city = '上海' and event.price > 5",
    "event.city = '上海' or not (event.price > 5 and event.channel = 'ads')",
    "not event.city is set or event.revenue >= 9.99 and event.ts < 2024-01-06",
    "(event.flag = true or event.flag = 'true') and not event.note contains '%'",
]


def random_combos(seed=3, n=25):
    rng = random.Random(seed)

    def tree(depth):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(ATOMS)
        op = rng.choice(["and", "or", "not"])
        if op == "not":
            return f"not ({tree(depth - 1)})"
        return f"({tree(depth - 1)}) {op} ({tree(depth - 1)})"

    return [tree(3) for _ in range(n)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rows = random_rows()
    ws = make_ws(rows, tz=TZ, directory=tmp_path_factory.mktemp("filters"))
    yield rows, ws
    ws.close()


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request, data):
    _, ws = data
    if request.param == "duckdb":
        from yunying.engines.duckdb import DuckDBEngine

        return DuckDBEngine(ws)
    from yunying.engines.spark import SparkEngine

    return SparkEngine(ws)


def engine_ids(engine, texts) -> list[list[str]]:
    """Matching event ids per expression, in one query (a column per expression)."""
    t = engine.events()
    cols = {f"c{i}": filtering.predicate(engine, text, today=TODAY)(t) for i, text in enumerate(texts)}
    df = engine.execute(t.select("event_uuid", **cols)).to_pandas()
    return [sorted(df.loc[df[f"c{i}"].astype(bool), "event_uuid"]) for i in range(len(texts))]


def test_reference_data_is_nasty_enough(data):
    rows, _ = data
    for text in ATOMS + COMBOS:  # every expression separates the events (neither none nor all)
        n = len(reference(rows, text))
        assert 0 < n < len(rows), text


def test_every_operator_matches_the_reference(data, engine):
    rows, _ = data
    texts = ATOMS + COMBOS + random_combos()
    got = engine_ids(engine, texts)
    for text, ids in zip(texts, got):
        assert ids == reference(rows, text), text


def test_filtering_a_table_keeps_exactly_the_matching_events(data, engine):
    rows, _ = data
    text = "event.city = '上海' or event.'x`y;' = " + F.quote(EVIL)
    t = filtering.apply(engine, engine.events(), [text, "event.price is set"], today=TODAY)
    got = sorted(engine.execute(t.select("event_uuid"))["event_uuid"].to_pylist())
    assert got == reference(rows, f"({text}) and event.price is set")
    # the evil value was data: the events are all still there
    assert engine.scalar(engine.events().count()) == len(rows)


def test_unknown_property_suggests_a_spelling(data, engine):
    with pytest.raises(SpecError, match=r"did you mean event\.city"):
        filtering.predicate(engine, "event.ctiy = '上海'")
    with pytest.raises(SpecError, match=r"did you mean event\.'it\\'s'"):
        filtering.predicate(engine, "event.\"its\" = 'x'")


def test_type_mismatches_are_errors(data, engine):
    for text, fragment in [("event.revenue = 'x'", "compare it with a number"),
                           ("event.ts contains '1'", "compare it with a date"),
                           ("event.revenue > 2024-01-01", "cannot be compared with a date"),
                           ("event.ts = 5", "cannot be compared with a number")]:
        with pytest.raises(SpecError, match=fragment):
            filtering.predicate(engine, text)(engine.events())
