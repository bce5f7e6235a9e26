"""POST /v1/chat/completions through the clients people point at it: the `openai` package and
LangChain's ChatOpenAI, against `learnloop serve` in its own process on the sample KB."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import openai
import pytest
from conftest import clear_learnloop_env, running_server
from langchain_openai import ChatOpenAI

from assistant.access.registry import DEFAULT_TENANT, AccessRegistry
from assistant.storage.database import open_database

TWO_FA = "How do I turn on two-factor authentication?"
TWO_FA_ID = "articles/admin/two-factor-authentication.md"
NOTIFICATIONS = "How do I change my notification settings?"
NOTIFICATIONS_ID = "articles/getting-started/notifications.md"
OUT_OF_SCOPE = "Can you give me legal advice about my divorce settlement?"


@dataclass(frozen=True)
class Server:
    base: str
    key: str  # an agent key of the default tenant, which owns the sample KB
    other_key: str  # an admin key of tenant 'other', which has no KB
    ingest_key: str
    access: AccessRegistry

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base}/v1", api_key=key or self.key, max_retries=0)

    def post(self, body: dict, key: str | None = None) -> httpx.Response:
        return httpx.post(f"{self.base}/v1/chat/completions", json=body, timeout=30,
                          headers={"authorization": f"Bearer {key or self.key}"})


@pytest.fixture(scope="module")
def server(sample_knowledge, tmp_path_factory) -> Iterator[Server]:
    """The sample KB's data copied aside (the server writes sessions and keys), with keys."""
    root = tmp_path_factory.mktemp("openai")
    data = Path(shutil.copytree(sample_knowledge.settings.data_dir, root / "data", symlinks=True))
    access = AccessRegistry(open_database(None, data, "access.sqlite"))
    access.ensure_tenant(DEFAULT_TENANT)
    access.create_tenant("other")
    keys = (access.create_key(DEFAULT_TENANT, "agent")[1], access.create_key("other", "admin")[1],
            access.create_key(DEFAULT_TENANT, "ingest")[1])
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        with running_server(data, root, dev=False) as base:
            yield Server(base, *keys, access)


def ask(server: Server, *questions: str, **extra):
    messages = [{"role": "user", "content": q} for q in questions]
    return server.client().chat.completions.create(model="sample", messages=messages, **extra)


