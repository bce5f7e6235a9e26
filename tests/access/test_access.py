"""Tenants, API keys and user tokens: who may call, and that no tenant reaches another's data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from conftest import LOOPBACK, MINI_KB, knowledge_with, running_server
from fastapi.testclient import TestClient

from assistant.access.rate_limits import RateLimiter
from assistant.access.registry import AccessRegistry
from assistant.answering.answers import Answer, Handoff
from assistant.app.factory import create_app
from assistant.chat.conversations import ConversationStore
from assistant.cli.main import app as cli_app
from assistant.errors import ErrorCode, LearnloopError
from assistant.settings import Settings
from assistant.storage.database import open_database
from ingest.sync import sync_path

QUESTION = "I forgot my password, how do I reset it?"


# --- the registry ---------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, database_url: str | None) -> Iterator[AccessRegistry]:
    """The registry on SQLite and on PostgreSQL (every registry test runs on both)."""
    database = open_database(database_url, tmp_path, "access.sqlite")
    registry = AccessRegistry(database, max_token_lifetime=3600)
    registry.create_tenant("acme")
    registry.create_tenant("globex")
    yield registry
    database.close()


def test_a_key_authenticates_as_its_tenant_and_role_and_is_stored_hashed(
    registry, tmp_path, database_url
):
    key_id, key = registry.create_key("acme", "agent", "support desk")
    caller = registry.authenticate(key)
    assert (caller.tenant, caller.role, caller.key_id) == ("acme", "agent", key_id)
    secret = key.split("_", 2)[2]
    stored = open_database(database_url, tmp_path, "access.sqlite")
    rows = stored.fetchall("SELECT * FROM api_keys")
    stored.close()
    assert len(rows) == 1 and not any(secret in str(value) for value in rows[0])
    if database_url is None:
        assert secret.encode() not in (tmp_path / "access.sqlite").read_bytes()
    assert registry.keys("acme")[0] == {
        "key_id": key_id, "role": "agent", "label": "support desk",
        "created_at": registry.keys("acme")[0]["created_at"], "revoked_at": None,
    }


@pytest.mark.parametrize(("mangle", "fragment"), [
    (lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"), "not valid"),
    (lambda key: "llk_0123456789abcdef_" + key.split("_", 2)[2], "not valid"),
    (lambda key: "llk_short", "malformed"),
    (lambda key: "hunter2", "neither"),
])
def test_wrong_keys_are_refused(registry, mangle, fragment):
    _, key = registry.create_key("acme", "admin")
    with pytest.raises(LearnloopError) as error:
        registry.authenticate(mangle(key))
    assert error.value.code == ErrorCode.unauthorized and fragment in error.value.message


def test_a_revoked_key_is_refused(registry):
    key_id, key = registry.create_key("acme", "csm")
    registry.revoke_key(key_id)
    with pytest.raises(LearnloopError, match="revoked"):
        registry.authenticate(key)


def test_bad_tenant_and_role_input(registry):
    with pytest.raises(LearnloopError, match="already exists"):
        registry.create_tenant("acme")
    with pytest.raises(LearnloopError, match="not valid"):
        registry.create_tenant("Acme Inc!")
    with pytest.raises(LearnloopError, match="not a key role"):
        registry.create_key("acme", "root")
    with pytest.raises(LearnloopError, match="does not exist"):
        registry.create_key("initech", "agent")


def test_a_user_token_names_user_account_role_and_locale(registry):
    token = registry.issue_token("acme", "u-1", "acct-9", "manager", "es-ES", ttl=600)
    caller = registry.authenticate(token)
    assert caller.tenant == "acme" and caller.role == "end_user"
    assert (caller.user_id, caller.account_id, caller.user_role, caller.locale) == (
        "u-1", "acct-9", "manager", "es-ES")


def _sign(claims: dict, secret: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.mark.parametrize(("make", "fragment"), [
    # signed with another tenant's secret
    (lambda r, now: _sign({"tenant": "acme", "sub": "u", "iat": now, "exp": now + 60},
                          r.token_secret("globex")), "not signed by the tenant it names"),
    (lambda r, now: _sign({"tenant": "acme", "sub": "u", "iat": now - 600, "exp": now - 300},
                          r.token_secret("acme")), "expired"),
    (lambda r, now: _sign({"tenant": "acme", "sub": "u", "iat": now, "exp": now + 7200},
                          r.token_secret("acme")), "at most 3600 s"),
    (lambda r, now: _sign({"tenant": "acme", "iat": now, "exp": now + 60},
                          r.token_secret("acme")), "sub"),
    (lambda r, now: _sign({"tenant": "acme", "sub": "u", "iat": now},
                          r.token_secret("acme")), "exp"),
    (lambda r, now: _sign({"tenant": "initech", "sub": "u", "iat": now, "exp": now + 60},
                          "x" * 32), "not signed by the tenant it names"),
    (lambda r, now: _sign({"tenant": "acme", "sub": "u", "iat": now, "exp": now + 60},
                          r.token_secret("acme"), "HS512"), "HS256"),
    (lambda r, now: jwt.encode({"tenant": "acme", "sub": "u", "iat": now, "exp": now + 60},
                               None, algorithm="none"), "HS256"),
    (lambda r, now: _sign({"tenant": "acme", "sub": 42, "iat": now, "exp": now + 60},
                          r.token_secret("acme")), "Subject must be a string"),
])
def test_forged_expired_and_malformed_tokens_are_refused(registry, make, fragment):
    # An unknown tenant and another tenant's signature read alike: 401s don't list tenants.
    now = int(time.time())
    with pytest.raises(LearnloopError) as error:
        registry.authenticate(make(registry, now))
    assert error.value.code == ErrorCode.unauthorized
    assert fragment in error.value.message


# --- over HTTP: two tenants, each with its own knowledge base ------------------------------


@pytest.fixture(scope="module")
def tenants(tmp_path_factory, embedders, model_dir):
    """Tenants acme (KB 'help') and globex (KB 'internal'), both from the mini fixture."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("tenants-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    registry = AccessRegistry(open_database(None, settings.data_dir, "access.sqlite"))
    secrets = {name: registry.create_tenant(name) for name in ("acme", "globex")}
    assert sync_path(knowledge, "help", MINI_KB, tenant="acme").ok
    assert sync_path(knowledge, "internal", MINI_KB, tenant="globex").ok
    keys = {
        (tenant, role): registry.create_key(tenant, role)[1]
        for tenant in ("acme", "globex")
        for role in ("admin", "agent", "csm", "ingest")
    }
    return settings, knowledge, registry, secrets, keys


