"""Adversarial: solved tickets are agent-only knowledge. Nothing ingested as tickets reaches an
end user or any answerer path (answers, search, OpenAI-compatible chat, articles, the
knowledge-base and model lists), whoever asks; only ``similar_tickets`` reads them, for
``admin`` and ``agent``.

Tickets carrying a canary are ingested beside the knowledge base 'help' and as the only
knowledge of 'ops'. Every operation of the OpenAPI document has a probe below, sent with an
end user's token and with every key role: no response may contain the canary, and 'ops' is
never found. A new route without a probe fails ``test_every_route_has_a_probe``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import MINI_KB, knowledge_with
from fastapi.testclient import TestClient

from assistant.access.registry import AccessRegistry, Caller
from assistant.app.factory import create_app
from assistant.knowledge.base import Knowledge
from assistant.knowledge.similar_tickets import similar_tickets
from assistant.settings import Settings
from assistant.storage.database import open_database
from ingest.sync import sync_path

CANARY = "zq8tkt"  # only in the tickets
QUESTION = "The password reset email never arrives, what should I do?"
ROLES = ("admin", "agent", "csm", "ingest")
CALLERS = (*ROLES, "end-user")
TICKETS = [
    {"id": "CAN-1", "subject": "Password reset email never arrives", "status": "solved",
     "messages": [
         {"from": "customer", "text": f"The password reset email never arrives. Our {CANARY} "
                                      "mail filter may block it."},
         {"from": "agent", "text": f"Your {CANARY} filter holds it."}],
     "resolution": f"Add the {CANARY} relay to your mail allow-list, then request a new "
                   "password reset email; it arrives within 5 minutes.",
     "tags": ["account", CANARY]},
]


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


def _probes(kb: str, session_id: str) -> dict[tuple[str, str], list[Probe]]:
    """Every documented operation, aimed at ``kb``, asking about the tickets' subject."""
    chat = {"question": QUESTION, "kb": kb}
    completion = {"model": kb, "messages": [{"role": "user", "content": QUESTION}]}
    return {
        ("POST", "/v1/search"): [
            Probe("POST", "/v1/search", json={"query": QUESTION, "kb": kb}),
            Probe("POST", "/v1/search", json={"query": CANARY, "kb": kb}),
        ],
        ("GET", "/v1/me"): [Probe("GET", "/v1/me")],
        ("GET", "/v1/knowledge-bases"): [Probe("GET", "/v1/knowledge-bases")],
        ("GET", "/v1/articles/{article_id}"): [
            Probe("GET", "/v1/articles/ticket/CAN-1", params={"kb": kb}),
            Probe("GET", "/v1/articles/CAN-1", params={"kb": kb}),
        ],
        ("GET", "/v1/models"): [Probe("GET", "/v1/models")],
        ("POST", "/v1/chat/completions"): [
            Probe("POST", "/v1/chat/completions", json=completion),
            Probe("POST", "/v1/chat/completions", json={**completion, "stream": True}),
        ],
        ("POST", "/v1/chat"): [Probe("POST", "/v1/chat", json=chat)],
        ("POST", "/v1/chat/stream"): [Probe("POST", "/v1/chat/stream", json=chat)],
        ("GET", "/v1/sessions"): [Probe("GET", "/v1/sessions")],
        ("GET", "/v1/sessions/{session_id}"): [Probe("GET", f"/v1/sessions/{session_id}")],
        ("GET", "/v1/users/{user_id}/learning"): [
            Probe("GET", "/v1/users/ana/learning", params={"kb": kb}),
        ],
        ("GET", "/v1/accounts/{account_id}/learning"): [
            Probe("GET", "/v1/accounts/acme-1/learning", params={"kb": kb}),
        ],
        ("GET", "/v1/insights/content-gaps"): [Probe("GET", "/v1/insights/content-gaps")],
        ("GET", "/v1/insights/education-retention"): [
            Probe("GET", "/v1/insights/education-retention"),
        ],
        ("GET", "/v1/insights/tips"): [Probe("GET", "/v1/insights/tips", params={"kb": kb})],
        ("GET", "/v1/accounts"): [Probe("GET", "/v1/accounts")],
        ("GET", "/v1/accounts/{account_id}/health"): [Probe("GET", "/v1/accounts/acme-1/health")],
        ("POST", "/v1/events"): [Probe("POST", "/v1/events", json={"events": []})],
        ("GET", "/v1/accounts/{account_id}/events"): [
            Probe("GET", "/v1/accounts/acme-1/events"),
        ],
        ("GET", "/v1/tips/next"): [
            Probe("GET", "/v1/tips/next", params={"kb": kb, "session_id": session_id}),
        ],
        ("POST", "/v1/batch"): [Probe("POST", "/v1/batch", json={"batch": []})],
        **{
            ("POST", f"/v1/{kind}"): [Probe("POST", f"/v1/{kind}", json={"userId": "ana"})]
            for kind in ("track", "identify", "group", "page", "screen", "alias")
        },
        ("GET", "/healthz"): [Probe("GET", "/healthz")],
        ("POST", "/v1/copilot/draft"): [Probe("POST", "/v1/copilot/draft", json={
            "kb": kb, "ticket": {"subject": "Password reset", "body": QUESTION}})],
        ("POST", "/v1/copilot/feedback"): [Probe("POST", "/v1/copilot/feedback", json={
            "draft_id": "d-unknown", "action": "rejected"})],
        ("GET", "/v1/insights/copilot"): [Probe("GET", "/v1/insights/copilot")],
    }


