"""Adversarial: object-level authorization (BOLA) across tenants and users, from the OpenAPI
document, and cross-tenant canaries.

Two tenants share one server. Globex's knowledge base, events, sessions and users carry a
canary string. Every operation of the OpenAPI document that takes an id (in its path, its
query or its body) has a case below that aims it at globex's ids — and, for an end user, at
another user's ids in the same tenant — with every role of acme: the answer must be 403 or
404 (or, where the id only filters acme's own data, carry none of globex's), and no
response or log line of the whole run may contain the canary. A new route that takes an id
and has no case fails ``test_every_route_that_takes_an_id_has_a_case``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import MINI_KB, knowledge_with
from fastapi.testclient import TestClient

from assistant.access.registry import AccessRegistry
from assistant.app.factory import create_app
from assistant.settings import Settings
from assistant.storage.database import open_database
from ingest.sync import sync_path

CANARY = "zq7canary"  # one token: BM25, the models and the answerers all see it whole
PRIVATE = "ana7private"  # in acme's first end user's session and events only
ROLES = ("admin", "agent", "csm", "ingest")
# Parameters that name an object of a tenant (ids) rather than shape a response.
ID_PARAMS = {"article_id", "session_id", "account_id", "user_id", "kb", "model", "draft_id"}


@dataclass(frozen=True)
class Victim:
    """The ids an attacker aims at: another tenant's, or another user's in one tenant."""

    kb: str
    article_id: str
    session_id: str
    account_id: str
    user_id: str
    draft_id: str  # a copilot draft made by the victim's tenant


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None
    # 200 allowed when the id only filters the caller's own tenant's data (no leak possible
    # if nothing of the victim's comes back; the canary check decides).
    may_succeed: bool = False
    # Names an object one user or account owns (a session, a user, an account), not only a
    # knowledge base or an article: aimed at a colleague's too.
    owned: bool = True


Case = Callable[[Victim, str], list[Probe]]  # (victim, the attacker's own kb) -> probes


def _question(kb: str, **extra: Any) -> dict[str, Any]:
    return {"question": f"what is {CANARY}?", "kb": kb, **extra}


def _ticket(kb: str, **extra: Any) -> dict[str, Any]:
    return {"kb": kb, "ticket": {"subject": "password", "body": "How do I reset my password?"},
            **extra}


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/v1/articles/{article_id}"): lambda v, own: [
        Probe("GET", f"/v1/articles/{v.article_id}", params={"kb": v.kb}, owned=False),
        Probe("GET", f"/v1/articles/{v.article_id}", params={"kb": own}, may_succeed=True,
              owned=False),
    ],
    ("GET", "/v1/sessions/{session_id}"): lambda v, own: [
        Probe("GET", f"/v1/sessions/{v.session_id}"),
    ],
    ("GET", "/v1/sessions"): lambda v, own: [
        # Only ever lists the caller's tenant (an end user's own): may answer, never leak.
        Probe("GET", "/v1/sessions", params={"user_id": v.user_id}, may_succeed=True),
        Probe("GET", "/v1/sessions", params={"kb": v.kb}, may_succeed=True, owned=False),
    ],
    ("POST", "/v1/search"): lambda v, own: [
        Probe("POST", "/v1/search", json={"query": CANARY, "kb": v.kb}, owned=False),
    ],
    ("POST", "/v1/chat"): lambda v, own: [
        Probe("POST", "/v1/chat", json=_question(v.kb), owned=False),
        Probe("POST", "/v1/chat", json=_question(own, session_id=v.session_id)),
    ],
    ("POST", "/v1/chat/stream"): lambda v, own: [
        Probe("POST", "/v1/chat/stream", json=_question(v.kb), owned=False),
        Probe("POST", "/v1/chat/stream", json=_question(own, session_id=v.session_id)),
    ],
    ("POST", "/v1/chat/completions"): lambda v, own: [
        Probe("POST", "/v1/chat/completions",
              json={"model": v.kb, "messages": [{"role": "user", "content": CANARY}]},
              owned=False),
        Probe("POST", "/v1/chat/completions",
              json={"model": own, "session_id": v.session_id,
                    "messages": [{"role": "user", "content": CANARY}]}),
    ],
    ("GET", "/v1/accounts/{account_id}/events"): lambda v, own: [
        Probe("GET", f"/v1/accounts/{v.account_id}/events"),
    ],
    ("GET", "/v1/accounts/{account_id}/health"): lambda v, own: [
        Probe("GET", f"/v1/accounts/{v.account_id}/health"),
    ],
    ("GET", "/v1/accounts/{account_id}/learning"): lambda v, own: [
        Probe("GET", f"/v1/accounts/{v.account_id}/learning"),
    ],
    ("GET", "/v1/users/{user_id}/learning"): lambda v, own: [
        Probe("GET", f"/v1/users/{v.user_id}/learning"),
        Probe("GET", f"/v1/users/{v.user_id}/learning", params={"account_id": v.account_id}),
        Probe("GET", f"/v1/users/{v.user_id}/learning", params={"kb": v.kb}),
    ],
    ("GET", "/v1/insights/content-gaps"): lambda v, own: [
        Probe("GET", "/v1/insights/content-gaps", params={"account_id": v.account_id},
              may_succeed=True),
    ],
    ("GET", "/v1/insights/tips"): lambda v, own: [
        Probe("GET", "/v1/insights/tips", params={"kb": v.kb}, owned=False),
    ],
    ("POST", "/v1/copilot/draft"): lambda v, own: [
        Probe("POST", "/v1/copilot/draft", json=_ticket(v.kb), owned=False),
        # The victim's user and account only name customers of the caller's own tenant
        # (none, here): a draft may come back, with an empty customer panel.
        Probe("POST", "/v1/copilot/draft",
              json=_ticket(own, user_id=v.user_id, account_id=v.account_id),
              may_succeed=True),
    ],
    ("POST", "/v1/copilot/feedback"): lambda v, own: [
        Probe("POST", "/v1/copilot/feedback",
              json={"draft_id": v.draft_id, "action": "rejected", "reason": "probe"}),
    ],
    ("GET", "/v1/insights/copilot"): lambda v, own: [
        Probe("GET", "/v1/insights/copilot", params={"kb": v.kb}, may_succeed=True,
              owned=False),
    ],
    ("GET", "/v1/tips/next"): lambda v, own: [
        Probe("GET", "/v1/tips/next", params={"kb": v.kb, "session_id": v.session_id},
              owned=False),
        Probe("GET", "/v1/tips/next", params={
            "kb": v.kb, "session_id": v.session_id, "user_id": v.user_id,
            "account_id": v.account_id}),
        # The victim's ids only name users of the caller's own tenant (none, here: no leak).
        Probe("GET", "/v1/tips/next", params={
            "kb": own, "session_id": v.session_id, "user_id": v.user_id,
            "account_id": v.account_id}, may_succeed=True),
    ],
}


@dataclass
class World:
    client: TestClient
    credentials: dict[str, str]  # name -> bearer credential
    globex: Victim  # what acme's callers aim at
    acme_user_1: Victim  # what acme's second end user aims at
    responses: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedders, model_dir) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("bola-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    registry = AccessRegistry(open_database(None, settings.data_dir, "access.sqlite"))
    for tenant in ("acme", "globex"):
        registry.create_tenant(tenant)
    canary_kb = tmp_path_factory.mktemp("globex-kb")
    shutil.copytree(MINI_KB, canary_kb, dirs_exist_ok=True)
    (canary_kb / "articles" / "secret-plan.md").write_text(
        f"# Globex {CANARY} plan\n\nThe {CANARY} rollout starts in March for every "
        f"{CANARY} customer.\n", encoding="utf-8")
    assert sync_path(knowledge, "help", MINI_KB, tenant="acme").ok
    assert sync_path(knowledge, "internal", canary_kb, tenant="globex").ok
    credentials = {
        f"{tenant}-{role}": registry.create_key(tenant, role)[1]
        for tenant in ("acme", "globex") for role in ROLES
    }
    credentials |= {
        "acme-user-1": registry.issue_token("acme", "ana", "acme-1", "member"),
        "acme-user-2": registry.issue_token("acme", "bo", "acme-2", "member"),
        "globex-user": registry.issue_token("globex", "gx-user-9", "gx-acct-9"),
    }
    with TestClient(create_app(settings, knowledge)) as client:
        now = datetime.now(UTC).isoformat()

        def bearer(name: str) -> dict[str, str]:
            return {"authorization": f"Bearer {credentials[name]}"}

        def chat(name: str, kb: str, marker: str) -> str:
            reply = client.post("/v1/chat", json={"question": f"what is {marker}?", "kb": kb},
                                headers=bearer(name))
            assert reply.status_code == 200, reply.text
            return str(reply.json()["session_id"])

        for tenant, account, user, marker in (
                ("globex", "gx-acct-9", "gx-user-9", CANARY),
                ("acme", "acme-1", "ana", PRIVATE)):
            events = [{"id": f"{tenant}-e{i}", "type": kind, "account_id": account,
                       "user_id": user, "ts": now, "properties": props}
                      for i, (kind, props) in enumerate([
                          ("login", {}),
                          ("feature_used", {"feature": f"{marker}.feature"}),
                          ("answer_given", {"answered": False, "confidence": 0.1,
                                            "question": f"{marker} {tenant} question",
                                            "message_id": f"{tenant}-m"})])]
            stored = client.post("/v1/events", json={"events": events},
                                 headers=bearer(f"{tenant}-admin"))
            assert stored.json()["accepted"] == 3, stored.text
        def copilot_draft(name: str, kb: str, marker: str) -> str:
            reply = client.post("/v1/copilot/draft", headers=bearer(name), json={
                "kb": kb, "ticket": {"subject": marker, "body": f"what is {marker}?"}})
            assert reply.status_code == 200, reply.text
            return str(reply.json()["draft_id"])

        globex = Victim("internal", "articles/secret-plan.md",
                        chat("globex-user", "internal", CANARY), "gx-acct-9",
                        "gx-user-9", copilot_draft("globex-agent", "internal", CANARY))
        acme_user_1 = Victim("help", "articles/reset-your-password.md",
                             chat("acme-user-1", "help", PRIVATE), "acme-1", "ana",
                             copilot_draft("acme-agent", "help", PRIVATE))
        yield World(client, credentials, globex, acme_user_1, [])


def _operations(client: TestClient) -> Iterator[tuple[str, str, set[str]]]:
    """(method, path, the id parameters it takes) for every documented operation."""
    document = client.app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                ref = media.get("schema", {}).get("$ref", "")
                names |= set(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            yield method.upper(), path, names & ID_PARAMS


def test_every_route_that_takes_an_id_has_a_case(world: World) -> None:
    missing = [
        f"{method} {path} ({', '.join(sorted(ids))})"
        for method, path, ids in _operations(world.client)
        if ids and (method, path) not in CASES
    ]
    assert missing == [], "add a BOLA case for: " + "; ".join(missing)


ATTACKERS = [f"acme-{role}" for role in ROLES] + ["acme-user-2"]


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_no_caller_reaches_another_tenants_or_users_objects(
    world: World, route: tuple[str, str], attacker: str, caplog: pytest.LogCaptureFixture
) -> None:
    victims = [(world.globex, CANARY)]
    if attacker == "acme-user-2":  # an end user: also a colleague's objects
        victims.append((world.acme_user_1, PRIVATE))
    headers = {"authorization": f"Bearer {world.credentials[attacker]}"}
    caplog.set_level(logging.DEBUG)
    for victim, marker in victims:
        for probe in CASES[route](victim, "help"):
            if victim is world.acme_user_1 and not probe.owned:
                continue  # the tenant's own knowledge base: the user's to read
            response = world.client.request(
                probe.method, probe.url, params=probe.params, json=probe.json, headers=headers)
            what = f"{attacker} {probe.method} {probe.url} {probe.params or probe.json}"
            allowed = {403, 404} | ({200} if probe.may_succeed else set())
            assert response.status_code in allowed, f"{what} -> {response.status_code}"
            assert marker not in response.text.replace(f"what is {marker}?", ""), \
                f"{what} leaked: {response.text[:300]}"
    assert CANARY not in caplog.text


def test_mass_assignment_never_changes_who_is_asking(world: World) -> None:
    """Fields a caller adds to a body (a tenant, a user, a role) are refused or ignored: the
    request still runs as the credential's tenant and user."""
    client = world.client
    agent = {"authorization": f"Bearer {world.credentials['acme-agent']}"}
    user = {"authorization": f"Bearer {world.credentials['acme-user-2']}"}
    extra = {"tenant": "globex", "tenant_id": "globex", "user_id": "ana", "role": "admin"}
    search = client.post("/v1/search", json={"query": CANARY, "kb": "help", **extra},
                         headers=agent)
    assert search.status_code == 422 and "tenant" in search.text
    chat = client.post("/v1/chat", json={**_question("help"), **extra}, headers=user)
    assert chat.status_code == 422
    completion = client.post(
        "/v1/chat/completions",
        json={"model": "help", "messages": [{"role": "user", "content": CANARY}], **extra},
        headers=user)
    assert completion.status_code == 200 and CANARY not in completion.text.replace(
        f"what is {CANARY}", "")
    session = completion.json()["session_id"]
    # The session is the token's user's, not the "user_id" sent along.
    assert client.get(f"/v1/sessions/{session}", headers=user).status_code == 200
    ana = {"authorization": f"Bearer {world.credentials['acme-user-1']}"}
    assert client.get(f"/v1/sessions/{session}", headers=ana).status_code == 404
    events = client.post("/v1/events", json={"events": [], **extra}, headers=agent)
    assert events.status_code == 422


def test_staff_of_one_tenant_see_none_of_the_other_in_lists(world: World) -> None:
    """Routes without ids list the caller's tenant only: no canary in any of them."""
    client = world.client
    for role in ("admin", "agent", "csm"):
        headers = {"authorization": f"Bearer {world.credentials[f'acme-{role}']}"}
        for url in ("/v1/knowledge-bases", "/v1/models", "/v1/accounts", "/v1/sessions",
                    "/v1/insights/content-gaps", "/v1/insights/education-retention", "/v1/me"):
            response = client.get(url, headers=headers)
            assert response.status_code in (200, 403), f"{role} {url} {response.status_code}"
            assert CANARY not in response.text, f"{role} {url}"
        found = client.post("/v1/search", json={"query": f"{CANARY} rollout plan", "kb": "help"},
                            headers=headers)
        assert found.status_code in (200, 403) and CANARY not in found.text