@pytest.fixture
def client(tenants):
    settings, knowledge, *_ = tenants
    with TestClient(create_app(settings, knowledge)) as test_client:
        yield test_client


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


def ask(client, credential: str | None, kb: str = "help", **extra):
    headers = bearer(credential) if credential else {}
    return client.post("/v1/chat", json={"question": QUESTION, "kb": kb, **extra},
                       headers=headers)


def assert_error(response, status: int, code: str, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert fragment in response.json()["error"]["message"]


def test_no_credentials_outside_dev_mode_is_401(client):
    response = client.post("/v1/search", json={"query": QUESTION, "kb": "help"})
    assert_error(response, 401, "unauthorized", "missing credentials")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_error(client.get("/v1/knowledge-bases", headers={"authorization": "Basic abc"}),
                 401, "unauthorized", "Bearer")


def test_each_tenant_sees_only_its_own_knowledge_bases(client, tenants):
    keys = tenants[4]
    listed = client.get("/v1/knowledge-bases", headers=bearer(keys["acme", "agent"]))
    assert listed.json() == {"knowledge_bases": ["help"]}
    listed = client.get("/v1/knowledge-bases", headers=bearer(keys["globex", "agent"]))
    assert listed.json() == {"knowledge_bases": ["internal"]}

    found = client.post("/v1/search", json={"query": QUESTION, "kb": "help"},
                        headers=bearer(keys["acme", "agent"]))
    assert found.status_code == 200 and found.json()["results"]
    for path, body in (("/v1/search", {"query": QUESTION, "kb": "help"}),
                       ("/v1/chat", {"question": QUESTION, "kb": "help"})):
        response = client.post(path, json=body, headers=bearer(keys["globex", "admin"]))
        assert_error(response, 404, "kb_not_found", "'help' does not exist (known: internal)")
    article = client.get("/v1/articles/articles/reset-your-password.md", params={"kb": "help"},
                         headers=bearer(keys["globex", "admin"]))
    assert_error(article, 404, "kb_not_found")


def test_an_ingest_key_cannot_ask(client, tenants):
    assert_error(ask(client, tenants[4]["acme", "ingest"]), 403, "forbidden", "ingest")


def test_users_see_only_their_own_sessions(client, tenants):
    _, _, registry, _, keys = tenants
    conversations = client.app.state.services.conversations
    alice = registry.issue_token("acme", "alice", "acct-1", "member", "en-US")
    bob = registry.issue_token("acme", "bob", "acct-1")
    started = ask(client, alice)
    assert started.status_code == 200, started.text
    session_id = started.json()["session_id"]

    own = client.get(f"/v1/sessions/{session_id}", headers=bearer(alice))
    assert own.status_code == 200
    assert (own.json()["user_id"], own.json()["account_id"]) == ("alice", "acct-1")
    # The tenant's support agent may read it (to take over); others see nothing at all.
    assert client.get(f"/v1/sessions/{session_id}",
                      headers=bearer(keys["acme", "agent"])).status_code == 200
    before = conversations.count_messages()
    for credential in (bob, keys["globex", "admin"]):
        assert_error(client.get(f"/v1/sessions/{session_id}", headers=bearer(credential)),
                     404, "not_found", "does not exist")
    assert_error(ask(client, bob, session_id=session_id), 404, "not_found")
    globex_user = registry.issue_token("globex", "alice")
    assert_error(ask(client, globex_user, kb="internal", session_id=session_id), 404, "not_found")
    assert conversations.count_messages() == before


def test_forged_and_expired_tokens_are_refused_over_http_and_store_nothing(client, tenants):
    secrets = tenants[3]
    now = int(time.time())
    forged = _sign({"tenant": "acme", "sub": "mallory", "iat": now, "exp": now + 60},
                   secrets["globex"])
    expired = _sign({"tenant": "acme", "sub": "alice", "iat": now - 900, "exp": now - 600},
                    secrets["acme"])
    before = client.app.state.services.conversations.count_messages()
    assert_error(ask(client, forged), 401, "unauthorized", "not signed by the tenant")
    assert_error(ask(client, expired), 401, "unauthorized", "expired")
    assert client.app.state.services.conversations.count_messages() == before


def test_dev_mode_is_the_default_tenant_but_still_checks_sent_credentials(tenants, tmp_path):
    settings, knowledge, _, _, keys = tenants
    dev = settings.model_copy(update={"dev_mode": True})
    with TestClient(create_app(dev, knowledge), base_url=LOOPBACK) as client:
        assert client.get("/v1/knowledge-bases").json() == {"knowledge_bases": []}
        # The placeholder key an OpenAI client must send is the dev admin too …
        for placeholder in ("anything", "sk-local", "ollama"):
            listed = client.get("/v1/knowledge-bases", headers=bearer(placeholder))
            assert listed.json() == {"knowledge_bases": []}, placeholder
        # … while a Learnloop key or user token is checked, and stands for its own tenant.
        assert_error(client.get("/v1/knowledge-bases", headers=bearer("llk_nope")),
                     401, "unauthorized")
        assert_error(client.get("/v1/knowledge-bases", headers=bearer("a.b.c")),
                     401, "unauthorized")
        acme = client.get("/v1/knowledge-bases", headers=bearer(keys["acme", "agent"]))
        assert acme.json() == {"knowledge_bases": ["help"]}


def test_the_openai_client_reaches_dev_mode_with_any_key(tenants):
    """Ollama, LM Studio and llama.cpp accept any key locally; so does dev mode."""
    import openai

    settings, knowledge, *_ = tenants
    dev = settings.model_copy(update={"dev_mode": True})
    with TestClient(create_app(dev, knowledge), base_url=LOOPBACK) as client:
        openai_client = openai.OpenAI(
            api_key="anything", base_url=f"{LOOPBACK}/v1", http_client=client)
        assert openai_client.models.list().data == []


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "10.0.0.5:8000",
                                  "127.0.0.1.evil.example", "localhost.evil.example"])
