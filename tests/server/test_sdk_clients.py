"""The official PostHog and Segment SDKs from PyPI send to a running `yunying serve`, unchanged."""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import duckdb
import pytest

from yyserver_helpers import ServerProcess, create_key, make_workspace

T0 = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("sdk") / "shop")
    key, read = create_key(ws, "write"), create_key(ws, "read")
    with ServerProcess(ws, settings=("publish_interval=0.2",)) as server:
        yield SimpleNamespace(server=server, ws=ws, key=key, read=read)


def snapshot(served, sql: str, params=()):
    """What another process sees: the published snapshot, opened read-only while the server runs."""
    served.server.client().wait_published()
    con = duckdb.connect(str(served.ws / "yunying.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_posthog_python_sdk(served, gzip):
    from posthog import Posthog

    errors = []
    ph = Posthog(served.key, host=served.server.url, gzip=gzip, flush_at=7, flush_interval=0.1, max_retries=1,
                 on_error=lambda exc, batch: errors.append(exc), enable_exception_autocapture=False)
    tag = f"ph-{int(gzip)}"
    ids = [str(uuid.uuid4()) for _ in range(20)]
    for i, event_id in enumerate(ids):
        ph.capture("purchase" if i % 4 == 0 else "view_content", distinct_id=f"{tag}-anon-{i % 3}", uuid=event_id,
                   timestamp=T0 + dt.timedelta(minutes=i),
                   properties={"$utm_source": "baidu", "revenue": 25.5 if i % 4 == 0 else None, "n": i})
    ph.alias(previous_id=f"{tag}-anon-0", distinct_id=f"{tag}-user-0")
    ph.flush()
    ph.shutdown()
    assert not errors, errors
    rows = snapshot(served, "SELECT event_uuid, event, user_id, distinct_id, ts, utm_source, revenue, properties "
                            "FROM events WHERE distinct_id LIKE ? ORDER BY ts", [f"{tag}-%"])
    assert [r[0] for r in rows] == ids  # every event, once, in time order
    first = rows[0]
    assert first[1:7] == ("purchase", f"{tag}-user-0", f"{tag}-anon-0", T0.replace(tzinfo=None), "baidu", 25.5)
    assert '"n":0' in first[7] and '"$lib":"posthog-python"' in first[7]
    users = {r[3]: r[2] for r in rows}
    assert users == {f"{tag}-anon-0": f"{tag}-user-0", f"{tag}-anon-1": f"{tag}-anon-1",
                     f"{tag}-anon-2": f"{tag}-anon-2"}


def test_posthog_sdk_bad_event_is_rejected_alone(served):
    from posthog import Posthog

    errors = []
    ph = Posthog(served.key, host=served.server.url, flush_at=3, flush_interval=0.1, max_retries=0,
                 on_error=lambda exc, batch: errors.append(exc), enable_exception_autocapture=False)
    good = [str(uuid.uuid4()), str(uuid.uuid4())]
    ph.capture("ok", distinct_id="ph-bad", uuid=good[0], timestamp=T0)
    ph.capture("too-late", distinct_id="ph-bad", timestamp=dt.datetime(2090, 1, 1, tzinfo=dt.timezone.utc))
    ph.capture("ok", distinct_id="ph-bad", uuid=good[1], timestamp=T0)
    ph.flush()
    ph.shutdown()
    assert len(errors) == 1 and getattr(errors[0], "status", None) == 400
    assert "ahead of the server clock" in str(errors[0])
    rows = snapshot(served, "SELECT event_uuid FROM events WHERE distinct_id = 'ph-bad' ORDER BY event_uuid")
    assert sorted(r[0] for r in rows) == sorted(good)


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_segment_python_sdk(served, gzip):
    from segment.analytics import Client

    errors = []
    client = Client(write_key=served.key, host=served.server.url, gzip=gzip, max_retries=1, upload_interval=0.1,
                    on_error=lambda exc, batch: errors.append(exc))
    tag = f"seg-{int(gzip)}"
    track_id, page_id, signup_id = (str(uuid.uuid4()) for _ in range(3))
    for _ in range(2):  # the second is a retry of the first: stored once
        client.track(anonymous_id=f"{tag}-anon-1", event="view_content", properties={"content_id": "c9", "depth": 3},
                     timestamp=T0, message_id=track_id)
    client.page(anonymous_id=f"{tag}-anon-2", name="Home", properties={"url": "https://example.com/"},
                timestamp=T0, message_id=page_id)
    client.identify(user_id=f"{tag}-user-1", anonymous_id=f"{tag}-anon-1", traits={"plan": "pro"})
    client.alias(previous_id=f"{tag}-anon-2", user_id=f"{tag}-user-2")
    client.track(user_id=f"{tag}-user-3", anonymous_id=f"{tag}-anon-3", event="signup", timestamp=T0,
                 message_id=signup_id, context={"campaign": {"source": "wechat", "medium": "article"}})
    client.flush()
    client.shutdown()
    assert not errors, errors
    rows = snapshot(served, "SELECT event_uuid, event, user_id, distinct_id, content_id, utm_source, utm_medium "
                            "FROM events WHERE distinct_id LIKE ? ORDER BY event", [f"{tag}-%"])
    assert rows == [
        (page_id, "$pageview", f"{tag}-user-2", f"{tag}-anon-2", None, None, None),
        (signup_id, "signup", f"{tag}-user-3", f"{tag}-anon-3", None, "wechat", "article"),
        (track_id, "view_content", f"{tag}-user-1", f"{tag}-anon-1", "c9", None, None),
    ]
    identities = dict(snapshot(served, "SELECT distinct_id, user_id FROM identities WHERE distinct_id LIKE ?",
                               [f"{tag}-%"]))
    assert identities == {f"{tag}-anon-1": f"{tag}-user-1", f"{tag}-anon-2": f"{tag}-user-2",
                          f"{tag}-anon-3": f"{tag}-user-3"}


def test_query_api_with_a_read_token_from_outside(served):
    client = served.server.client(token=served.read)
    served.server.client().wait_published()
    data = client.query("trends", {"event": "signup", "measure": "users", "interval": "day"})
    assert data["kind"] == "trends" and sum(r["value"] for r in data["series"]) >= 2
