"""The capture rules, event by event: PostHog and Segment messages → rows, merges, or a named error."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yunying.config import WorkspaceConfig
from yunying.server.errors import InvalidPayload, PayloadTooLarge
from yunying.server.normalize import COLUMNS, Normalizer, now_us
from yunying.server.settings import ServerSettings

NOW = int(dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)


def norm(**config) -> Normalizer:
    return Normalizer(WorkspaceConfig(**config), ServerSettings(max_batch_events=100, max_event_bytes=2000))


def rows(batch) -> list[dict]:
    return [dict(zip(COLUMNS, values)) for values in zip(*batch.columns)]


def one(event: dict, **config) -> dict:
    batch = norm(**config).posthog(event, NOW)
    assert not batch.rejected, batch.rejected
    (row,) = rows(batch)
    return row


def us(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1_000_000)


def test_posthog_event_maps_typed_properties_like_imports():
    row = one({"event": "purchase", "distinct_id": "u1", "uuid": "e-1", "timestamp": "2026-05-01T08:00:00+08:00",
               "properties": {"$utm_source": "baidu", "utm_medium": "cpc", "amount": "1,299.50",
                              "group": "treatment", "plan": "pro", "note": None, "token": "x"}})
    assert row["event"] == "purchase" and row["distinct_id"] == "u1" and row["user_id"] is None
    assert row["event_uuid"] == "e-1"
    assert row["ts"] == us("2026-05-01T00:00:00+00:00")
    assert (row["utm_source"], row["utm_medium"], row["revenue"], row["variant"]) == ("baidu", "cpc", 1299.5,
                                                                                       "treatment")
    assert json.loads(row["properties"]) == {"plan": "pro"}  # typed, null and token are not kept


def test_exact_column_name_beats_an_alias_and_the_alias_stays_a_property():
    row = one({"event": "e", "distinct_id": "u", "properties": {"source": "from-alias", "utm_source": "exact"}})
    assert row["utm_source"] == "exact"
    assert json.loads(row["properties"]) == {"source": "from-alias"}


def test_workspace_column_mapping_applies_to_properties():
    row = one({"event": "e", "distinct_id": "u", "properties": {"pay_amount": 12}}, columns={"revenue": "pay_amount"})
    assert row["revenue"] == 12.0 and row["properties"] is None


@pytest.mark.parametrize("value, expected", [
    ("2026-05-01T10:00:00Z", "2026-05-01T10:00:00+00:00"),
    ("2026-05-01 10:00:00+08:00", "2026-05-01T02:00:00+00:00"),
    ("2026-05-01T10:00:00", "2026-05-01T02:00:00+00:00"),    # no offset: import_timezone (Asia/Shanghai)
    (1777629600, "2026-05-01T10:00:00+00:00"),               # epoch seconds
    (1777629600000, "2026-05-01T10:00:00+00:00"),            # epoch milliseconds
    ("1777629600", "2026-05-01T10:00:00+00:00"),
])
def test_timestamps(value, expected):
    row = one({"event": "e", "distinct_id": "u", "timestamp": value}, import_timezone="Asia/Shanghai")
    assert row["ts"] == us(expected)


def test_missing_timestamp_is_now_and_offset_counts_back():
    assert one({"event": "e", "distinct_id": "u"})["ts"] == NOW
    assert one({"event": "e", "distinct_id": "u", "offset": 1500})["ts"] == NOW - 1_500_000


@pytest.mark.parametrize("event, message", [
    ({"distinct_id": "u"}, "event: missing"),
    ({"event": "", "distinct_id": "u"}, "event: empty"),
    ({"event": 5, "distinct_id": "u"}, "event: expected a string, got a number"),
    ({"event": "x" * 201, "distinct_id": "u"}, "event: 201 characters"),
    ({"event": "e"}, "distinct_id: missing"),
    ({"event": "e", "distinct_id": {"a": 1}}, "distinct_id: expected a string, got an object"),
    ({"event": "e", "distinct_id": "u", "properties": [1]}, "properties: expected a JSON object, got a list"),
    ({"event": "e", "distinct_id": "u", "timestamp": "2026-06-03T12:00:00Z"}, "more than 24 hours ahead"),
    ({"event": "e", "distinct_id": "u", "timestamp": "1969-12-31T00:00:00Z"}, "outside the years 1970-2099"),
    ({"event": "e", "distinct_id": "u", "timestamp": "yesterday"}, "timestamp: expected an ISO 8601 timestamp"),
    ({"event": "e", "distinct_id": "u", "timestamp": True}, "timestamp: expected an ISO 8601"),
    ({"event": "e", "distinct_id": "u", "properties": {"revenue": "abc"}}, "properties.revenue: expected a number"),
    ({"event": "e", "distinct_id": "u", "properties": {"revenue": True}}, "properties.revenue: expected a number"),
    ({"event": "e", "distinct_id": "u", "uuid": ["x"]}, "uuid: expected a string"),
    ({"event": "e", "distinct_id": "u", "properties": {"blob": "x" * 3000}}, "the limit is 2,000 (max_event_bytes)"),
    ({"event": "e", "distinct_id": "u", "api_key": "other"}, "differs from the key of the request"),
])
def test_bad_events_are_rejected_with_the_field_named(event, message):
    batch = norm().posthog({"batch": [{"event": "ok", "distinct_id": "u"}, event]}, NOW, key="mine")
    assert batch.accepted == 1 and batch.events == 1
    (rejected,) = batch.rejected
    assert rejected["index"] == 1
    assert rejected["error"].startswith("batch[1]: ") and message in rejected["error"], rejected["error"]


@pytest.mark.parametrize("payload, message", [
    ("text", "expected a JSON object"),
    ({"batch": {"event": "e"}}, "batch: expected a list of events, got an object"),
    (7, "got a number"),
])
def test_unusable_posthog_payloads(payload, message):
    with pytest.raises(InvalidPayload, match=message):
        norm().posthog(payload, NOW)


def test_too_many_events_in_one_request():
    with pytest.raises(PayloadTooLarge, match="max_batch_events"):
        norm().posthog({"batch": [{"event": "e", "distinct_id": "u"}] * 101}, NOW)


def test_posthog_identity_events_become_merges_not_events():
    batch = norm().posthog({"batch": [
        {"event": "$identify", "distinct_id": "user-1", "properties": {"$anon_distinct_id": "anon-1"}},
        {"event": "$create_alias", "distinct_id": "anon-2", "properties": {"alias": "user-2"}},
        {"event": "$merge_dangerously", "distinct_id": "user-3", "properties": {"alias": "anon-3"}},
        {"event": "$identify", "distinct_id": "user-4"},  # nothing to merge: accepted, no effect
    ]}, NOW)
    assert batch.events == 0 and not batch.rejected
    assert batch.merges == [("anon-1", "user-1"), ("anon-2", "user-2"), ("anon-3", "user-3")]


def test_segment_messages():
    n = norm()
    batch = n.segment({"batch": [
        {"type": "track", "event": "signup", "userId": "u1", "anonymousId": "a1", "messageId": "m1",
         "timestamp": "2026-05-01T00:00:00Z", "properties": {"plan": "pro"},
         "context": {"campaign": {"source": "wechat", "medium": "article", "name": "spring"}}},
        {"type": "page", "anonymousId": "a2", "name": "Home", "properties": {"url": "/"}},
        {"type": "identify", "userId": "u3", "anonymousId": "a3", "traits": {"email": "x"}},
        {"type": "alias", "previousId": "a4", "userId": "u4"},
        {"type": "group", "userId": "u5", "groupId": "g1", "traits": {"name": "Acme"}},
        {"type": "screen", "userId": "u6", "name": "Feed"},
        {"type": "track", "event": "no-id"},
        {"type": "fax", "userId": "u"},
    ]}, None, NOW)
    got = rows(batch)
    assert [r["event"] for r in got] == ["signup", "$pageview", "$groupidentify", "$screen"]
    signup = got[0]
    assert (signup["user_id"], signup["distinct_id"], signup["event_uuid"]) == ("u1", "a1", "m1")
    assert (signup["utm_source"], signup["utm_medium"], signup["utm_campaign"]) == ("wechat", "article", "spring")
    assert json.loads(got[1]["properties"]) == {"url": "/", "name": "Home"}
    assert got[1]["user_id"] is None and got[1]["distinct_id"] == "a2"
    assert batch.merges == [("a3", "u3"), ("a4", "u4")]
    assert [r["index"] for r in batch.rejected] == [6, 7]
    assert "userId/anonymousId: missing" in batch.rejected[0]["error"]
    assert "type: expected one of track" in batch.rejected[1]["error"]


def test_segment_single_message_endpoint_and_batch_context():
    n = norm()
    single = n.segment({"event": "open", "userId": "u"}, "track", NOW)
    assert single.events == 1 and not single.rejected
    batch = n.segment({"batch": [{"type": "track", "event": "e", "userId": "u"}], "context": {"app": {"v": 1}}},
                      None, NOW)
    assert json.loads(rows(batch)[0]["properties"]) == {"context": {"app": {"v": 1}}}
    with pytest.raises(InvalidPayload, match="batch: missing"):
        n.segment({"type": "track"}, None, NOW)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                           | st.text(max_size=20), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6) | json_values)
def test_any_json_event_is_stored_or_rejected_by_name_never_crashes(payload):
    """Property: whatever JSON arrives, each event is either a well-typed row or a named rejection."""
    batch = norm().posthog({"batch": [payload, {"event": "e", "distinct_id": "u", "properties": payload}]}, now_us())
    assert batch.accepted + len(batch.rejected) == 2
    for row in rows(batch):
        assert isinstance(row["event"], str) and row["event"]
        assert isinstance(row["ts"], int)
        assert row["revenue"] is None or isinstance(row["revenue"], float)
        if row["properties"] is not None:
            assert isinstance(json.loads(row["properties"]), dict)
    for rej in batch.rejected:
        assert rej["error"].startswith(f"batch[{rej['index']}]: ")
    table = batch.arrow()
    assert table is None or table.num_rows == batch.events
