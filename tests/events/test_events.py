"""The engagement log: validation, idempotent batches over HTTP, concurrent writers and a
killed writer on SQLite and PostgreSQL, paging, imports, tenant isolation."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import LOOPBACK, TESTS
from fastapi.testclient import TestClient

from assistant.access.registry import AccessRegistry
from assistant.app.factory import create_app
from assistant.cli.main import app as cli_app
from assistant.events.log import _MIGRATIONS, EventLog
from assistant.events.model import EventError, validate_event
from assistant.storage.database import open_database

WRITER = TESTS / "event_writer.py"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(i: int | str = 1, **overrides) -> dict:
    base = {"id": f"evt-{i}", "type": "feature_used", "account_id": "acme", "user_id": "u-1",
            "ts": "2026-11-20T09:30:00Z", "properties": {"feature": "reports.schedule"}}
    return {**base, **overrides}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "fragment"), [
    (event(type="logged_in"), "'logged_in' is not an event type"),
    ({k: v for k, v in event().items() if k != "user_id"}, "'user_id' is missing"),
    (event(account_id=""), "'account_id' must be"),
    (event(ts="yesterday"), "not an ISO-8601 timestamp"),
    (event(ts="2026-11-20T13:00:00Z"), "in the future"),
    (event(ts=1763630000), "'ts' must be"),
    (event(properties={}), "feature_used needs properties.feature"),
    (event(properties={"feature": 7}), "properties.feature must be a string"),
    (event(type="answer_given", properties={"answered": "yes", "confidence": 0.5}),
     "properties.answered must be true or false"),
    (event(type="answer_given", properties={"answered": True, "confidence": 3}),
     "confidence must be between 0 and 1"),
    (event(type="nps_response", properties={"score": 11}), "between 0 and 10"),
    (event(type="account_updated", properties={"seats": True}), "seats must be an integer"),
    (event(type="account_updated", properties={"renewal_date": "soon"}), "not an ISO-8601"),
    (event(type="answer_feedback", properties={"message_id": "m", "helpful": False,
                                               "reason": "x" * 501}),
     "properties.reason is 501 characters; the limit is 500"),
    (event(type="answer_feedback", properties={"message_id": "m", "helpful": False,
                                               "reason": 3}), "properties.reason must be a string"),
    (event(type="handoff_requested", properties={"session_id": ""}),
     "properties.session_id is empty"),
    (event(id=""), "'id' (the idempotency key)"),
    (event(color="red"), "unknown field(s) color"),
    ("not an object", "must be a JSON object"),
])
def test_bad_events_are_rejected_with_what_is_wrong(raw, fragment):
    with pytest.raises(EventError) as error:
        validate_event(raw, NOW)
    assert fragment in str(error.value)


def test_several_problems_are_named_at_once_and_good_events_parse():
    with pytest.raises(EventError) as error:
        validate_event({"id": "x", "type": "login", "ts": "nope"}, NOW)
    assert "account_id" in str(error.value) and "user_id" in str(error.value)
    assert "ISO-8601" in str(error.value)
    parsed = validate_event(event(ts="2026-11-20T10:30:00+01:00"), NOW)
    assert parsed.ts == datetime(2026, 11, 20, 9, 30, tzinfo=UTC) and parsed.subject == (
        "reports.schedule")
    # Account facts need no user; a slightly fast client clock is tolerated.
    fact = {"id": "f", "type": "account_updated", "account_id": "acme",
            "ts": (NOW + timedelta(minutes=2)).isoformat(), "properties": {"plan": "pro"}}
    assert validate_event(fact, NOW).user_id is None
    # The widget's thumbs-down with the user's words.
    feedback = event(type="answer_feedback", properties={"message_id": "m", "helpful": False,
                                                         "reason": "x" * 500})
    assert validate_event(feedback, NOW).properties["reason"] == "x" * 500


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def client(sample_knowledge, tmp_path):
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": tmp_path / "data", "dev_mode": True})
    with TestClient(create_app(settings, sample_knowledge), base_url=LOOPBACK) as test_client:
        yield test_client


def post(client, events, headers=None):
    return client.post("/v1/events", json={"events": events}, headers=headers or {})


def test_a_batch_keeps_its_valid_events_and_reports_the_bad_ones(client):
    now = datetime.now(UTC).isoformat()
    batch = [event(1, ts=now), event(2, type="nope", ts=now), event(3, ts=now),
             event(4, ts="2999-01-01T00:00:00Z"), event(1, ts=now)]
    response = post(client, batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 1)
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert "'nope' is not an event type" in body["errors"][0]["message"]
    assert "future" in body["errors"][1]["message"]
    # The retry of the whole batch stores nothing new.
    again = post(client, batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert client.app.state.services.event_log.count() == 2


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"events": []}, 422, "events"),
    ({"event": [event()]}, 422, "event"),
    ({"events": "x"}, 422, "events"),
])
def test_a_malformed_batch_is_refused_whole(client, body, status, fragment):
    response = client.post("/v1/events", json=body)
    assert response.status_code == status and fragment in response.json()["error"]["message"]
    assert client.app.state.services.event_log.count() == 0


def test_an_oversized_batch_is_refused(client):
    too_many = [event(i, ts=datetime.now(UTC).isoformat()) for i in range(1001)]
    response = post(client, too_many)
    assert response.status_code == 422 and "limit is 1000" in response.text
    assert client.app.state.services.event_log.count() == 0


def test_account_events_are_paged_newest_first(client):
    start = datetime.now(UTC) - timedelta(days=1)
    batch = [event(i, ts=(start + timedelta(minutes=i)).isoformat()) for i in range(7)]
    assert post(client, batch).json()["accepted"] == 7
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/accounts/acme/events", params=params).json()
        assert page["total"] == 7
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"evt-{i}" for i in reversed(range(7))]
    logins = client.get("/v1/accounts/acme/events", params={"types": "login,feature_used"})
    assert logins.json()["total"] == 7
    assert client.get("/v1/accounts/acme/events", params={"types": "login"}).json()["total"] == 0
    unknown = client.get("/v1/accounts/acme/events", params={"types": "login,logon"})
    assert unknown.status_code == 422 and "logon" in unknown.json()["error"]["message"]
    bad = client.get("/v1/accounts/acme/events", params={"cursor": "garbage!"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["message"]
    assert client.get("/v1/accounts/nobody/events").status_code == 404


def test_tenants_never_see_each_others_events_and_users_send_only_their_own(client):
    registry: AccessRegistry = client.app.state.services.access
    registry.create_tenant("globex")
    _, globex_csm = registry.create_key("globex", "csm")
    _, globex_ingest = registry.create_key("globex", "ingest")
    now = datetime.now(UTC).isoformat()
    assert post(client, [event(1, ts=now)]).json()["accepted"] == 1  # default tenant
    auth = {"authorization": f"Bearer {globex_csm}"}
    assert client.get("/v1/accounts/acme/events", headers=auth).status_code == 404
    # The same id in another tenant is another event, not a duplicate.
    other = post(client, [event(1, ts=now)], {"authorization": f"Bearer {globex_ingest}"})
    assert other.json()["accepted"] == 1
    assert client.get("/v1/accounts/acme/events", headers=auth).json()["total"] == 1
    # A csm key reads but does not write; an end user writes only their own touches.
    assert post(client, [event(2, ts=now)], auth).status_code == 403
    token = registry.issue_token("globex", "u-1", "acme")
    user = {"authorization": f"Bearer {token}"}
    viewed = event(3, ts=now, type="article_viewed", properties={"article_id": "a.md"})
    response = post(client, [viewed, event(4, ts=now), {**viewed, "id": "5", "user_id": "u-2"}],
                    user).json()
    assert response["accepted"] == 1
    assert "may not send 'feature_used'" in response["errors"][0]["message"]
    assert "its own user and account" in response["errors"][1]["message"]


def test_an_end_users_chat_turn_is_logged(client):
    registry: AccessRegistry = client.app.state.services.access
    token = registry.issue_token("default", "u-9", "acme", "member")
    answer = client.post("/v1/chat", json={"question": "How do I turn on two-factor "
                                           "authentication?", "kb": "sample"},
                         headers={"authorization": f"Bearer {token}"}).json()
    # A new user's next steps come with the answer: their role's path, first stage first.
    assert 1 <= len(answer["next_steps"]) <= 3
    assert {"ref", "title", "stage", "reason"} <= set(answer["next_steps"][0])
    assert answer["next_steps"][0]["stage"] == "week1"
    page = client.get("/v1/accounts/acme/events").json()
    types = {e["type"]: e for e in page["events"]}
    assert set(types) == {"question_asked", "answer_given"}
    assert types["answer_given"]["properties"]["answered"] == answer["answered"]
    assert types["answer_given"]["properties"]["out_of_scope"] is False
    assert types["question_asked"]["properties"]["message_id"] == answer["message_id"]
    assert types["question_asked"]["user_id"] == "u-9"


# --- stores: concurrency and durability on both backends ----------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite'}"
    return request.getfixturevalue("postgres_url")


def writer(url: str, index: int, events: int = 1000) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WRITER), "--url", url, "--writer", str(index),
         "--events", str(events)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_eight_concurrent_writers_lose_and_duplicate_nothing(database_url):
    EventLog(open_database(database_url, Path(".")))  # migrate once before the race
    writers = [writer(database_url, i) for i in range(8)]
    for process in writers:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    log = EventLog(open_database(database_url, Path(".")))
    assert log.count() == 8000
    ids = {row[0] for row in log.db.fetchall("SELECT id FROM events")}
    assert ids == {f"w{w}-{i}" for w in range(8) for i in range(1000)}


def test_a_killed_writer_loses_no_acknowledged_event(database_url):
    EventLog(open_database(database_url, Path(".")))
    process = writer(database_url, 0, events=100_000)
    acknowledged: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("ack "):
            acknowledged.append(line.split()[1])
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(acknowledged) >= 20
    log = EventLog(open_database(database_url, Path(".")))
    last = int(acknowledged[-1].split("-")[1])
    stored = {row[0] for row in log.db.fetchall("SELECT id FROM events")}
    assert {f"w0-{i}" for i in range(last + 1)} <= stored
    # Whole batches only: nothing half-written after the last acknowledged one.
    assert len(stored) % 50 == 0


def test_migrations_run_once_and_are_recorded(database_url):
    first = EventLog(open_database(database_url, Path(".")))
    EventLog(open_database(database_url, Path(".")))
    versions = first.db.fetchall(
        "SELECT component, version FROM schema_migrations WHERE component = 'events'")
    assert versions == [("events", 1), ("events", 2)]


def test_an_end_users_event_id_never_suppresses_the_hosts(client):
    """Ids are unique per sender: a user who sends 'ticket-4711' first does not make the
    host's support_ticket with that id a duplicate, and each side's retry still is one."""
    registry: AccessRegistry = client.app.state.services.access
    user = {"authorization": f"Bearer {registry.issue_token('default', 'u-1', 'acme')}"}
    now = datetime.now(UTC).isoformat()
    handoff = event("ticket-4711", ts=now, type="handoff_requested", properties={})
    ticket = event("ticket-4711", ts=now, type="support_ticket",
                   properties={"ticket_id": "4711"})
    stored_once = {"accepted": 1, "duplicates": 0, "conflicts": [], "errors": []}
    assert post(client, [handoff], user).json() == stored_once
    assert post(client, [ticket]).json() == stored_once
    assert post(client, [handoff], user).json()["duplicates"] == 1
    assert post(client, [ticket]).json()["duplicates"] == 1
    types = {e["type"] for e in client.get("/v1/accounts/acme/events").json()["events"]}
    assert types == {"handoff_requested", "support_ticket"}


def test_events_stored_before_ids_were_per_sender_are_kept(database_url):
    """Migration 2 rebuilds the table: rows from before keep their order, as the host's."""
    db = open_database(database_url, Path("."))
    db.migrate("events", _MIGRATIONS[:1])  # the schema as it was
    first_ms = int((NOW - timedelta(hours=1)).timestamp() * 1000)
    with db.transaction() as tx:
        for i in range(3):
            tx.execute(
                "INSERT INTO events (tenant, id, type, account_id, user_id, subject, ts_ms, "
                "properties, received_ms) VALUES (?, ?, 'login', 'acme', 'u-1', NULL, ?, '{}', 0)",
                ("default", f"evt-old-{i}", first_ms + i),
            )
    log = EventLog(db)
    assert [r.ts_ms for r in log.rows("default")] == [first_ms, first_ms + 1, first_ms + 2]
    # The host's retry of an old row, as it was sent, is a duplicate.
    sent_ts = datetime.fromtimestamp((first_ms + 1) / 1000, UTC).isoformat()
    old = validate_event(event("old-1", type="login", properties={}, ts=sent_ts), NOW)
    assert log.append("default", [old]) == (0, 1, [], ())
    assert log.append("default", [validate_event(event("new"), NOW)]) == (1, 0, [], (0,))


