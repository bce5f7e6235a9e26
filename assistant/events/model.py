"""Engagement events (DESIGN "Engagement log"): the types, and validation of raw input.

An event is one educational touch or product fact about a user of an account::

    {"id": "client idempotency key", "type": "article_viewed", "account_id": "acme",
     "user_id": "u-17", "ts": "2026-11-20T09:30:00Z", "properties": {"article_id": "…"}}

Each type names the properties it needs; the main one (the feature used, the article read,
the tip shown…) is also kept as the event's ``subject`` so the log can be aggregated in SQL
without parsing JSON. Validation reports every problem of an event in one message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

__all__ = [
    "ACCOUNT_EVENT_TYPES",
    "EVENT_TYPES",
    "MAX_FUTURE",
    "Event",
    "EventError",
    "EventRow",
    "coerce_properties",
    "parse_timestamp",
    "validate_event",
]

# A client's clock may run a little ahead of ours; an event further in the future is a bug.
MAX_FUTURE = timedelta(minutes=5)
_OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
_ID = re.compile(r"^[\w.:@/+=-]{1,128}$")
_MAX_PROPERTIES_BYTES = 8_000

# type -> (required properties with their types, the property that is the event's subject)
_Spec = tuple[dict[str, type | tuple[type, ...]], str | None]
_SPECS: dict[str, _Spec] = {
    # the assistant's own touches
    "question_asked": ({"question": str}, None),
    "answer_given": ({"answered": bool, "confidence": (int, float)}, None),
    "answer_feedback": ({"message_id": str, "helpful": bool}, "message_id"),
    "article_viewed": ({"article_id": str}, "article_id"),
    "citation_clicked": ({"article_id": str}, "article_id"),
    "tip_shown": ({"tip_id": str}, "tip_id"),
    "tip_clicked": ({"tip_id": str}, "tip_id"),
    "tip_dismissed": ({"tip_id": str}, "tip_id"),
    "tip_feedback": ({"tip_id": str, "feedback": str}, "tip_id"),
    "tip_adopted": ({"tip_id": str}, "tip_id"),
    # recorded by the tips engine: the user qualified for the tip (holdout users too)
    "tip_eligible": ({"tip_id": str}, "tip_id"),
    "path_step_completed": ({"path_id": str, "ref": str}, "ref"),
    "handoff_requested": ({}, None),
    # sent by the host product
    "login": ({}, None),
    "feature_used": ({"feature": str}, "feature"),
    "support_ticket": ({}, "ticket_id"),
    "nps_response": ({"score": int}, None),
    "user_updated": ({}, None),
    "account_updated": ({}, None),
}
EVENT_TYPES: tuple[str, ...] = tuple(_SPECS)
# Facts about the account as a whole: no user needed.
ACCOUNT_EVENT_TYPES = frozenset({"account_updated"})
TIP_FEEDBACK = ("helpful_used", "helpful_not_tried", "not_relevant", "unclear")
# What a dismissal hides: this tip (30 days), tips like it (its category), or all tips.
TIP_DISMISS_SCOPES = ("tip", "category", "all")
# Optional properties with a fixed type, checked when present.
_OPTIONAL: dict[str, dict[str, type | tuple[type, ...]]] = {
    "account_updated": {
        "name": str, "plan": str, "seats": int, "renewal_date": str, "created_at": str,
        "status": str,
    },
    "user_updated": {"role": str, "locale": str, "created_at": str, "name": str},
    "question_asked": {"kb": str, "session_id": str, "message_id": str},
    "answer_given": {"message_id": str, "question": str, "kb": str, "out_of_scope": bool},
    "support_ticket": {"ticket_id": str, "subject": str, "status": str},
    # why an answer did not help, in the user's words (the widget's thumbs-down box)
    "answer_feedback": {"reason": str},
    # the conversation the user wants a person to pick up (the handoff webhook sends it)
    "handoff_requested": {"session_id": str, "message_id": str},
    "tip_shown": {"session_id": str},
    "tip_dismissed": {"scope": str, "category": str},
    "tip_eligible": {"holdout": bool, "bucket": int, "fired_at": str},
}
# Free-text properties a user types, and the most characters each may hold.
_MAX_CHARS = {"reason": 500}


class EventError(ValueError):
    """What is wrong with one event, in words a client can act on."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    account_id: str
    user_id: str | None
    ts: datetime
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str | None:
        key = _SPECS[self.type][1]
        value = self.properties.get(key) if key else None
        return str(value) if value is not None else None

    @property
    def ts_ms(self) -> int:
        return int(self.ts.timestamp() * 1000)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "account_id": self.account_id,
            "user_id": self.user_id,
            "ts": self.ts.isoformat().replace("+00:00", "Z"),
            "properties": self.properties,
        }


class EventRow(NamedTuple):
    """An event as the log hands it to aggregations (learning state, health): the columns
    they group on, the time in epoch milliseconds, and the properties still as JSON text
    (parse only the few types whose properties you need)."""

    account_id: str
    user_id: str | None
    type: str
    subject: str | None
    ts_ms: int
    properties: str

    def props(self) -> dict[str, Any]:
        value = json.loads(self.properties) if self.properties else {}
        return value if isinstance(value, dict) else {}