def test_dev_mode_refuses_requests_addressed_to_other_hosts(tenants, host):
    """DNS rebinding: a page on evil.example re-resolved to 127.0.0.1 sends its own name in
    Host; dev mode (an admin without credentials) must not answer it."""
    settings, knowledge, *_ = tenants
    dev = settings.model_copy(update={"dev_mode": True})
    with TestClient(create_app(dev, knowledge), base_url=LOOPBACK) as client:
        response = client.get("/v1/knowledge-bases", headers={"host": host})
        assert_error(response, 403, "forbidden", "addressed to")
        for loopback in ("localhost:8000", "127.0.0.1", "127.0.0.2:8000", "[::1]:8000",
                         "app.localhost"):
            assert client.get("/v1/knowledge-bases", headers={"host": loopback}).status_code \
                == 200, loopback


def test_outside_dev_mode_any_host_is_served_and_other_bearers_are_refused(client, tenants):
    keys = tenants[4]
    listed = client.get("/v1/knowledge-bases", headers={
        "host": "learnloop.example.com", **bearer(keys["acme", "agent"])})
    assert listed.status_code == 200
    assert_error(client.get("/v1/knowledge-bases", headers=bearer("anything")),
                 401, "unauthorized", "neither")


# --- rate limits ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_key_and_each_user_has_its_own_budget_and_429_says_when_to_retry(tenants):
    settings, knowledge, registry, _, keys = tenants
    limited = settings.model_copy(update={"rate_limit_per_key": 3, "rate_limit_per_user": 2})
    clock = FakeClock()
    with TestClient(create_app(limited, knowledge)) as client:
        client.app.state.services.rate_limiter = RateLimiter(3, 2, clock=clock)
        agent = bearer(keys["acme", "agent"])
        for _ in range(3):
            assert client.get("/v1/knowledge-bases", headers=agent).status_code == 200
        refused = client.get("/v1/knowledge-bases", headers=agent)
        assert_error(refused, 429, "rate_limited", "more than 3 requests in a minute")
        assert refused.headers["retry-after"] == "20"  # 3 a minute: one every 20 s
        # Another key of the same tenant, and each end user, spend their own budgets.
        assert client.get("/v1/knowledge-bases", headers=bearer(keys["acme", "admin"])) \
            .status_code == 200
        user = registry.issue_token("acme", "u-1", "acct-1")
        other_user = registry.issue_token("acme", "u-2", "acct-1")
        assert [ask(client, user).status_code for _ in range(3)] == [200, 200, 429]
        assert ask(client, other_user).status_code == 200
        # The budget refills with time.
        clock.now += 20
        assert client.get("/v1/knowledge-bases", headers=agent).status_code == 200
        assert client.get("/v1/knowledge-bases", headers=agent).status_code == 429