def test_an_id_reused_for_a_different_event_is_a_conflict_not_a_duplicate(client):
    """An id is an idempotency key: the same event again is a duplicate; another event
    under a used id (stored, or earlier in the batch) is reported as a conflict, by index,
    and nothing already stored changes."""
    now = datetime.now(UTC).isoformat()
    first = event("a", ts=now)
    assert post(client, [first]).json()["accepted"] == 1
    other = event("a", ts=now, properties={"feature": "billing.export"})
    body = post(client, [event("b", ts=now), other, first,
                         event("c", ts=now), event("c", ts=now, account_id="globex")]).json()
    assert (body["accepted"], body["duplicates"]) == (2, 1)
    assert [(c["index"], c["id"]) for c in body["conflicts"]] == [(1, "evt-a"), (4, "evt-c")]
    assert "already used for a different event" in body["conflicts"][0]["message"]
    stored = client.get("/v1/accounts/acme/events").json()["events"]
    assert {e["id"]: e["properties"]["feature"] for e in stored} == {
        "evt-a": "reports.schedule", "evt-b": "reports.schedule", "evt-c": "reports.schedule"}
    assert client.get("/v1/accounts/globex/events").status_code == 404


def test_an_import_reports_conflicting_ids_by_line(cli, tmp_path):
    lines = [event("x", ts="2026-11-02T10:00:00Z"),
             event("x", ts="2026-11-02T10:00:00Z"),  # the same event again: a duplicate
             event("x", ts="2026-11-02T10:05:00Z")]  # another event under its id
    path = tmp_path / "usage.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = cli.invoke(cli_app, ["events", "import", str(path)])
    assert result.exit_code == 1
    assert "1 events stored, 1 already there, 1 conflicting, 0 rejected" in result.output
    assert "line 3: id 'evt-x' was already used for a different event" in result.output