# The route made to give agents solved tickets: staff get them there (and only there).
_STAFF_TICKETS = {("POST", "/v1/copilot/draft")}


@dataclass
class World:
    client: TestClient
    knowledge: Knowledge
    credentials: dict[str, str]
    session_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedders, model_dir) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("tickets-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    registry = AccessRegistry(open_database(None, settings.data_dir, "access.sqlite"))
    registry.create_tenant("acme")
    export = Path(tmp_path_factory.mktemp("tickets")) / "tickets.jsonl"
    export.write_text("\n".join(json.dumps(t) for t in TICKETS), encoding="utf-8")
    assert sync_path(knowledge, "help", MINI_KB, tenant="acme").ok
    for kb in ("help", "ops"):
        assert sync_path(knowledge, kb, export, tenant="acme", tickets=True).ok
    credentials = {role: registry.create_key("acme", role)[1] for role in ROLES}
    credentials["end-user"] = registry.issue_token("acme", "ana", "acme-1", "member")
    with TestClient(create_app(settings, knowledge)) as client:
        now = datetime.now(UTC).isoformat()
        events = [{"id": f"e{i}", "type": kind, "account_id": "acme-1", "user_id": "ana",
                   "ts": now, "properties": props}
                  for i, (kind, props) in enumerate([("login", {}), ("answer_given", {
                      "answered": False, "confidence": 0.1, "question": QUESTION,
                      "message_id": "m1"})])]
        stored = client.post("/v1/events", json={"events": events},
                             headers=_bearer(credentials["admin"]))
        assert stored.status_code == 200, stored.text
        reply = client.post("/v1/chat", json={"question": QUESTION, "kb": "help"},
                            headers=_bearer(credentials["end-user"]))
        assert reply.status_code == 200, reply.text
        yield World(client, knowledge, credentials, str(reply.json()["session_id"]))


def _bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


def _operations(client: TestClient) -> Iterator[tuple[str, str]]:
    for path, operations in client.app.openapi()["paths"].items():
        for method in operations:
            yield method.upper(), path


def test_the_tickets_are_there_for_staff(world: World) -> None:
    """The control: the canary ticket is what the question finds, for an agent or admin."""
    for role in ("agent", "admin"):
        found = similar_tickets(world.knowledge, Caller(tenant="acme", role=role), "help",
                                QUESTION, k=1)
        assert [t.ticket_id for t in found] == ["CAN-1"]
        assert CANARY in found[0].resolution


def test_every_route_has_a_probe(world: World) -> None:
    probes = _probes("help", world.session_id)
    missing = [f"{m} {p}" for m, p in _operations(world.client) if (m, p) not in probes]
    assert missing == [], "add a ticket-isolation probe for: " + "; ".join(missing)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("kb", ["help", "ops"])
def test_no_route_serves_tickets(
    world: World, caller: str, kb: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = _bearer(world.credentials[caller])
    for route, probes in _probes(kb, world.session_id).items():
        for probe in probes:
            response = world.client.request(
                probe.method, probe.url, params=probe.params, json=probe.json, headers=headers)
            what = f"{caller} {probe.method} {probe.url} {probe.params or probe.json}"
            assert response.status_code < 500, f"{what} -> {response.status_code}"
            if route in _STAFF_TICKETS and caller in ("agent", "admin"):
                continue
            assert CANARY not in response.text, f"{what} served a ticket: {response.text[:300]}"
            assert "ops" not in _names_listed(route, response), f"{what} lists the ticket KB"
            if kb == "ops" and route in _OPENS_A_KB and caller != "ingest":
                assert response.status_code == 404, f"{what} -> {response.status_code}"
    assert CANARY not in caplog.text


# Routes that open the knowledge base they are given: one with only tickets does not exist.
_OPENS_A_KB = {
    ("POST", "/v1/search"), ("GET", "/v1/articles/{article_id}"),
    ("POST", "/v1/chat/completions"), ("POST", "/v1/chat"), ("POST", "/v1/chat/stream"),
}


def _names_listed(route: tuple[str, str], response: Any) -> list[str]:
    if response.status_code != 200:
        return []
    if route == ("GET", "/v1/knowledge-bases"):
        return list(response.json()["knowledge_bases"])
    if route == ("GET", "/v1/models"):
        return [model["id"] for model in response.json()["data"]]
    return []


def test_the_answerers_never_see_tickets(world: World) -> None:
    """Below the routes: the knowledge base an answerer opens holds no ticket."""
    base = world.knowledge.get("help", tenant="acme")
    assert all(not d.id.startswith("ticket/") for d in base.catalog.documents())
    assert world.knowledge.names("acme") == ["help"]