def test_a_refused_request_does_no_work(tenants):
    """A 429 is decided before the request is read: the chat turn is not recorded."""
    settings, knowledge, registry, _, _ = tenants
    with TestClient(create_app(settings, knowledge)) as client:
        client.app.state.services.rate_limiter = RateLimiter(0, 1, clock=FakeClock())
        user = registry.issue_token("acme", "u-9", "acct-9")
        assert ask(client, user).status_code == 200
        before = client.app.state.services.conversations.count_messages()
        assert ask(client, user).status_code == 429
        assert client.app.state.services.conversations.count_messages() == before


def test_the_limiter_forgets_idle_callers(monkeypatch):
    import assistant.access.rate_limits as rate_limits
    from assistant.access.registry import Caller

    monkeypatch.setattr(rate_limits, "_PRUNE_AT", 10)
    clock = FakeClock()
    limiter = RateLimiter(60, 60, clock=clock)
    for i in range(10):
        limiter.spend(Caller(tenant="acme", role="end_user", user_id=f"u{i}"))
    clock.now += 61
    limiter.spend(Caller(tenant="acme", role="end_user", user_id="late"))
    assert len(limiter._buckets) == 1


def test_sessions_table_gains_tenant_columns_on_an_old_store(tmp_path):
    import sqlite3

    path = tmp_path / "conversations.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, kb TEXT NOT NULL, created_at TEXT NOT NULL);"
        "INSERT INTO sessions VALUES ('s1', 'sample', '2026-01-01T00:00:00+00:00');")
    old.close()
    store = ConversationStore(open_database(None, tmp_path, "conversations.sqlite"))
    assert store.session("s1")["user_id"] is None
    assert store.create_session("sample", tenant="acme", user_id="u1")


