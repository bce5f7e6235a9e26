"""``GET /v1/tips/next`` and ``GET /v1/insights/tips`` over the real app and the sample tips."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.app.factory import create_app
from assistant.tips.delivery import holdout_bucket

BULK_EDIT = "tips/bulk-edit-due-dates.md"
_ids = itertools.count()


@pytest.fixture
def app(sample_knowledge, tmp_path):
    settings = sample_knowledge.settings.model_copy(update={"data_dir": tmp_path / "data"})
    with TestClient(create_app(settings, sample_knowledge)) as client:
        services = client.app.state.services
        services.access.create_tenant("globex")
        keys = {role: services.access.create_key("default", role)[1]
                for role in ("admin", "csm")}
        yield client, services, keys


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


def user_in(bucket_range: range, prefix: str = "user") -> str:
    return next(f"{prefix}-{i}" for i in range(10_000)
                if holdout_bucket("default", f"{prefix}-{i}") in bucket_range)


def send(client, key: str, events: list[dict]) -> None:
    response = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200 and not response.json()["errors"], response.text


def edits(user: str, account: str, n: int = 10, apart: timedelta = timedelta(minutes=1)
          ) -> list[dict]:
    """``n`` due-date edits, the last one just now."""
    now = datetime.now(UTC)
    return [{"id": f"e{next(_ids)}", "type": "feature_used", "account_id": account,
             "user_id": user, "ts": (now - (n - 1 - i) * apart).isoformat(),
             "properties": {"feature": "task.due_date_changed"}} for i in range(n)]


def tip_events(services, user: str) -> list[tuple[str, dict]]:
    rows = services.event_log.rows("default", user_id=user)
    return [(r.type, r.props()) for r in rows if r.type.startswith("tip_")]


def test_a_user_gets_the_tip_their_behaviour_fired_once_per_session_until_dismissed(app):
    client, services, keys = app
    user = user_in(range(10, 100))
    token = services.access.issue_token("default", user, "acme", "member", "en-US")
    first = client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    assert first.status_code == 200, first.text
    assert first.json() == {"tip": None, "reason": "no eligible tip"}

    send(client, keys["admin"], edits(user, "acme"))
    shown = client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    body = shown.json()
    assert set(body) == {"tip", "reason"}  # a user is not told about the experiment
    card = body["tip"]
    assert card["id"] == BULK_EDIT
    assert card["title"] == "Move a whole batch of due dates in one edit"
    assert card["value"] == "turns 20 separate edits into one" and len(card["steps"]) == 5
    assert card["steps"][0].startswith("Open the project in list view")
    assert "task.due_date_changed 10x within 1d" in body["reason"]
    again = client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    assert again.json()["tip"]["id"] == BULK_EDIT
    kinds = [kind for kind, _ in tip_events(services, user)]
    assert kinds == ["tip_eligible", "tip_shown"]  # recorded once, however often asked

    now = datetime.now(UTC).isoformat()
    dismissal = {"id": "d1", "type": "tip_dismissed", "account_id": "acme", "user_id": user,
                 "ts": now, "properties": {"tip_id": BULK_EDIT, "scope": "tip"}}
    send(client, token, [dismissal])
    capped = client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    assert capped.json()["tip"] is None and capped.json()["reason"].startswith("session cap")
    time.sleep(0.05)  # the same behaviour again, after the tip was shown
    send(client, keys["admin"], edits(user, "acme", apart=timedelta(milliseconds=1)))
    later = client.get("/v1/tips/next", params={"session_id": "s2"}, headers=bearer(token))
    assert later.json()["tip"] is None and later.json()["reason"].startswith("dismissed until")


def test_a_holdout_user_sees_no_tip_but_is_recorded_as_eligible(app):
    client, services, keys = app
    user = user_in(range(0, 10))
    token = services.access.issue_token("default", user, "acme")
    send(client, keys["admin"], edits(user, "acme"))
    response = client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    assert response.json()["tip"] is None and response.json()["reason"].startswith("holdout")
    events = tip_events(services, user)
    assert [(k, p["tip_id"], p["holdout"]) for k, p in events] == [
        ("tip_eligible", BULK_EDIT, True)
    ]


def test_staff_see_why_without_recording_and_users_reach_only_themselves(app):
    client, services, keys = app
    user = user_in(range(10, 100))
    send(client, keys["admin"], edits(user, "acme"))
    params = {"session_id": "s1", "user_id": user, "account_id": "acme"}
    before = services.event_log.count("default")
    why = client.get("/v1/tips/next", params={**params, "dry_run": "false"},
                     headers=bearer(keys["csm"]))
    assert why.status_code == 200, why.text
    assert why.json()["tip"]["id"] == BULK_EDIT and why.json()["eligible"] == [BULK_EDIT]
    assert why.json()["recorded"] is False and services.event_log.count("default") == before
    token = services.access.issue_token("default", "someone-else", "acme")
    other = client.get("/v1/tips/next", params=params, headers=bearer(token))
    assert other.status_code == 403 and "only for themselves" in other.text
    stranger = services.access.issue_token("globex", user, "acme")
    assert client.get("/v1/tips/next", params={"session_id": "s1", "kb": "sample"},
                      headers=bearer(stranger)).status_code == 404
    for bad in ({}, {"session_id": "s 1"}, {"session_id": "x" * 200}):
        response = client.get("/v1/tips/next", params=bad, headers=bearer(token))
        assert response.status_code == 422, response.text
    assert services.event_log.count("default") == before


def test_tip_insights_count_what_users_saw_and_did(app):
    client, services, keys = app
    shown_user, held_user = user_in(range(10, 100), "a"), user_in(range(0, 10), "b")
    for user in (shown_user, held_user):
        send(client, keys["admin"], edits(user, "acme"))
        token = services.access.issue_token("default", user, "acme")
        client.get("/v1/tips/next", params={"session_id": "s1"}, headers=bearer(token))
    token = services.access.issue_token("default", shown_user, "acme")
    now = datetime.now(UTC).isoformat()
    send(client, token, [{"id": "c1", "type": "tip_clicked", "account_id": "acme",
                          "user_id": shown_user, "ts": now,
                          "properties": {"tip_id": BULK_EDIT}}])
    report = client.get("/v1/insights/tips", headers=bearer(keys["csm"]))
    assert report.status_code == 200, report.text
    [row] = report.json()["tips"]
    assert (row["tip_id"], row["eligible"], row["eligible_holdout"], row["shown"],
            row["clicked"]) == (BULK_EDIT, 2, 1, 1, 1)
    assert row["engagement_rate"] == 1.0 and row["engagement_band"] == "excellent"
    # Adoption is judged 14 days after each exposure: both are still pending.
    assert row["adoption"]["shown"]["pending"] == 1 and row["lift"] is None
    assert client.get("/v1/insights/tips", headers=bearer(token)).status_code == 403
