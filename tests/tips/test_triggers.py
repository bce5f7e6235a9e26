"""Tip triggers: the two forms, in text and as a mapping, and when each last fired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from assistant.events.model import EventRow
from assistant.tips.triggers import TriggerError, parse_trigger

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def feature(name: str, at: datetime, **props: str) -> EventRow:
    return EventRow("acme", "u1", "feature_used", name, int(at.timestamp() * 1000),
                    json.dumps({"feature": name, **props}))


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_a_count_trigger_fires_when_the_window_holds_enough_events():
    trigger = parse_trigger("contact_created >= 5 within 1d")
    assert trigger == parse_trigger({"event": "contact_created", "count": ">= 5", "within": "1d"})
    spread = [feature("contact_created", T0 + timedelta(hours=6 * i)) for i in range(5)]
    assert trigger.last_fired(spread) is None  # five events over 24 h: never five in one day
    burst = [feature("contact_created", T0 + timedelta(hours=i)) for i in range(5)]
    assert trigger.last_fired(burst) == ms(T0 + timedelta(hours=4))
    later = [*burst, feature("contact_created", T0 + timedelta(days=3))]
    assert trigger.last_fired(later) == ms(T0 + timedelta(hours=4))  # the latest firing
    other = [feature("deal_created", T0 + timedelta(minutes=i)) for i in range(9)]
    assert trigger.last_fired(other) is None
    assert parse_trigger("contact_created > 4 within 1d").count == 5


def test_an_event_type_trigger_counts_that_type_not_a_feature():
    trigger = parse_trigger("support_ticket >= 2 within 7d")
    assert trigger.event_type == "support_ticket"
    rows = [EventRow("acme", "u1", "support_ticket", f"t{i}", ms(T0 + timedelta(days=i)), "{}")
            for i in range(2)]
    assert trigger.last_fired(rows) == ms(T0 + timedelta(days=1))


def test_a_streak_trigger_needs_consecutive_days_and_with_same_the_same_object():
    trigger = parse_trigger("report.viewed on 3 consecutive days same report_id")
    assert trigger == parse_trigger(
        {"event": "report.viewed", "consecutive_days": 3, "same": "report_id"}
    )
    days = [feature("report.viewed", T0 + timedelta(days=d), report_id="weekly") for d in range(3)]
    assert trigger.last_fired(days) == ms(T0 + timedelta(days=2))
    gap = [feature("report.viewed", T0 + timedelta(days=d), report_id="weekly") for d in (0, 1, 3)]
    assert trigger.last_fired(gap) is None
    mixed = [feature("report.viewed", T0 + timedelta(days=d), report_id=r)
             for d, r in ((0, "weekly"), (1, "churn"), (2, "weekly"))]
    assert trigger.last_fired(mixed) is None  # three days, but not the same report
    assert parse_trigger("report.viewed on 3 consecutive days").last_fired(mixed) == ms(
        T0 + timedelta(days=2)
    )


@pytest.mark.parametrize("bad, says", [
    ("contact_created sometimes", "write '<event> >= <n> within <duration>'"),
    ("contact_created >= 5 within 5 fortnights", "within"),
    ("contact_created >= 5 within 400d", "at most 90 days"),
    ("contact_created >= 0 within 1d", "between 1 and"),
    ({"event": "x", "count": 3}, "needs 'within'"),
    ({"event": "x", "within": "1d", "color": "red"}, "unknown key"),
    ({"event": "x", "consecutive_days": 3, "within": "1d"}, "either"),
    (["contact_created"], "text like"),
])
def test_a_trigger_that_does_not_read_says_what_to_write(bad, says):
    with pytest.raises(TriggerError, match=says if says != "within" else "duration"):
        parse_trigger(bad)