# --- the CLI and the real server ------------------------------------------------------------


@pytest.mark.slow
def test_cli_sets_up_a_tenant_whose_key_works_against_a_real_server(
    cli, knowledge, data_dir, tmp_path
):
    created = cli.invoke(cli_app, ["tenant", "create", "acme"])
    assert created.exit_code == 0 and "token secret" in created.output
    refused = cli.invoke(cli_app, ["ingest", str(MINI_KB), "--kb", "help", "--tenant", "initech"])
    assert refused.exit_code != 0 and "tenant create initech" in refused.output
    assert cli.invoke(cli_app, ["ingest", str(MINI_KB), "--kb", "help", "--tenant", "acme",
                                "--json"]).exit_code == 0
    made = cli.invoke(cli_app, ["key", "create", "--tenant", "acme", "--role", "agent"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    token = cli.invoke(cli_app, ["token", "create", "--tenant", "acme", "--user", "u1"])
    assert token.exit_code == 0
    bad_role = cli.invoke(cli_app, ["key", "create", "--tenant", "acme", "--role", "root"])
    assert bad_role.exit_code != 0 and "not a key role" in bad_role.output

    with running_server(data_dir, tmp_path, dev=False) as base:
        body = {"query": QUESTION, "kb": "help"}
        assert httpx.post(f"{base}/v1/search", json=body, timeout=30).status_code == 401
        for credential in (key, token.output.strip()):
            found = httpx.post(f"{base}/v1/search", json=body, headers=bearer(credential),
                               timeout=30)
            assert found.status_code == 200, found.text
            assert found.json()["results"][0]["article_id"] == "articles/reset-your-password.md"
        key_id = key.split("_")[1]
        assert cli.invoke(cli_app, ["key", "revoke", key_id]).exit_code == 0
        revoked = httpx.post(f"{base}/v1/search", json=body, headers=bearer(key), timeout=30)
        assert revoked.status_code == 401 and "revoked" in revoked.text


def test_me_names_the_caller(client, tenants):
    _, _, registry, _, keys = tenants
    token = registry.issue_token("acme", "alice", "acct-1", "manager", "es-ES")
    me = client.get("/v1/me", headers=bearer(token)).json()
    assert me == {"tenant": "acme", "role": "end_user", "user_id": "alice",
                  "account_id": "acct-1", "user_role": "manager", "locale": "es-ES"}
    staff = client.get("/v1/me", headers=bearer(keys["globex", "csm"])).json()
    assert (staff["tenant"], staff["role"], staff["user_id"]) == ("globex", "csm", None)


# --- the conversation store on both dialects --------------------------------------------------


def answered(text: str) -> Answer:
    return Answer(text, [], 0.8, True, Handoff(False))



@pytest.fixture
def conversations(tmp_path: Path, database_url: str | None) -> Iterator[ConversationStore]:
    database = open_database(database_url, tmp_path, "conversations.sqlite")
    yield ConversationStore(database)
    database.close()


def test_sessions_belong_to_their_tenant_and_end_user(conversations):
    from assistant.access.registry import Caller
    mine = conversations.create_session("help", tenant="acme", user_id="u1", account_id="a1")
    conversations.add_turn(mine, "how do I export?", answered("Use the export button."))
    conversations.add_turn(mine, "and on mobile?", answered("Same menu."))
    end_user = Caller("acme", "end_user", user_id="u1", account_id="a1")
    session = conversations.session(mine, end_user)
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"] * 2
    assert session["messages"][3]["answer"]["answer"] == "Same menu."
    assert conversations.questions(mine) == ["how do I export?", "and on mobile?"]
    assert conversations.session(mine, Caller("acme", "agent")) is not None  # staff see it
    assert conversations.session(mine, Caller("acme", "end_user", user_id="u2")) is None
    assert conversations.session(mine, Caller("globex", "admin")) is None
    assert conversations.count_messages() == 4


def test_turns_added_at_once_to_one_session_keep_their_order(conversations):
    from concurrent.futures import ThreadPoolExecutor

    session = conversations.create_session("help", tenant="acme")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: conversations.add_turn(session, f"q{i}", answered(f"a{i}")),
                      range(20)))
    messages = conversations.session(session)["messages"]
    assert len(messages) == 40
    # every question is followed by its own answer
    assert all(q["text"][1:] == a["text"][1:] for q, a in zip(messages[::2], messages[1::2],
                                                               strict=True))