def parse_timestamp(value: object, now: datetime | None = None) -> datetime:
    """An ISO-8601 instant in UTC. Without an offset it is read as UTC; it may not lie more
    than MAX_FUTURE ahead of ``now``, nor before 2000."""
    if not isinstance(value, str) or not value:
        raise EventError("'ts' must be an ISO-8601 timestamp string")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise EventError(f"'ts' {value!r} is not an ISO-8601 timestamp") from None
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    now = now or datetime.now(UTC)
    if ts > now + MAX_FUTURE:
        raise EventError(
            f"'ts' {value} is in the future (more than {MAX_FUTURE.seconds // 60} minutes "
            "ahead of the server's clock)"
        )
    if ts < _OLDEST:
        raise EventError(f"'ts' {value} is before 2000")
    return ts


def validate_event(raw: object, now: datetime | None = None) -> Event:
    """An Event from client JSON, or EventError naming every problem found."""
    if not isinstance(raw, dict):
        raise EventError("an event must be a JSON object")
    problems: list[str] = []
    unknown = sorted(set(raw) - {"id", "type", "account_id", "user_id", "ts", "properties"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not _ID.match(event_id):
        problems.append("'id' (the idempotency key) must be 1-128 characters of letters, digits "
                        "and . : @ / + = - _")
    event_type = raw.get("type")
    if event_type not in _SPECS:
        shown = event_type if isinstance(event_type, str) else json.dumps(event_type)
        problems.append(f"'type' {shown!r} is not an event type; known: {', '.join(EVENT_TYPES)}")
    account_id = raw.get("account_id")
    if not _is_id(account_id):
        problems.append("'account_id' must be a non-empty string of at most 128 characters")
    user_id = raw.get("user_id")
    if user_id is None and event_type not in ACCOUNT_EVENT_TYPES:
        problems.append("'user_id' is missing")
    elif user_id is not None and not _is_id(user_id):
        problems.append("'user_id' must be a non-empty string of at most 128 characters")
    ts: datetime | None = None
    try:
        ts = parse_timestamp(raw.get("ts"), now)
    except EventError as exc:
        problems.append(str(exc))
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        problems.append("'properties' must be an object")
    elif event_type in _SPECS:
        problems.extend(_property_problems(str(event_type), properties))
    if problems:
        raise EventError("; ".join(problems))
    assert ts is not None and isinstance(event_id, str) and isinstance(properties, dict)
    return Event(
        id=event_id,
        type=str(event_type),
        account_id=str(account_id),
        user_id=user_id if isinstance(user_id, str) else None,
        ts=ts,
        properties=properties,
    )


def coerce_properties(event_type: str, values: dict[str, str]) -> dict[str, Any]:
    """Properties from text cells (a CSV row): each known property to its declared type,
    the rest kept as text; empty cells are left out. An uncoercible value stays text, so
    validation names it."""
    declared = {**_OPTIONAL.get(event_type, {}), **_SPECS.get(event_type, ({}, None))[0]}
    out: dict[str, Any] = {}
    for key, text in values.items():
        if text is None or text == "":
            continue
        expected = declared.get(key, str)
        try:
            if expected is bool:
                lowered = text.strip().lower()
                out[key] = {"true": True, "1": True, "false": False, "0": False}[lowered]
            elif expected is int:
                out[key] = int(text)
            elif isinstance(expected, tuple):
                out[key] = float(text)
            else:
                out[key] = text
        except (KeyError, ValueError):
            out[key] = text
    return out


def _is_id(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) > 0 and len(value) <= 128


def _property_problems(event_type: str, properties: dict[str, Any]) -> list[str]:
    problems = []
    required, _ = _SPECS[event_type]
    typed = {**_OPTIONAL.get(event_type, {}), **required}
    for key, expected in typed.items():
        if key not in properties:
            if key in required:
                problems.append(f"{event_type} needs properties.{key}")
            continue
        value = properties[key]
        # bool is an int in Python; a flag sent as 1 or a count sent as true is a client bug.
        if (expected is not bool and isinstance(value, bool)) or not isinstance(value, expected):
            problems.append(f"properties.{key} must be {_type_name(expected)}")
        elif isinstance(value, str) and not value.strip():
            problems.append(f"properties.{key} is empty")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"properties.{key} must be a finite number")
    for key, limit in _MAX_CHARS.items():
        if key in typed and isinstance(properties.get(key), str) and len(properties[key]) > limit:
            problems.append(f"properties.{key} is {len(properties[key])} characters; the "
                            f"limit is {limit}")
    confidence = properties.get("confidence")
    if event_type == "answer_given" and isinstance(confidence, int | float) and not (
        0 <= confidence <= 1
    ):
        problems.append("properties.confidence must be between 0 and 1")
    if event_type == "tip_feedback" and properties.get("feedback") not in TIP_FEEDBACK:
        problems.append(f"properties.feedback must be one of {', '.join(TIP_FEEDBACK)}")
    if event_type == "tip_dismissed" and properties.get("scope", "tip") not in TIP_DISMISS_SCOPES:
        problems.append(f"properties.scope must be one of {', '.join(TIP_DISMISS_SCOPES)}")
    score = properties.get("score")
    if event_type == "nps_response" and isinstance(score, int) and not 0 <= score <= 10:
        problems.append("properties.score must be between 0 and 10")
    for key in ("renewal_date", "created_at"):
        if isinstance(properties.get(key), str):
            try:
                datetime.fromisoformat(properties[key].replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"properties.{key} {properties[key]!r} is not an ISO-8601 date")
    if len(json.dumps(properties)) > _MAX_PROPERTIES_BYTES:
        problems.append(f"properties are over {_MAX_PROPERTIES_BYTES} bytes")
    return problems


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a number"}
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)