def test_a_bad_database_url_is_named():
    from assistant.errors import LearnloopError

    with pytest.raises(LearnloopError, match="neither sqlite"):
        open_database("mysql://root:secret@localhost/x", Path("."))
    with pytest.raises(LearnloopError) as error:
        open_database("postgresql://nobody:secret@127.0.0.1:1/none", Path("."))
    assert "cannot connect" in error.value.message and "secret" not in error.value.message


# --- import ------------------------------------------------------------------------------------


def test_import_csv_and_jsonl_reports_bad_rows_and_is_idempotent(cli, data_dir, tmp_path):
    csv_file = tmp_path / "usage.csv"
    csv_file.write_text(
        "id,type,account_id,user_id,ts,feature,plan,seats,renewal_date\n"
        "c1,feature_used,acme,u1,2026-11-01T10:00:00Z,reports.schedule,,,\n"
        "c2,account_updated,acme,,2026-11-01T10:00:00Z,,pro,25,2027-01-15\n"
        "c3,login,acme,u1,not-a-date,,,,\n"
        "c4,account_updated,acme,,2026-11-01T10:00:00Z,,pro,many,\n")
    jsonl_file = tmp_path / "usage.jsonl"
    jsonl_file.write_text(
        json.dumps(event("j1", ts="2026-11-02T10:00:00Z")) + "\n"
        + "{not json\n\n"
        + json.dumps(event("j2", type="support_ticket", ts="2026-11-02T11:00:00Z",
                           properties={"ticket_id": "T-1", "subject": "export fails"})) + "\n")
    result = cli.invoke(cli_app, ["events", "import", str(csv_file)])
    assert result.exit_code == 1
    assert "2 events stored" in result.output
    assert "line 4:" in result.output and "line 5:" in result.output and "seats" in result.output
    result = cli.invoke(cli_app, ["events", "import", str(jsonl_file), "--json"])
    report = json.loads(result.output)
    assert report["accepted"] == 2 and report["errors"][0]["line"] == 2
    again = json.loads(cli.invoke(cli_app, ["events", "import", str(jsonl_file), "--json"]).output)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    log = EventLog(open_database(None, data_dir))
    facts = [r.props() for r in log.rows("default", types=["account_updated"])]
    assert facts == [{"plan": "pro", "seats": 25, "renewal_date": "2027-01-15"}]
    wrong = tmp_path / "usage.txt"
    wrong.write_text("x")
    assert "expected a .jsonl or .csv" in cli.invoke(
        cli_app, ["events", "import", str(wrong)]).output


def test_a_user_token_may_not_backdate_its_events_but_the_host_may(client):
    registry: AccessRegistry = client.app.state.services.access
    user = {"authorization": f"Bearer {registry.issue_token('default', 'u-1', 'acme')}"}
    viewed = {"type": "article_viewed", "properties": {"article_id": "a.md"}}
    old, recent = "2000-01-01T00:00:00Z", (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    response = post(client, [event("v1", ts=old, **viewed), event("v2", ts=recent, **viewed)],
                    user).json()
    assert response["accepted"] == 1
    assert response["errors"][0]["index"] == 0
    assert "may not backdate" in response["errors"][0]["message"]
    assert post(client, [event("v3", ts=old, **viewed)]).json()["accepted"] == 1  # the host
