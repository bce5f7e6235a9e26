"""Segment messages → engagement events (the Segment-compatible tracking API's mapping).

A company that already sends product events with Segment's libraries points them at
Learnloop (``POST /v1/batch`` with an ``ingest`` key as the write key). Each message maps to
one event, or is skipped on purpose, or is an error naming what is wrong::

    track     → feature_used {feature: the tenant's mapping of the event name, else the name
                normalized}, or the event type the tenant maps the name to
                (``TenantConfig.track_events``: name → type, or ``feature:<feature id>``)
    identify  → user_updated {role, locale, created_at, name}
    group     → account_updated {name, plan, seats, renewal_date, created_at, status}, and
                the user who made the call now belongs to that account
    page, screen, alias → skipped, with the reason (``SKIPPED``)

Every event needs an account. A track or identify takes it from ``context.groupId``, else
``properties.account_id`` / ``traits.account_id``, else the user's latest ``group`` call
(earlier in the same batch, else ``account_of``: the caller looks it up in the log).

The event id is derived from ``messageId`` (or, without one, from the message's content),
so a batch the client retries lands once. Nothing here touches storage or HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.events.model import EVENT_TYPES, Event, EventError, parse_timestamp, validate_event

__all__ = [
    "MAPPED_TYPES",
    "MAX_BATCH_BYTES",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "SKIPPED",
    "Outcome",
    "event_id",
    "feature_name",
    "map_messages",
]

# Segment's own limits (its HTTP API documentation): a batch up to 500 KB, a message 32 KB.
MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
MAPPED_TYPES = ("track", "identify", "group")
SKIPPED: dict[str, str] = {
    "page": "page calls are not stored: Learnloop learns product usage from track calls "
    "(send the feature used as a track event)",
    "screen": "screen calls are not stored: Learnloop learns product usage from track calls "
    "(send the feature used as a track event)",
    "alias": "alias calls are not applied: Learnloop keys users by userId; send every call "
    "under the user's final userId",
}
MESSAGE_TYPES = (*MAPPED_TYPES, *SKIPPED)

_FEATURE_PREFIX = "feature:"
_READABLE_ID = re.compile(r"^[\w.:@/+=-]{1,100}$", re.ASCII)
_NOT_IN_NAME = re.compile(r"[^\w.-]+")
_MAX_NAME = 128
_IDENTIFY_TRAITS = {"role": ("role",), "name": ("name",), "created_at": ("created_at", "createdAt")}
_GROUP_TRAITS = {
    "name": ("name",), "plan": ("plan",), "seats": ("seats",),
    "renewal_date": ("renewal_date", "renewalDate"), "created_at": ("created_at", "createdAt"),
    "status": ("status",),
}
# Changed by every send or retry of the same message, so never part of its identity.
_TRANSPORT_FIELDS = frozenset({"sentAt", "receivedAt", "writeKey"})


@dataclass(frozen=True)
class Outcome:
    """What became of the message at ``index``: an event to store, a reason it was skipped,
    or what is wrong with it (exactly one of the three)."""

    index: int
    event: Event | None = None
    skipped: str | None = None
    error: str | None = None


def event_id(message: Mapping[str, Any]) -> str:
    """The idempotency key of a message's event: ``segment:<messageId>`` when that is short
    and plain, else a hash of it; without a messageId, a hash of the message minus the
    fields each send changes, so a retry still lands once."""
    message_id = message.get("messageId")
    if isinstance(message_id, str | int) and not isinstance(message_id, bool):
        text = str(message_id)
        if _READABLE_ID.match(text):
            return f"segment:{text}"
        return f"segment:sha256:{hashlib.sha256(text.encode()).hexdigest()[:40]}"
    content = {k: v for k, v in message.items() if k not in _TRANSPORT_FIELDS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return f"segment:content:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


def feature_name(event_name: str) -> str:
    """A track event's name as a feature id: 'Report Scheduled' → 'report_scheduled'."""
    return _NOT_IN_NAME.sub("_", event_name.strip().lower()).strip("_")


def map_messages(
    messages: Sequence[object],
    track_events: Mapping[str, str],
    account_of: Callable[[str], str | None],
    now: datetime,
    sent_at: object = None,
) -> list[Outcome]:
    """One outcome per message, in order. ``account_of(user_id)``: the account of the user's
    latest stored group call, or None. ``sent_at``: the batch's ``sentAt``, for messages
    that carry only ``originalTimestamp``."""
    joined: dict[str, str] = {}  # user → account, from group calls earlier in this batch
    looked_up: dict[str, str | None] = {}

    def stored_account(user_id: str) -> str | None:  # one lookup per user and batch
        if user_id not in looked_up:
            looked_up[user_id] = account_of(user_id)
        return looked_up[user_id]

    outcomes = []
    for index, message in enumerate(messages):
        try:
            outcome = _map_one(
                index, message, track_events, joined, stored_account, now, sent_at
            )
        except EventError as exc:
            outcome = Outcome(index, error=str(exc))
        event = outcome.event
        if event is not None and event.type == "account_updated" and event.user_id:
            joined[event.user_id] = event.account_id
        outcomes.append(outcome)
    return outcomes


