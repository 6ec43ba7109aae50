"""PostHog and Segment messages → rows of the ``events`` table (plus identity merges).

The rules are the ones file imports apply (``docs/data-model.md``):

* a property whose name is a typed column or one of its aliases (``$utm_source``,
  ``amount`` → ``revenue``, ``渠道`` → ``channel`` …; ``model/mapping.property_rules``, the rule file
  imports apply to nested ``properties`` too: case, spaces, ``-`` and ``_`` ignored; the exact
  column name wins over an alias; ``[columns]`` of yunying.toml first) becomes
  that column; all other properties stay in the ``properties`` JSON, where a
  ``null`` value and an absent one mean the same;
* text is trimmed and an empty text is missing; ``revenue`` must be a finite number;
* timestamps follow ``model/typing.py`` (the rules file imports use): ISO 8601 (an offset,
  else the workspace's ``import_timezone``), YYYYMMDD dates, or epoch seconds/milliseconds,
  in the years 1970-2099; and (capture only) not more than ``max_future_seconds`` ahead of
  the server clock; ``offset`` (PostHog: milliseconds before now) must give such a time too;
  no timestamp means "now";
* ``uuid`` (PostHog) / ``messageId`` (Segment) is the event id used for
  de-duplication.

Identity calls (PostHog ``$identify``, ``$create_alias``, ``$merge_dangerously``;
Segment ``identify``, ``alias``) become merges ``(distinct_id → user_id)`` and are
not stored as events. Every problem raises :class:`EventError` with a message
that names the field; the caller rejects that event only.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pyarrow as pa

from ..config import WorkspaceConfig
from ..model import typing
from ..model.mapping import norm_name, property_rules
from ..model.schema import EVENT_COLUMNS, TYPED_PROPERTIES
from .errors import InvalidPayload, PayloadTooLarge
from .settings import ServerSettings
from ..errors import Text

COLUMNS = [c.name for c in EVENT_COLUMNS]
_ARROW_TYPES = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "DOUBLE": pa.float64()}
ARROW_SCHEMA = pa.schema([(c.name, _ARROW_TYPES[c.sql_type]) for c in EVENT_COLUMNS])

MAX_NAME_CHARS = 200  # event names and ids longer than this are rejected (PostHog's limit too)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_US = _dt.timedelta(microseconds=1)
iso_us = typing.iso_us
_TYPED = [c.name for c in TYPED_PROPERTIES]
_TYPED_INDEX = {name: i for i, name in enumerate(_TYPED)}
_REVENUE = _TYPED_INDEX["revenue"]
_POSTHOG_MERGES = {"$identify", "$create_alias", "$merge_dangerously"}
_SEGMENT_EVENT = {"page": "$pageview", "screen": "$screen", "group": "$groupidentify"}
SEGMENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
_CAMPAIGN = (("source", "utm_source"), ("medium", "utm_medium"), ("name", "utm_campaign"))
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class EventError(ValueError):
    """One event is invalid; the message names the field."""


def now_us() -> int:
    return (_dt.datetime.now(_dt.timezone.utc) - _EPOCH) // _US


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


@dataclass
class Normalized:
    """The outcome of one request: columns of accepted events, merges and rejections."""

    columns: list[list] = field(default_factory=lambda: [[] for _ in COLUMNS])
    merges: list[tuple[str, str]] = field(default_factory=list)
    profiles: list[list] = field(default_factory=list)  # [id, key, JSON value, set_at µs, once]
    rejected: list[dict] = field(default_factory=list)
    received: int = 0

    @property
    def events(self) -> int:
        return len(self.columns[2])

    @property
    def accepted(self) -> int:
        return self.received - len(self.rejected)

    def reject(self, index: int | None, error: str) -> None:
        self.rejected.append({"index": index, "error": error})

    def arrow(self) -> pa.Table | None:
        if not self.events:
            return None
        arrays = [pa.array(col, type=f.type) for col, f in zip(self.columns, ARROW_SCHEMA)]
        return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


class Normalizer:
    """Validates and maps capture messages for one workspace (its time zone and column mapping)."""

    def __init__(self, config: WorkspaceConfig, settings: ServerSettings):
        self.tz = ZoneInfo(config.import_timezone)
        self.max_future_us = int(settings.max_future_seconds * 1_000_000)
        self.max_event_bytes = settings.max_event_bytes
        self.max_batch = settings.max_batch_events
        # normalised property name -> (typed column index, priority); lower priority wins.
        self._rules: dict[str, tuple[int, int]] = {
            key: (_TYPED_INDEX[col], prio) for key, (col, prio) in property_rules(TYPED_PROPERTIES, config.columns).items()}
        self._cache: dict[str, tuple[int, int] | None] = {}

    # -- payloads -------------------------------------------------------------------
    def posthog(self, data, now: int, key: str | None = None) -> Normalized:
        """A PostHog body: one event, ``{"batch": [...]}`` or a list of events."""
        if isinstance(data, dict) and "batch" in data:
            events, where = data["batch"], "batch"
            if not isinstance(events, list):
                raise InvalidPayload(key="normalize.batch_expected_list_events", value=_kind(events))
        elif isinstance(data, list):
            events, where = data, ""
        elif isinstance(data, dict):
            events, where = [data], None
        else:
            raise InvalidPayload(key="normalize.expected_json_object_event", value=_kind(data))
        return self._each(events, where, lambda out, msg: self.posthog_event(out, msg, now, key))

    def segment(self, data, default_type: str | None, now: int, key: str | None = None) -> Normalized:
        """A Segment body: one message (``/v1/track`` …) or ``{"batch": [...]}`` (``/v1/batch``)."""
        if not isinstance(data, dict):
            raise InvalidPayload(key="normalize.expected_json_object", value=_kind(data))
        if default_type is None:
            if "batch" not in data:
                raise InvalidPayload(key="normalize.batch_missing_expected")
            messages = data["batch"]
            if not isinstance(messages, list):
                raise InvalidPayload(key="normalize.batch_expected_list_messages", value=_kind(messages))
            context = data.get("context") if isinstance(data.get("context"), dict) else {}
            return self._each(messages, "batch",
                              lambda out, msg: self.segment_message(out, msg, None, now, context, key))
        return self._each([data], None, lambda out, msg: self.segment_message(out, msg, default_type, now, {}, key))

    def _each(self, messages: list, where: str | None, one) -> Normalized:
        if len(messages) > self.max_batch:
            raise PayloadTooLarge(key="normalize.events_one_request_limit", n_messages=len(messages), max_batch=self.max_batch)
        out = Normalized(received=len(messages))
        for i, msg in enumerate(messages):
            try:
                one(out, msg)
            except EventError as exc:
                if where is None:  # a single event: the message needs no position
                    out.reject(None, str(exc))
                else:
                    out.reject(i, f"{where}[{i}]: {exc}")
        return out

    # -- PostHog --------------------------------------------------------------------
    def posthog_event(self, out: Normalized, msg, now: int, key: str | None) -> None:
        if not isinstance(msg, dict):
            raise EventError(Text("normalize.expected_event_object", value=_kind(msg)))
        event = self._name(msg.get("event"), "event")
        props = msg.get("properties")
        if props is None:
            props = {}
        elif not isinstance(props, dict):
            raise EventError(Text("normalize.properties_expected_json_object", value=_kind(props)))
        token = msg.get("api_key") or props.get("token")
        if key is not None and token is not None and token != key:
            raise EventError(Text("normalize.api_key_token_differs"))
        raw_id = msg.get("distinct_id")
        if raw_id is None:
            raw_id = props.get("distinct_id", props.get("$distinct_id"))
        distinct_id = self._id(raw_id, "distinct_id", required=True)
        updates = self._posthog_profile(msg, props, distinct_id, now)
        if event in _POSTHOG_MERGES:
            self._posthog_merge(out, event, distinct_id, props)
            out.profiles += updates
            return
        ts = self._posthog_ts(msg, props, now)
        uuid = self._id(msg.get("uuid"), "uuid")
        if "distinct_id" in props or "token" in props or "$distinct_id" in props:
            props = {k: v for k, v in props.items() if k not in ("distinct_id", "$distinct_id", "token")}
        self._append(out, None, distinct_id, event, ts, uuid, props)
        out.profiles += updates

    def _posthog_profile(self, msg: dict, props: dict, distinct_id: str, now: int) -> list[list]:
        """``$set`` / ``$set_once`` at the top level (PostHog's ``$identify``) and in the properties."""
        found = [(name, where, holder[name]) for name in ("$set", "$set_once")
                 for where, holder in ((name, msg), (f"properties.{name}", props)) if holder.get(name) is not None]
        if not found:
            return []
        ts = self._posthog_ts(msg, props, now)
        updates = []
        for name, where, value in found:
            updates += self._profile(distinct_id, self._object(value, where), ts, name == "$set_once", where)
        return updates

    def _profile(self, who: str, values: dict, ts: int, once: bool, where: str) -> list[list]:
        """Profile updates of a ``$set`` / ``$set_once`` / traits object (null values are ignored)."""
        rows = []
        for k, v in values.items():
            if v is None:
                continue
            text = _json(v, f"{where}.{k}")
            if len(text) > self.max_event_bytes:
                raise EventError(Text("normalize.bytes_limit_max_event", where=where, k=k, n_text=len(text), max_event_bytes=self.max_event_bytes))
            if not k.strip() or len(k) > MAX_NAME_CHARS:
                raise EventError(Text("normalize.property_name_empty_over", where=where, k=k[:60], MAX_NAME_CHARS=MAX_NAME_CHARS))
            rows.append([who, k, text, ts, once])
        return rows

    def _posthog_ts(self, msg: dict, props: dict, now: int) -> int:
        if msg.get("timestamp") is not None:
            return self._ts(msg["timestamp"], "timestamp", now)
        offset = msg.get("offset")
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not 0 <= offset < 1e15:
                raise EventError(Text("normalize.offset_expected_milliseconds_before", offset=str(offset)[:60]))
            try:
                return typing.checked_us(now - int(offset * 1000), f"now - {offset:g} ms")
            except typing.TypingError as exc:
                raise EventError(Text("normalize.offset", exc=exc)) from None
        if props.get("$time") is not None:
            return self._ts(props["$time"], "properties.$time", now)
        return now

    def _posthog_merge(self, out: Normalized, event: str, distinct_id: str, props: dict) -> None:
        if event == "$identify":
            anon = self._id(props.get("$anon_distinct_id"), "properties.$anon_distinct_id")
            pair = (anon, distinct_id)
        elif event == "$create_alias":  # alias(previous_id, distinct_id): previous id -> the alias
            pair = (distinct_id, self._id(props.get("alias"), "properties.alias", required=True))
        else:  # $merge_dangerously: the alias is merged into the event's distinct_id
            pair = (self._id(props.get("alias"), "properties.alias", required=True), distinct_id)
        if pair[0] and pair[0] != pair[1]:
            out.merges.append(pair)

    # -- Segment --------------------------------------------------------------------
    def segment_message(self, out: Normalized, msg, default_type: str | None, now: int, batch_context: dict,
                        key: str | None) -> None:
        if not isinstance(msg, dict):
            raise EventError(Text("normalize.expected_message_object", value=_kind(msg)))
        kind = msg.get("type", default_type)
        if kind not in SEGMENT_TYPES:
            raise EventError(Text("normalize.type_expected_one", SEGMENT_TYPES=', '.join(SEGMENT_TYPES), kind=kind))
        if key is not None and msg.get("writeKey") not in (None, key):
            raise EventError(Text("normalize.writekey_differs_from_key"))
        user_id = self._id(msg.get("userId"), "userId")
        if kind == "alias":
            previous = self._id(msg.get("previousId"), "previousId", required=True)
            user_id = self._id(msg.get("userId"), "userId", required=True)
            if previous != user_id:
                out.merges.append((previous, user_id))
            return
        anonymous_id = self._id(msg.get("anonymousId"), "anonymousId")
        if user_id is None and anonymous_id is None:
            raise EventError(Text("normalize.userid_anonymousid_missing_each"))
        if kind == "identify":
            traits = msg.get("traits")
            where = "traits"
            if traits is None and isinstance(msg.get("context"), dict):
                traits, where = msg["context"].get("traits"), "context.traits"
            updates = []
            if traits is not None:
                ts_value = msg.get("timestamp", msg.get("originalTimestamp"))
                ts = now if ts_value is None else self._ts(ts_value, "timestamp", now)
                updates = self._profile(user_id or anonymous_id, self._object(traits, where) or {}, ts, False, where)
            if user_id and anonymous_id and user_id != anonymous_id:
                out.merges.append((anonymous_id, user_id))
            out.profiles += updates
            return
        ts_value = msg.get("timestamp", msg.get("originalTimestamp"))
        ts = now if ts_value is None else self._ts(ts_value, "timestamp", now)
        uuid = self._id(msg.get("messageId"), "messageId")
        if kind == "group":
            traits = self._object(msg.get("traits"), "traits")
            props = {"group_id": self._id(msg.get("groupId"), "groupId", required=True), "traits": traits or None}
        else:
            props = self._object(msg.get("properties"), "properties")
        if kind == "track":
            event = self._name(msg.get("event"), "event")
        else:
            event = _SEGMENT_EVENT[kind]
            if kind in ("page", "screen"):
                props = {**props, "name": msg.get("name"), "category": msg.get("category")}
        context = self._object(msg.get("context"), "context")
        if batch_context:
            context = {**batch_context, **context}
        defaults = None
        if context:
            campaign = context.get("campaign")
            if isinstance(campaign, dict):
                defaults = {col: campaign[src] for src, col in _CAMPAIGN if campaign.get(src) is not None}
            props = {**props, "context": context}
        self._append(out, user_id, anonymous_id, event, ts, uuid, props, defaults)

    # -- shared ---------------------------------------------------------------------
    def _append(self, out: Normalized, user_id, distinct_id, event: str, ts: int, uuid, props: dict,
                defaults: dict | None = None) -> None:
        typed: list = [None] * len(_TYPED)
        rest = props
        if props:
            rest = {}
            chosen: dict[int, tuple[int, str]] = {}
            cache = self._cache
            for k, v in props.items():
                if v is None:
                    continue
                rule = cache.get(k, False)
                if rule is False:
                    rule = self._rules.get(norm_name(k)) if isinstance(k, str) else None
                    if len(cache) > 50_000:
                        cache.clear()
                    cache[k] = rule
                if rule is None:
                    rest[k] = v
                    continue
                col, prio = rule
                held = chosen.get(col)
                if held is None or prio < held[0]:
                    if held is not None:
                        rest[held[1]] = props[held[1]]
                    chosen[col] = (prio, k)
                else:
                    rest[k] = v
            for col, (_, k) in chosen.items():
                typed[col] = self._typed_value(col, props[k], k)
        if defaults:
            for name, value in defaults.items():
                col = _TYPED_INDEX[name]
                if typed[col] is None:
                    typed[col] = self._typed_value(col, value, f"context.campaign.{name}")
        if rest:
            text = _json(rest, "properties")
            if len(text) > self.max_event_bytes:
                raise EventError(Text("normalize.properties_bytes_limit_max", n_text=len(text), max_event_bytes=self.max_event_bytes))
        else:
            text = None
        cols = out.columns
        cols[0].append(user_id)
        cols[1].append(distinct_id)
        cols[2].append(event)
        cols[3].append(ts)
        cols[4].append(uuid)
        for i, value in enumerate(typed):
            cols[5 + i].append(value)
        cols[12].append(text)

    def _typed_value(self, col: int, value, key: str):
        if col == _REVENUE:
            try:
                return typing.finite_number(value)
            except typing.TypingError as exc:
                raise EventError(Text("normalize.properties", key_=key, exc=exc)) from None
        return self._text(value, f"properties.{key}")

    @staticmethod
    def _text(value, name: str):
        if isinstance(value, str):
            value = value.strip()
            return value or None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return _json(value, name)

    @staticmethod
    def _object(value, name: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise EventError(Text("normalize.expected_json_object_2", name=name, value=_kind(value)))
        return value

    @staticmethod
    def _name(value, name: str) -> str:
        if value is None:
            raise EventError(Text("normalize.missing_expected_event_name", name=name))
        if not isinstance(value, str):
            raise EventError(Text("normalize.expected_string", name=name, value=_kind(value)))
        value = value.strip()
        if not value:
            raise EventError(Text("normalize.empty_expected_event_name", name=name))
        if len(value) > MAX_NAME_CHARS:
            raise EventError(Text("normalize.characters_limit", name=name, n_value=len(value), MAX_NAME_CHARS=MAX_NAME_CHARS))
        return value

    @staticmethod
    def _id(value, name: str, required: bool = False) -> str | None:
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif value is not None:
            raise EventError(Text("normalize.expected_string", name=name, value=_kind(value)))
        if not value:
            if required:
                raise EventError(Text("normalize.missing_expected_id", name=name))
            return None
        if len(value) > MAX_NAME_CHARS:
            raise EventError(Text("normalize.characters_limit", name=name, n_value=len(value), MAX_NAME_CHARS=MAX_NAME_CHARS))
        return value

    def _ts(self, value, name: str, now: int) -> int:
        try:
            us = typing.timestamp_us(value, self.tz)
        except typing.TypingError as exc:
            if isinstance(value, str) or isinstance(value, (int, float)) and not isinstance(value, bool):
                raise EventError(Text("normalize.message_2", name=name, exc=exc)) from None
            raise EventError(Text("normalize.message", name=name, exc=exc, value=_kind(value))) from None
        if us > now + self.max_future_us:
            raise EventError(Text("normalize.more_than_hours_ahead", name=name, value=str(value)[:60], self_=self.max_future_us / 3.6e9, value2=iso_us(now)))
        return us


def _json(value, name: str) -> str:
    """A property value as JSON text; a value nested too deeply to encode is this event's error, not a 500."""
    try:
        return _dumps(value)
    except RecursionError:
        raise EventError(Text("normalize.nested_too_deeply_store", name=name)) from None
    except (TypeError, ValueError) as exc:
        raise EventError(Text("normalize.cannot_stored_as_json", name=name, exc=exc)) from None