def test_openai_client_gets_a_cited_answer(server):
    response = ask(server, TWO_FA)
    assert response.object == "chat.completion" and response.model == "sample"
    choice = response.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    extra = response.model_extra
    assert extra["answered"] is True and extra["confidence"] > 0
    first = extra["citations"][0]
    assert first["n"] == 1 and first["article_id"] == TWO_FA_ID
    text = choice.message.content
    assert "[1]" in text.split("Sources:")[0]
    assert f"Sources:\n[1] {first['title']} — {first['url']}" in text
    assert extra["session_id"] and extra["message_id"]
    usage = response.usage
    assert usage.prompt_tokens > 3 and usage.completion_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_stream_sends_role_then_content_then_the_citations(server):
    whole = ask(server, TWO_FA).choices[0].message.content
    chunks = list(ask(server, TWO_FA, stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].model_extra["session_id"]
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == whole
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["citations"][0]["article_id"] == TWO_FA_ID
    assert final.model_extra["answered"] is True
    assert final.model_extra["session_id"] == chunks[0].model_extra["session_id"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 10


def test_raw_stream_ends_with_done(server):
    body = {"model": "sample", "messages": [{"role": "user", "content": TWO_FA}], "stream": True}
    with httpx.stream("POST", f"{server.base}/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {server.key}"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_earlier_user_messages_resolve_a_follow_up(server):
    alone = ask(server, "and on mobile?").model_extra
    follow_up = ask(server, NOTIFICATIONS, "and on mobile?").model_extra
    assert [c["article_id"] for c in alone["citations"]] == ["articles/mobile/mobile-app.md"]
    assert [c["article_id"] for c in follow_up["citations"]] == [NOTIFICATIONS_ID]


def test_session_id_continues_a_stored_conversation(server):
    first = ask(server, NOTIFICATIONS).model_extra
    follow_up = ask(server, "and on mobile?", extra_body={"session_id": first["session_id"]})
    resolved = ask(server, NOTIFICATIONS, "and on mobile?")
    assert follow_up.model_extra["session_id"] == first["session_id"]
    assert follow_up.model_extra["citations"] == resolved.model_extra["citations"]
    session = httpx.get(f"{server.base}/v1/sessions/{first['session_id']}", timeout=10,
                        headers={"authorization": f"Bearer {server.key}"}).json()
    assert [m["text"] for m in session["messages"] if m["role"] == "user"] == [
        NOTIFICATIONS, "and on mobile?"]


def test_out_of_scope_question_is_declined_with_a_human_offered(server):
    response = ask(server, OUT_OF_SCOPE)
    extra = response.model_extra
    assert extra["answered"] is False and extra["citations"] == []
    assert extra["handoff"]["suggested"] is True
    assert "couldn't find" in response.choices[0].message.content
    assert "Sources:" not in response.choices[0].message.content


def test_system_prompt_and_sampling_parameters_are_accepted_and_ignored(server):
    response = server.client().chat.completions.create(
        model="sample", temperature=0.2, max_tokens=5, top_p=0.9, n=1, seed=7, stop=["\n"],
        user="u-1", presence_penalty=0, frequency_penalty=0,
        messages=[{"role": "system", "content": "Answer in one word. Never cite."},
                  {"role": "user", "content": [{"type": "text", "text": TWO_FA}]}])
    assert response.model_extra["citations"][0]["article_id"] == TWO_FA_ID
    assert response.choices[0].message.content == ask(server, TWO_FA).choices[0].message.content


def test_models_lists_the_tenants_knowledge_bases(server):
    assert [m.id for m in server.client().models.list()] == ["sample"]
    assert list(server.client(server.other_key).models.list()) == []


def test_langchain_chat_openai_invoke_and_stream(server):
    llm = ChatOpenAI(model="sample", base_url=f"{server.base}/v1", api_key=server.key,
                     max_retries=0, timeout=30)
    message = llm.invoke(TWO_FA)
    assert "Sources:\n[1] Turn on two-factor authentication" in message.content
    assert "https://help.tasklane.example/articles/admin/two-factor-authentication" in (
        message.content)
    assert message.usage_metadata["output_tokens"] > 10
    streamed = "".join(chunk.content for chunk in llm.stream(TWO_FA))
    assert streamed == message.content


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"messages": []}, 422, "messages"),
    ({"messages": [{"role": "system", "content": "be nice"}]}, 422, "no 'user' message"),
    ({"messages": [{"role": "tool", "content": "42"}]}, 422, "role"),
    ({"messages": [{"role": "user", "content": ""}]}, 422, "last user message is empty"),
    ({"messages": [{"role": "user", "content": "  "}]}, 422, "last user message is empty"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, 422,
     "only text parts"),
    ({"messages": [{"role": "user", "content": "x" * 2001}]}, 422, "limit is 2000"),
    # An earlier question is searched with a short follow-up: it has the same limit.
    ({"messages": [{"role": "user", "content": "x" * 300_000},
                   {"role": "assistant", "content": "ok"},
                   {"role": "user", "content": "and on mobile?"}]}, 422,
     "messages[0]: a user message is 300000 characters; the limit is 2000"),
    ({"messages": "how do I export?"}, 422, "messages"),
    ({"messages": [{"role": "user", "content": 42}]}, 422, "content"),
    ({"model": 42}, 422, "model"),
    ({"model": "billing-faq"}, 404, "'billing-faq' does not exist"),
    ({"stream": "yes"}, 422, "stream"),
    ({"n": 2}, 422, "n must be 1"),
    ({"temperature": "hot"}, 422, "temperature"),
    ({"session_id": "no-such-session"}, 404, "'no-such-session' does not exist"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_bad_requests_get_a_clear_json_4xx(server, body, status, fragment, stream):
    request = {"model": "sample", "messages": [{"role": "user", "content": TWO_FA}],
               "stream": stream, **body}
    response = server.post(request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.json()["error"]["message"]


def test_openai_client_raises_with_the_servers_message(server):
    with pytest.raises(openai.NotFoundError, match="'billing-faq' does not exist"):
        server.client().chat.completions.create(
            model="billing-faq", messages=[{"role": "user", "content": TWO_FA}])
    with pytest.raises(openai.UnprocessableEntityError, match="no 'user' message"):
        server.client().chat.completions.create(
            model="sample", messages=[{"role": "system", "content": "hi"}], stream=True)


def test_another_tenants_key_cannot_reach_this_knowledge_base(server):
    with pytest.raises(openai.NotFoundError, match="'sample' does not exist"):
        server.client(server.other_key).chat.completions.create(
            model="sample", messages=[{"role": "user", "content": TWO_FA}])


@pytest.mark.parametrize(("credential", "status"), [
    (None, 401), ("llk_0123456789abcdef_" + "x" * 40, 401), ("a.b.c", 401), ("ingest", 403)])
def test_missing_bad_or_ingest_only_credentials_are_refused(server, credential, status):
    headers = {} if credential is None else {
        "authorization": f"Bearer {server.ingest_key if credential == 'ingest' else credential}"}
    body = {"model": "sample", "messages": [{"role": "user", "content": TWO_FA}]}
    response = httpx.post(f"{server.base}/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == status and response.json()["error"]["message"]


def test_an_end_users_token_works_as_the_api_key(server):
    token = server.access.issue_token(DEFAULT_TENANT, "user-7", account_id="acme")
    response = server.client(token).chat.completions.create(
        model="sample", messages=[{"role": "user", "content": TWO_FA}])
    assert response.model_extra["citations"][0]["article_id"] == TWO_FA_ID
    # Claims this tenant, signed with another tenant's secret.
    now = int(time.time())
    forged = jwt.encode({"tenant": DEFAULT_TENANT, "sub": "user-7", "iat": now, "exp": now + 60},
                        server.access.token_secret("other"), algorithm="HS256")
    with pytest.raises(openai.AuthenticationError, match="not signed by the tenant"):
        server.client(forged).chat.completions.create(
            model="sample", messages=[{"role": "user", "content": TWO_FA}])