def test_a_store_an_earlier_release_migrated_is_adopted_with_its_data(tmp_path):
    import sqlite3

    path = tmp_path / "conversations.sqlite"
    first = ConversationStore(open_database(None, tmp_path, "conversations.sqlite"))
    session = first.create_session("sample", tenant="acme", user_id="u1")
    # what the earlier release left: its own PRAGMA user_version count, no schema_migrations
    old = sqlite3.connect(path)
    old.executescript("DROP TABLE schema_migrations; PRAGMA user_version=2;")
    old.close()
    store = ConversationStore(open_database(None, tmp_path, "conversations.sqlite"))
    assert store.session(session)["user_id"] == "u1"


def test_with_a_database_url_nothing_is_kept_in_sqlite_files(sample_knowledge, tmp_path,
                                                              postgres_url):
    data_dir = tmp_path / "data"
    settings = sample_knowledge.settings.model_copy(
        update={"data_dir": data_dir, "dev_mode": True, "database_url": postgres_url}
    )
    with TestClient(create_app(settings, sample_knowledge), base_url=LOOPBACK) as client:
        question = {"question": "How do I export tasks?", "kb": "sample"}
        answer = client.post("/v1/chat", json=question)
        assert answer.status_code == 200
        session = client.get(f"/v1/sessions/{answer.json()['session_id']}")
        assert session.status_code == 200 and len(session.json()["messages"]) == 2
    assert not list(data_dir.glob("*.sqlite")), "stores must live in PostgreSQL"
    import psycopg

    with psycopg.connect(postgres_url) as pg:
        tables = {r[0] for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='public'")}
        assert {"sessions", "messages", "tenants", "api_keys", "events"} <= tables
        assert pg.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 2
