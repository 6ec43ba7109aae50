"""Profile properties through capture (docs/users.md#user-profiles): PostHog `$set` / `$set_once` on any event
and on `$identify`, Segment `identify` traits; merged through identity resolution; bad values rejected per event."""
from __future__ import annotations

import json

from test_capture_api import post, query, uid


def profile(api, user):
    rows = query(api, "alpha", "SELECT city, properties FROM users WHERE user_id = ?", (user,))
    if not rows:
        return None
    city, props = rows[0]
    out = json.loads(props) if props else {}
    if city is not None:
        out["city"] = city
    return out


def test_posthog_set_and_set_once_and_identify(api):
    ts = "2026-04-01T00:00:00Z"
    assert post(api, "/batch/", {"batch": [
        {"event": "view", "distinct_id": "pa-anon", "timestamp": ts, "uuid": uid(),
         "properties": {"$set": {"city": "上海", "plan": "free"}, "$set_once": {"first_ref": "kol"}}},
        {"event": "view", "distinct_id": "pa-anon", "timestamp": "2026-04-01T00:00:01Z", "uuid": uid(),
         "properties": {"$set_once": {"first_ref": "later", "plan": "ignored"}}},
        {"event": "$identify", "distinct_id": "pa-user", "timestamp": "2026-04-01T00:00:02Z",
         "properties": {"$anon_distinct_id": "pa-anon"}, "$set": {"plan": "pro", "n": 3}},
    ]}).status_code == 200
    # The user's own values win over the merged anonymous id's; the rest fill in.
    assert profile(api, "pa-user") == {"city": "上海", "plan": "pro", "n": 3, "first_ref": "kol"}
    assert profile(api, "pa-anon") is None
    # A later $set through the anonymous id goes to the user.
    assert post(api, "/capture/", {"event": "x", "distinct_id": "pa-anon", "timestamp": "2026-04-02T00:00:00Z",
                                   "properties": {"$set": {"city": "北京"}}}).status_code == 200
    assert profile(api, "pa-user")["city"] == "北京"


def test_segment_identify_traits(api):
    assert post(api, "/v1/batch", {"batch": [
        {"type": "identify", "anonymousId": "sg-anon", "userId": "sg-user", "timestamp": "2026-04-01T00:00:00Z",
         "traits": {"city": "广州", "email": "a@b.c", "note": "x'; DROP TABLE users; --"}},
    ]}).status_code == 200
    assert profile(api, "sg-user") == {"city": "广州", "note": "x'; DROP TABLE users; --"}  # email: its own column
    assert query(api, "alpha", "SELECT email FROM users WHERE user_id = 'sg-user'") == [("a@b.c",)]


def test_a_bad_set_rejects_only_its_event(api):
    resp = post(api, "/batch/", {"batch": [
        {"event": "view", "distinct_id": "bad-set", "uuid": uid(), "properties": {"$set": "not an object"}},
        {"event": "view", "distinct_id": "bad-set", "uuid": uid(), "properties": {"$set": {"ok": 1}}},
    ]})
    assert resp.status_code == 400, resp.text  # partial acceptance: the others are stored
    body = resp.json()
    assert body["details"]["accepted"] == 1
    assert "properties.$set: expected a JSON object" in json.dumps(body, ensure_ascii=False)
    assert profile(api, "bad-set") == {"ok": 1}
