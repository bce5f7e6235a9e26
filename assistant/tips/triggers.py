"""A tip's trigger: the behaviour that makes it worth showing, and when it last fired.

Written in a tip's front matter, as text or as a mapping::

    trigger: "contact_created >= 5 within 1d"          # a count in a sliding window
    trigger: "report.viewed on 3 consecutive days"      # a streak of calendar days (UTC)
    trigger: "report.viewed on 3 consecutive days same report_id"   # … of one report
    trigger: {event: contact_created, count: 5, within: 1d}
    trigger: {event: report.viewed, consecutive_days: 3, same: report_id}

The event is an engagement-log type (``question_asked``, ``login``, ``support_ticket``…) or
else the name of a product feature or action the host reports as ``feature_used``
(``{"type": "feature_used", "properties": {"feature": "report.viewed", "report_id": "r7"}}``).
``same <property>`` counts only events that share that property's value. Durations: ``30m``,
``12h``, ``1d``, ``2w``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from assistant.clock import DAY_MS
from assistant.events.model import EVENT_TYPES, EventRow

__all__ = ["Trigger", "TriggerError", "last_firings", "parse_duration", "parse_trigger"]

_NAME = r"[A-Za-z0-9_][\w.:/-]{0,99}"
_COUNT = re.compile(
    rf"^(?P<event>{_NAME})\s*(?P<op>>=|>|==|=)\s*(?P<n>\d{{1,6}})\s+within\s+(?P<window>\S+)"
    rf"(?:\s+same\s+(?P<same>{_NAME}))?$"
)
_STREAK = re.compile(
    rf"^(?P<event>{_NAME})\s+on\s+(?P<n>\d{{1,3}})\s+consecutive\s+days?"
    rf"(?:\s+same\s+(?P<same>{_NAME}))?$"
)
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d|w)$")
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}
_MAX_WINDOW = timedelta(days=90)
_MAX_STREAK = 60


class TriggerError(ValueError):
    """A trigger that cannot be read, with what to write instead."""


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise TriggerError(f"duration {text!r}: write a number and a unit (30m, 12h, 1d, 2w)")
    duration = timedelta(milliseconds=int(match.group(1)) * _UNIT_MS[match.group(2)])
    if not timedelta(0) < duration <= _MAX_WINDOW:
        raise TriggerError(f"duration {text!r}: must be more than 0 and at most 90 days")
    return duration


@dataclass(frozen=True)
class Trigger:
    """``event`` seen at least ``count`` times within ``window``, or on ``streak_days``
    consecutive days; with ``same``, among events sharing that property's value."""

    event: str
    count: int = 1
    window: timedelta | None = None
    streak_days: int | None = None
    same: str | None = None

    @cached_property
    def event_type(self) -> str:
        """The engagement-log type the trigger counts."""
        return self.event if self.event in EVENT_TYPES else "feature_used"

    @cached_property
    def key(self) -> tuple[str, str | None]:
        """Where ``last_firings`` files the events this trigger counts: (type, feature) for
        a feature, (type, None) for every event of a type."""
        return (self.event_type, self.event if self.event_type == "feature_used" else None)

    @property
    def lookback(self) -> timedelta:
        """How far back events can still matter for the latest firing."""
        if self.streak_days is not None:
            return timedelta(days=self.streak_days + 1)
        assert self.window is not None
        return self.window

    def describe(self) -> str:
        same = f" (same {self.same})" if self.same else ""
        if self.streak_days is not None:
            return f"{self.event} on {self.streak_days} consecutive days{same}"
        return f"{self.event} {self.count}x within {_spell(self.window)}{same}"

    def matches(self, row: EventRow) -> bool:
        if row.type != self.event_type:
            return False
        return self.event_type != "feature_used" or row.subject == self.event

    def last_fired(self, rows: Iterable[EventRow]) -> int | None:
        """When (epoch ms) the condition last became true over ``rows`` (matching events in
        time order), or None if it never held."""
        groups: dict[Any, list[int]] = defaultdict(list)
        for row in rows:
            if self.matches(row):
                key = row.props().get(self.same) if self.same else None
                if self.same and (key is None or isinstance(key, (dict, list))):
                    continue
                groups[key].append(row.ts_ms)
        fired = [self._last_in(sorted(times)) for times in groups.values()]
        return max((f for f in fired if f is not None), default=None)

    def _last_in(self, times: list[int]) -> int | None:
        if self.streak_days is not None:
            return _last_streak(times, self.streak_days)
        assert self.window is not None
        span = int(self.window.total_seconds() * 1000)
        # The latest event that closes a window holding ``count`` events: the count-th
        # latest event before it lies within the window.
        for i in range(len(times) - 1, self.count - 2, -1):
            if times[i] - times[i - self.count + 1] < span:
                return times[i]
        return None