def _map_one(
    index: int,
    message: object,
    track_events: Mapping[str, str],
    joined: Mapping[str, str],
    account_of: Callable[[str], str | None],
    now: datetime,
    sent_at: object,
) -> Outcome:
    if not isinstance(message, dict):
        raise EventError("a message must be a JSON object")
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        known = ", ".join(MESSAGE_TYPES)
        raise EventError(f"'type' {kind!r} is not a Segment call; known: {known}")
    size = len(json.dumps(message, separators=(",", ":")).encode())
    if size > MAX_MESSAGE_BYTES:
        raise EventError(f"the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    if kind in SKIPPED:
        return Outcome(index, skipped=SKIPPED[kind])
    user_id = _id(message, "userId")
    context = _object(message, "context")
    if kind == "group":
        account_id = _id(message, "groupId")
        if account_id is None:
            raise EventError("a group call needs a groupId (the account)")
        properties = _traits(_object(message, "traits"), _GROUP_TRAITS)
        event_type = "account_updated"
    else:
        if user_id is None:
            raise EventError(
                f"a {kind} call needs a userId: Learnloop follows known users, not anonymous "
                "visitors (send it once the user is identified)"
            )
        payload = _object(message, "properties" if kind == "track" else "traits")
        account_id = (
            _id(context, "groupId") or _id(payload, "account_id") or joined.get(user_id)
            or account_of(user_id)
        )
        if account_id is None:
            raise EventError(
                f"no account for user '{user_id}': send context.groupId or "
                f"{'properties' if kind == 'track' else 'traits'}.account_id, or a group call "
                "for this user first"
            )
        if kind == "track":
            event_type, properties = _track(message, payload, track_events)
        else:
            event_type = "user_updated"
            properties = _traits(payload, _IDENTIFY_TRAITS)
            locale = payload.get("locale", context.get("locale"))
            if locale is not None:
                properties["locale"] = locale
            if "name" not in properties:
                full = " ".join(
                    str(payload[k]) for k in ("firstName", "lastName")
                    if isinstance(payload.get(k), str) and payload[k].strip()
                )
                if full:
                    properties["name"] = full
    raw = {
        "id": event_id(message),
        "type": event_type,
        "account_id": account_id,
        "user_id": user_id,
        "ts": _instant(message, now, sent_at).isoformat(),
        "properties": properties,
    }
    try:
        return Outcome(index, event=validate_event(raw, now))
    except EventError as exc:
        if kind == "track":
            raise
        # identify and group carry traits; say so in the words of the message sent.
        raise EventError(str(exc).replace("properties.", "traits.")) from None


def _track(
    message: Mapping[str, Any], properties: dict[str, Any], track_events: Mapping[str, str]
) -> tuple[str, dict[str, Any]]:
    name = message.get("event")
    if not isinstance(name, str) or not name.strip():
        raise EventError("a track call needs 'event', the name of what the user did")
    target = track_events.get(name)
    if target is None or target.startswith(_FEATURE_PREFIX):
        feature = target[len(_FEATURE_PREFIX):].strip() if target else feature_name(name)
        if not feature or len(feature) > _MAX_NAME:
            raise EventError(
                f"event {name!r} gives no usable feature id (1-{_MAX_NAME} characters); map it "
                f"with `learnloop tenant update ID --track-event '{name}=feature:<feature id>'`"
            )
        return "feature_used", {**properties, "feature": feature, "segment_event": name}
    if target not in EVENT_TYPES:
        raise EventError(
            f"this tenant maps event {name!r} to {target!r}, which is neither an event type nor "
            "'feature:<feature id>': fix the mapping with `learnloop tenant update`"
        )
    # The track's properties must make a valid event of the mapped type: validate_event
    # names any required property that is missing.
    return target, {**properties, "segment_event": name}


def _traits(traits: Mapping[str, Any], wanted: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The traits Learnloop keeps, under its names; the rest (emails, addresses…) are not
    stored. A ``created_at`` sent as epoch seconds (Segment allows it) becomes ISO-8601."""
    kept: dict[str, Any] = {}
    for name, spellings in wanted.items():
        value = next((traits[s] for s in spellings if traits.get(s) is not None), None)
        if value is None:
            continue
        if name == "created_at" and isinstance(value, int | float) and not isinstance(value, bool):
            try:
                value = datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
            except (OverflowError, OSError, ValueError):
                raise EventError(f"traits.{name} {value!r} is not a timestamp") from None
        kept[name] = value
    return kept


def _instant(message: Mapping[str, Any], now: datetime, batch_sent_at: object) -> datetime:
    """When it happened, the way Segment decides it: ``timestamp``; else
    ``originalTimestamp`` corrected by the client's clock skew (now − sentAt); else now."""
    try:
        if message.get("timestamp") is not None:
            return parse_timestamp(message["timestamp"], now)
        original = message.get("originalTimestamp")
        if original is None:
            return now
        sent_at = message.get("sentAt", batch_sent_at)
        if sent_at is None:
            return parse_timestamp(original, now)
        # Both on the client's clock: their difference is how long ago it happened.
        skewed = _parse_client_time(original) + (now - _parse_client_time(sent_at))
        return parse_timestamp(skewed.isoformat(), now)
    except EventError as exc:
        raise EventError(str(exc).replace("'ts'", "the timestamp")) from None


def _parse_client_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise EventError(f"{value!r} is not an ISO-8601 timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"{value!r} is not an ISO-8601 timestamp") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _object(message: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = message.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"'{name}' must be an object")
    return value


def _id(message: Mapping[str, Any], name: str) -> str | None:
    """An id field as text: Segment allows strings and numbers."""
    value = message.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventError(f"'{name}' must be a string or a number")
    text = str(value).strip()
    if not text or len(text) > _MAX_NAME:
        raise EventError(f"'{name}' must be 1-{_MAX_NAME} characters")
    return text
