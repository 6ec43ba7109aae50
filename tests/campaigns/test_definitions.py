"""Campaign definitions (campaigns/NAME.toml): validation with errors naming file and field, round trip, and
the per-user holdout assignment (seeded, recorded once, idempotent, transactional)."""
from __future__ import annotations


import numpy as np
import pytest

from yunying.errors import SpecError, YunyingError
from yunying.storage import campaigns as store

BASE = {"name": "spring", "start": "2026-03-01", "end": "2026-03-07",
        "goals": [{"metric": "purchases", "target": 100}]}


def test_round_trip(tmp_path):
    camp = store.parse({**BASE, "holdout": {"share": 0.1, "seed": 3}, "audience": {"event": "signup",
                        "property": "platform", "value": "ios"},
                        "budget": [{"kind": "coupons", "amount": 50, "property": "coupon"},
                                   {"kind": "fees", "amount": 10.5, "label": "設計 \"A\""}],
                        "tasks": [{"name": "a", "start": "2026-02-01", "end": "2026-02-03"},
                                  {"name": "b", "start": "2026-02-04", "end": "2026-02-05", "depends_on": ["a"]}]},
                       "x")
    p = store.save(tmp_path, camp)
    assert p == tmp_path / "campaigns" / "spring.toml"
    assert store.load(tmp_path, "spring") == camp
    with pytest.raises(SpecError, match="exists already"):
        store.save(tmp_path, camp)
    assert [c.name for c in store.all_(tmp_path)] == ["spring"]


@pytest.mark.parametrize("change, message", [
    ({"goals": [{"metric": "purchase", "target": 1}]}, r"goals\[0\]\.metric: .*'purchases'.*\(got 'purchase'\)"),
    ({"goals": [{"metric": "revenue", "target": 0}]}, r"goals\[0\]\.target: .*greater than 0"),
    ({"end": "2026-02-01"}, "end 2026-02-01 is before start 2026-03-01"),
    ({"holdout": {"share": 1.5}}, r"holdout\.share"),
    ({"audience": {"segment": "a", "all_users": True}}, "exactly one of segment, event or all_users"),
    ({"budget": [{"kind": "coupons", "amount": 5}]}, "coupons line needs property"),
    ({"tasks": [{"name": "a", "start": "2026-02-01", "end": "2026-02-02", "depends_on": ["z"]}]},
     "depends on 'z', which is not a task"),
    ({"colour": "red"}, "colour: Extra inputs"),
])
def test_errors_name_file_and_field(tmp_path, change, message):
    f = tmp_path / "campaigns" / "spring.toml"
    f.parent.mkdir()
    data = {**BASE, **change}
    body = store._toml(data).replace('"2026-', "2026-").replace('-01"', "-01").replace('-07"', "-07") \
        .replace('-02"', "-02").replace('-03"', "-03")
    f.write_text(body, encoding="utf-8")
    with pytest.raises(YunyingError, match=message) as exc:
        store.load(tmp_path, "spring")
    assert str(f) in str(exc.value)


def test_bad_toml_and_name_mismatch(tmp_path):
    d = tmp_path / "campaigns"
    d.mkdir()
    (d / "a.toml").write_text("name = \n", encoding="utf-8")
    with pytest.raises(YunyingError, match=r"a\.toml: not valid TOML"):
        store.load(tmp_path, "a")
    (d / "b.toml").write_text(store.parse(BASE, "x").to_toml(), encoding="utf-8")
    with pytest.raises(YunyingError, match="differs from the file name 'b'"):
        store.load(tmp_path, "b")
    with pytest.raises(YunyingError, match="no campaign 'zz'"):
        store.load(tmp_path, "zz")


def test_holdout_draws_uniform_and_seeded():
    ids = [f"u{i}" for i in range(20000)]
    a = store.holdout_draws("c", 1, ids)
    assert np.array_equal(a, store.holdout_draws("c", 1, ids))
    assert not np.array_equal(a, store.holdout_draws("c", 2, ids))
    # uniform: each decile holds 10 % (binomial sd 0.2 pp)
    counts = np.histogram(a, bins=10, range=(0, 1))[0] / a.size
    assert np.all(np.abs(counts - 0.1) < 0.01)


def test_assignment_recorded_once(ws):
    camp = store.parse({**BASE, "holdout": {"share": 0.3, "seed": 9}}, "x")
    first = store.assign(ws, camp, [f"u{i}" for i in range(1000)])
    assert first["added"] == 1000 and first["holdout"] + first["target"] == 1000
    assert abs(first["holdout"] - 300) < 4 * (1000 * 0.3 * 0.7) ** 0.5
    again = store.assign(ws, camp, [f"u{i}" for i in range(1200)])
    assert again["added"] == 200
    rows = dict(ws.con.execute("SELECT user_id, grp FROM campaign_assignments WHERE user_id < 'u2'").fetchall())
    draws = store.holdout_draws("spring", 9, list(rows))
    assert [g == "holdout" for g in rows.values()] == list(draws < 0.3)
    assert store.assign(ws, camp, [f"u{i}" for i in range(1200)])["added"] == 0   # idempotent
    with pytest.raises(SpecError, match="has no holdout"):
        store.assign(ws, store.parse(BASE, "x"), ["u1"])


def test_docs_example_is_a_valid_definition():
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "campaigns.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    camp = store.parse(tomllib.loads(block), "docs/campaigns.md")
    assert camp.name == "summer_sale" and camp.holdout.share == 0.2 and camp.audience.all_users
    assert [b.kind for b in camp.budget] == ["coupons", "media", "fees"]