def last_firings(
    triggers: Mapping[str, Trigger], rows: Iterable[EventRow]
) -> dict[str, int | None]:
    """``Trigger.last_fired`` of each trigger (by name) over the same rows, filing the rows by
    what they are once instead of scanning them once per trigger (a thousand tips)."""
    filed: dict[tuple[str, str | None], list[EventRow]] = defaultdict(list)
    for row in rows:
        filed[(row.type, row.subject)].append(row)
        filed[(row.type, None)].append(row)
    return {name: trigger.last_fired(filed.get(trigger.key, ()))
            for name, trigger in triggers.items()}


def _last_streak(times: list[int], days: int) -> int | None:
    """The last event of the latest run of ``days`` consecutive UTC days with an event."""
    last_of_day: dict[int, int] = {}
    for ts in times:
        last_of_day[ts // DAY_MS] = max(ts, last_of_day.get(ts // DAY_MS, ts))
    for day in sorted(last_of_day, reverse=True):
        if all(day - k in last_of_day for k in range(days)):
            return last_of_day[day]
    return None


def parse_trigger(value: Any) -> Trigger:
    """A trigger from front matter (text or mapping); ``TriggerError`` names what is wrong."""
    if isinstance(value, str):
        return _from_text(" ".join(value.split()))
    if isinstance(value, Mapping):
        return _from_mapping(value)
    raise TriggerError(
        f"trigger must be text like 'contact_created >= 5 within 1d' or a mapping, "
        f"got {type(value).__name__}"
    )


def _from_text(text: str) -> Trigger:
    if match := _COUNT.match(text):
        count = int(match.group("n")) + (1 if match.group("op") == ">" else 0)
        return _checked(Trigger(
            event=match.group("event"), count=count,
            window=parse_duration(match.group("window")), same=match.group("same"),
        ))
    if match := _STREAK.match(text):
        return _checked(Trigger(
            event=match.group("event"), streak_days=int(match.group("n")),
            same=match.group("same"),
        ))
    raise TriggerError(
        f"trigger {text!r}: write '<event> >= <n> within <duration>' or "
        "'<event> on <n> consecutive days', optionally followed by 'same <property>'"
    )


def _from_mapping(value: Mapping[str, Any]) -> Trigger:
    known = {"event", "count", "within", "consecutive_days", "same"}
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise TriggerError(f"trigger has unknown key(s) {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(known))}")
    event = value.get("event")
    if not isinstance(event, str) or not re.fullmatch(_NAME, event):
        raise TriggerError("trigger 'event' must name an event or a feature, like report.viewed")
    same = value.get("same")
    if same is not None and (not isinstance(same, str) or not re.fullmatch(_NAME, same)):
        raise TriggerError("trigger 'same' must name a property, like report_id")
    if "consecutive_days" in value:
        if "within" in value or "count" in value:
            raise TriggerError("trigger: use either 'consecutive_days' or 'count'/'within'")
        return _checked(Trigger(event=event, streak_days=_int(value, "consecutive_days"),
                                same=same))
    count = value.get("count", 1)
    if isinstance(count, str):  # ">= 5", as the text form writes it
        count = count.replace(">=", "").strip()
    count = _int({"count": count}, "count")
    within = value.get("within")
    if not isinstance(within, str):
        raise TriggerError("trigger needs 'within' (a duration like 1d) or 'consecutive_days'")
    return _checked(Trigger(event=event, count=count, window=parse_duration(within), same=same))


def _int(value: Mapping[str, Any], key: str) -> int:
    raw = value.get(key)
    try:
        number = int(str(raw))
    except ValueError:
        raise TriggerError(f"trigger '{key}' must be a whole number, got {raw!r}") from None
    return number


def _checked(trigger: Trigger) -> Trigger:
    if not 1 <= trigger.count <= 100_000:
        raise TriggerError("trigger count must be between 1 and 100000")
    if trigger.streak_days is not None and not 1 <= trigger.streak_days <= _MAX_STREAK:
        raise TriggerError(f"consecutive days must be between 1 and {_MAX_STREAK}")
    return trigger


def _spell(window: timedelta | None) -> str:
    if window is None:
        return ""
    ms = int(window.total_seconds() * 1000)
    for unit in ("w", "d", "h", "m"):
        if ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]}{unit}"
    return str(window)
