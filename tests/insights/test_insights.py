"""Content gaps over the real app: declined, shaky and thumbs-down questions become topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import LOOPBACK
from fastapi.testclient import TestClient

from assistant.app.factory import create_app
from assistant.events.model import EventRow
from assistant.insights.content_gaps import GapQuestion, content_gaps, gap_questions


@pytest.fixture
def client(sample_knowledge, tmp_path):
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": tmp_path / "data", "dev_mode": True})
    with TestClient(create_app(settings, sample_knowledge), base_url=LOOPBACK) as test_client:
        yield test_client


def answer(i: int, question: str, account: str, answered: bool = False,
           confidence: float = 0.2) -> dict:
    ts = (datetime.now(UTC) - timedelta(hours=i)).isoformat()
    return {"id": f"a{i}", "type": "answer_given", "account_id": account, "user_id": f"u{i}",
            "ts": ts, "properties": {"answered": answered, "confidence": confidence,
                                     "question": question, "message_id": f"m{i}"}}


def test_gap_questions_take_the_strongest_reason():
    def row(kind: str, props: str, ts: int) -> EventRow:
        return EventRow("acme", "u1", kind, None, ts, props)

    rows = [
        row("answer_given", '{"answered": true, "confidence": 0.9, "question": "fine",'
                            ' "message_id": "m1"}', 1),
        row("answer_given", '{"answered": true, "confidence": 0.4, "question": "shaky",'
                            ' "message_id": "m2"}', 2),
        row("answer_given", '{"answered": false, "confidence": 0.1, "question": "no idea",'
                            ' "message_id": "m3"}', 3),
        row("answer_feedback", '{"message_id": "m1", "helpful": false}', 4),
        row("answer_feedback", '{"message_id": "m2", "helpful": false}', 5),
        row("answer_feedback", '{"message_id": "m3", "helpful": true}', 6),
    ]
    found = {(g.question, g.reason) for g in gap_questions(rows)}
    assert found == {("fine", "unhelpful"), ("shaky", "unhelpful"), ("no idea", "declined")}


def test_topics_group_paraphrases_across_languages(sample_knowledge):
    questions = ["how do I connect salesforce", "is there a salesforce integration?",
                 "¿puedo conectar salesforce?", "does it work offline",
                 "export to excel", "exportar tareas a excel"]
    gaps = [GapQuestion(q, f"acct-{i % 2}", "declined", i) for i, q in enumerate(questions)]
    topics = content_gaps(gaps, sample_knowledge.gist_embedder.embed_documents)
    assert [t["count"] for t in topics] == [3, 2, 1]
    assert "salesforce" in topics[0]["keywords"] and topics[0]["accounts_affected"] == 2
    assert set(topics[1]["examples"]) == {"export to excel", "exportar tareas a excel"}


def test_content_gaps_are_cached_until_an_event_here_or_a_minute_passes(
        sample_knowledge, tmp_path):
    """The dashboard asks for gaps on every account page: a report is reused until this
    process stores an event for the tenant, or for a minute (another worker's events)."""
    from assistant.events.log import EventLog
    from assistant.events.model import validate_event
    from assistant.insights.content_gap_service import ContentGapService
    from assistant.storage.database import open_database

    here = EventLog(open_database(None, tmp_path))
    other_worker = EventLog(open_database(None, tmp_path))
    clock = FakeClock()
    service = ContentGapService(sample_knowledge, here, ttl_s=60, clock=clock)

    def store(log: EventLog, i: int, question: str) -> None:
        log.append("default", [validate_event(answer(i, question, "acme"))])

    store(here, 1, "how do I connect salesforce")
    first = service.report("default")
    assert first["questions"] == 1
    assert service.report("default") is first
    store(other_worker, 2, "is there a gantt chart")
    assert service.report("default") is first  # not seen for up to a minute …
    clock.now += 61
    second = service.report("default")
    assert second["questions"] == 2  # … then it is
    store(here, 3, "salesforce integration setup")
    third = service.report("default")
    assert third["questions"] == 3 and third["topics"][0]["count"] == 2
    assert service.report("default", account_id="globex") == {
        "days": 30, "questions": 0, "topics": []}


class FakeClock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_content_gaps_endpoint(client, sample_knowledge):
    events = [answer(1, "how do I connect salesforce", "acme"),
              answer(2, "salesforce integration setup", "globex"),
              answer(3, "can tasklane sync with salesforce?", "acme", True, 0.3),
              answer(4, "how do I turn on two-factor authentication", "acme", True, 0.9),
              answer(5, "does tasklane work offline", "acme", True, 0.8),
              {"id": "f5", "type": "answer_feedback", "account_id": "acme", "user_id": "u5",
               "ts": datetime.now(UTC).isoformat(),
               "properties": {"message_id": "m5", "helpful": False}}]
    assert client.post("/v1/events", json={"events": events}).json()["accepted"] == 6
    body = client.get("/v1/insights/content-gaps").json()
    assert body["questions"] == 4
    top = body["topics"][0]
    assert top["count"] == 3 and top["accounts_affected"] == 2
    assert top["reasons"] == {"declined": 2, "low_confidence": 1}
    assert body["topics"][1]["reasons"] == {"unhelpful": 1}
    only_globex = client.get("/v1/insights/content-gaps", params={"account_id": "globex"})
    assert only_globex.json()["questions"] == 1
    assert client.get("/v1/insights/content-gaps", params={"days": 0}).status_code == 422


def test_an_end_users_off_topic_question_is_logged_as_out_of_scope_and_is_no_gap(client):
    registry = client.app.state.services.access
    token = registry.issue_token("default", "u-7", "acme", "member")
    headers = {"authorization": f"Bearer {token}"}
    asked = {"write me a poem about mondays": True,  # off topic
             "is it legal to read my staff's email?": True,  # a guardrail
             "How do I turn on two-factor authentication?": False}  # answered
    for question, out_of_scope in asked.items():
        reply = client.post("/v1/chat", json={"question": question, "kb": "sample"},
                            headers=headers).json()
        assert reply["answered"] is not out_of_scope
    logged = client.get("/v1/accounts/acme/events", params={"types": "answer_given"}).json()
    flags = {e["properties"]["question"]: e["properties"]["out_of_scope"]
             for e in logged["events"]}
    assert flags == asked
    # A decline the help center could fix is a gap; the two above are not.
    gap = answer(9, "can tasklane sync with salesforce?", "acme")
    assert client.post("/v1/events", json={"events": [gap]}).json()["accepted"] == 1
    gaps = client.get("/v1/insights/content-gaps").json()
    assert gaps["questions"] == 1
    assert gaps["topics"][0]["examples"] == ["can tasklane sync with salesforce?"]


def test_an_out_of_scope_flag_must_be_a_boolean(client):
    bad = answer(1, "q", "acme")
    bad["properties"]["out_of_scope"] = "yes"
    body = client.post("/v1/events", json={"events": [bad]}).json()
    assert body["accepted"] == 0 and "out_of_scope" in body["errors"][0]["message"]


def test_content_gaps_are_per_tenant_and_staff_only(client):
    client.post("/v1/events", json={"events": [answer(1, "salesforce?", "acme")]})
    registry = client.app.state.services.access
    registry.create_tenant("globex")
    _, key = registry.create_key("globex", "csm")
    other = client.get("/v1/insights/content-gaps", headers={"authorization": f"Bearer {key}"})
    assert other.status_code == 200 and other.json()["questions"] == 0
    token = registry.issue_token("default", "u1", "acme")
    user = client.get("/v1/insights/content-gaps", headers={"authorization": f"Bearer {token}"})
    assert user.status_code == 403


def test_education_retention_groups_accounts_by_path_completion(client):
    now = datetime.now(UTC)

    def at(days: float) -> str:
        return (now - timedelta(days=days)).isoformat()

    def ev(i: str, kind: str, account: str, user: str | None, days: float, **props) -> dict:
        body = {"id": i, "type": kind, "account_id": account, "ts": at(days),
                "properties": props}
        return body | ({"user_id": user} if user else {})

    learner = [
        ev("l1", "user_updated", "learns", "ana", 5, role="end_user",
           created_at=at(5)[:10]),
        ev("l2", "feature_used", "learns", "ana", 4, feature="tasks.create"),
        ev("l3", "feature_used", "learns", "ana", 4, feature="notifications.configure"),
        ev("l4", "article_viewed", "learns", "ana", 3,
           article_id="articles/getting-started/views-board-list-timeline.md"),
        ev("l5", "article_viewed", "learns", "ana", 3,
           article_id="tips/jump-anywhere-with-ctrl-k.md"),
        ev("l6", "feature_used", "learns", "ana", 2, feature="tags.apply"),
        ev("l7", "feature_used", "learns", "ana", 2, feature="filters.save"),
        ev("l8", "account_updated", "learns", None, 1, status="renewed"),
    ]
    idle = [
        ev("i1", "user_updated", "idle", "bo", 5, role="end_user", created_at=at(5)[:10]),
        ev("i2", "login", "idle", "bo", 4),
        ev("i3", "account_updated", "idle", None, 1, status="churned"),
    ]
    response = client.post("/v1/events", json={"events": learner + idle})
    assert response.json()["accepted"] == 11, response.text
    body = client.get("/v1/insights/education-retention").json()
    assert body["accounts"] == 2
    groups = [g for g in body["groups"] if g["accounts"]]
    assert len(groups) == 2, groups
    assert (groups[0]["churned"], groups[0]["renewal_rate"]) == (1, 0.0)
    assert (groups[1]["renewed"], groups[1]["renewal_rate"]) == (1, 1.0)
    assert sum(groups[0]["bands"].values()) == 1
