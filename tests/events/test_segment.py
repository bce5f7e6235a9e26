"""Segment messages → engagement events: the mapping, accounts, ids and timestamps, with a
fixed clock and no storage (the HTTP side, with the official client, is
tests/app/test_segment_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.events.log import EventLog
from assistant.events.segment import (
    MAX_MESSAGE_BYTES,
    SKIPPED,
    Outcome,
    event_id,
    feature_name,
    map_messages,
)
from assistant.storage.database import open_database

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def track(event: str = "Report Scheduled", **fields) -> dict:
    return {"type": "track", "event": event, "userId": "u-1", "messageId": "m-1",
            "timestamp": "2026-11-20T09:30:00.000Z", "context": {"groupId": "acme"},
            "properties": {"format": "pdf"}, **fields}


def mapped(*messages, mapping=None, stored=None, sent_at=None) -> list[Outcome]:
    stored = stored or {}
    return map_messages(list(messages), mapping or {}, stored.get, NOW, sent_at)


def only_event(*messages, **kwargs):
    (outcome,) = mapped(*messages, **kwargs)
    assert outcome.error is None, outcome.error
    assert outcome.event is not None
    return outcome.event


def only_error(*messages, **kwargs) -> str:
    (outcome,) = mapped(*messages, **kwargs)
    assert outcome.event is None and outcome.error
    return outcome.error


def test_an_unmapped_track_is_feature_used_named_after_the_event():
    event = only_event(track())
    assert (event.type, event.account_id, event.user_id) == ("feature_used", "acme", "u-1")
    assert event.properties == {"format": "pdf", "feature": "report_scheduled",
                                "segment_event": "Report Scheduled"}
    assert event.id == "segment:m-1"
    assert event.ts == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("name", "feature"), [
    ("Report Scheduled", "report_scheduled"),
    ("  invoice.Sent!! ", "invoice.sent"),
    ("Añadir tarea", "añadir_tarea"),
])
def test_event_names_become_feature_ids(name, feature):
    assert feature_name(name) == feature


def test_the_tenants_mapping_names_the_feature_or_the_event_type():
    mapping = {"Report Scheduled": "feature:reports.schedule", "Survey Answered": "nps_response",
               "Signed In": "login"}
    feature = only_event(track(), mapping=mapping)
    assert (feature.type, feature.subject) == ("feature_used", "reports.schedule")
    nps = only_event(track("Survey Answered", properties={"score": 9}), mapping=mapping)
    assert (nps.type, nps.properties["score"]) == ("nps_response", 9)
    assert only_event(track("Signed In"), mapping=mapping).type == "login"


def test_a_mapped_type_needs_its_properties_from_the_track():
    mapping = {"Survey Answered": "nps_response"}
    assert "nps_response needs properties.score" in only_error(
        track("Survey Answered", properties={}), mapping=mapping)
    assert "score must be between 0 and 10" in only_error(
        track("Survey Answered", properties={"score": 11}), mapping=mapping)


def test_a_mapping_to_no_event_type_is_reported():
    error = only_error(track(), mapping={"Report Scheduled": "report_sent"})
    assert "'report_sent'" in error and "neither an event type" in error


def test_identify_becomes_user_updated_with_the_traits_learnloop_keeps():
    event = only_event({
        "type": "identify", "userId": 42, "messageId": "m-2", "timestamp": "2026-11-20T10:00:00Z",
        "context": {"locale": "es-ES"},
        "traits": {"role": "manager", "createdAt": "2026-10-01T00:00:00Z", "firstName": "Ana",
                   "lastName": "Gil", "email": "ana@acme.example", "account_id": "acme"},
    })
    assert (event.type, event.user_id, event.account_id) == ("user_updated", "42", "acme")
    # The email and other traits are not stored; created_at is under Learnloop's name.
    assert event.properties == {"role": "manager", "created_at": "2026-10-01T00:00:00Z",
                                "locale": "es-ES", "name": "Ana Gil"}


def test_a_created_at_in_epoch_seconds_is_read_as_a_date():
    event = only_event({"type": "identify", "userId": "u-1", "context": {"groupId": "acme"},
                        "traits": {"created_at": 1_780_000_000}})
    assert event.properties["created_at"].startswith("2026-05-28T")


def test_group_becomes_account_updated_and_places_the_user_in_the_account():
    group = {"type": "group", "userId": "u-1", "groupId": "acme", "messageId": "g-1",
             "traits": {"name": "Acme", "plan": "pro", "seats": 25, "renewalDate": "2027-01-01",
                        "industry": "retail"}}
    later = track(context={})  # no account of its own
    outcomes = mapped(group, later)
    account = outcomes[0].event
    assert account is not None and account.type == "account_updated"
    assert (account.account_id, account.user_id) == ("acme", "u-1")
    assert account.properties == {"name": "Acme", "plan": "pro", "seats": 25,
                                  "renewal_date": "2027-01-01"}
    assert outcomes[1].event is not None and outcomes[1].event.account_id == "acme"


def test_a_bad_trait_is_named_as_a_trait():
    error = only_error({"type": "group", "userId": "u-1", "groupId": "acme",
                        "traits": {"seats": "twenty"}})
    assert "traits.seats must be an integer" in error


def test_the_account_comes_from_the_message_else_the_users_last_group_call():
    stored = {"u-1": "from-log"}
    assert only_event(track(), stored=stored).account_id == "acme"  # context.groupId first
    by_property = track(context={}, properties={"account_id": "prop-acct"})
    assert only_event(by_property, stored=stored).account_id == "prop-acct"
    assert only_event(track(context={}), stored=stored).account_id == "from-log"
    error = only_error(track(context={}), stored={})
    assert "no account for user 'u-1'" in error and "group call" in error


def test_anonymous_visitors_and_malformed_messages_are_reported_not_dropped():
    assert "needs a userId" in only_error(track(userId=None, anonymousId="anon-1"))
    assert "needs 'event'" in only_error(track(event=""))
    assert "is not a Segment call" in only_error(track(type="purchase"))
    assert "must be a JSON object" in only_error("track")
    assert "needs a groupId" in only_error({"type": "group", "userId": "u-1"})
    assert "'properties' must be an object" in only_error(track(properties=[1]))
    big = track(properties={"notes": "x" * MAX_MESSAGE_BYTES})
    assert "the limit is 32768" in only_error(big)


@pytest.mark.parametrize("kind", sorted(SKIPPED))
def test_page_screen_and_alias_are_skipped_with_the_reason(kind):
    (outcome,) = mapped({"type": kind, "userId": "u-1", "name": "Home"})
    assert outcome.event is None and outcome.error is None
    assert outcome.skipped == SKIPPED[kind]


def test_one_bad_message_leaves_the_others_mapped():
    outcomes = mapped(track(messageId="a"), track(event=""), track(messageId="c"))
    assert [o.event is not None for o in outcomes] == [True, False, True]
    assert [o.index for o in outcomes] == [0, 1, 2]


def test_the_event_id_comes_from_the_message_id_or_else_its_content():
    assert event_id({"messageId": "ajs-next-1700000000000-abc"}) == (
        "segment:ajs-next-1700000000000-abc")
    odd = event_id({"messageId": "a message id with spaces"})
    assert odd.startswith("segment:sha256:") and odd == event_id(
        {"messageId": "a message id with spaces"})
    message = track(messageId=None)
    # A resend changes sentAt, not the message's identity.
    assert event_id({**message, "sentAt": "2026-11-20T11:00:00Z"}) == event_id(
        {**message, "sentAt": "2026-11-20T11:05:00Z"})
    assert event_id(message) != event_id({**message, "event": "Other"})


def test_the_time_is_the_timestamp_else_the_original_corrected_for_clock_skew():
    # The client's clock runs 1 hour fast: it says the event happened 10 minutes before
    # it sent the batch.
    skewed = track(timestamp=None, originalTimestamp="2026-11-20T12:50:00Z")
    event = only_event(skewed, sent_at="2026-11-20T13:00:00Z")
    assert event.ts == NOW - timedelta(minutes=10)
    assert only_event(track(timestamp=None)).ts == NOW  # nothing given: receipt time


def test_a_future_or_unreadable_timestamp_is_reported():
    future = only_error(track(timestamp="2026-11-20T13:00:00Z"))
    assert "the timestamp 2026-11-20T13:00:00Z is in the future" in future
    assert "not an ISO-8601 timestamp" in only_error(track(timestamp="yesterday"))


def test_the_log_names_the_account_a_user_last_joined(tmp_path, database_url):
    database = open_database(database_url, tmp_path, "learnloop.sqlite")
    log = EventLog(database)
    groups = [{"type": "group", "userId": "u-1", "groupId": account, "messageId": account,
               "timestamp": ts} for account, ts in (("old", "2026-11-01T00:00:00Z"),
                                                    ("new", "2026-11-10T00:00:00Z"))]
    events = [o.event for o in mapped(*reversed(groups)) if o.event is not None]
    log.append("acme", events)  # stored out of order: the latest by time wins
    log.append("acme", [only_event(track(messageId="t-1", context={"groupId": "other"}))])
    assert log.joined_account("acme", "u-1") == "new"
    assert log.joined_account("globex", "u-1") is None  # another tenant's group calls
    assert log.joined_account("acme", "u-2") is None
    database.close()


def test_the_log_is_asked_once_per_user_and_batch():
    asked: list[str] = []

    def account_of(user_id: str) -> str | None:
        asked.append(user_id)
        return "acme" if user_id == "u-1" else None

    messages = [track(context={}, messageId=f"m-{n}", userId=user)
                for n, user in enumerate(["u-1", "u-2", "u-1", "u-2"])]
    outcomes = map_messages(messages, {}, account_of, NOW)
    assert [o.event.account_id if o.event else None for o in outcomes] == [
        "acme", None, "acme", None]
    assert asked == ["u-1", "u-2"]
