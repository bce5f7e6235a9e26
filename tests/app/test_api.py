"""The HTTP API through real HTTP: the app with its lifespan, then the server process itself."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
from conftest import LOOPBACK, learnloop_command, running_server
from fastapi.testclient import TestClient

from assistant.app.factory import create_app
from ingest.sync import sync_path

QUESTION = "How do I turn on two-factor authentication?"


@pytest.fixture(scope="module")
def client(sample_knowledge):
    settings = sample_knowledge.settings.model_copy(update={"dev_mode": True})
    app = create_app(settings, sample_knowledge)
    # As an HTTP client sees it: a server error is a 500 response, not a raised exception.
    # Entering the client runs the lifespan.
    with TestClient(app, raise_server_exceptions=False, base_url=LOOPBACK) as test_client:
        yield test_client


def search(client, **body):
    return client.post("/v1/search", json={"query": QUESTION, "kb": "sample", **body})


def assert_error(response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    for fragment in fragments:
        assert fragment in error["message"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_knowledge_bases_of_the_callers_tenant(client):
    response = client.get("/v1/knowledge-bases")
    assert response.status_code == 200
    assert response.json() == {"knowledge_bases": ["sample"]}


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_docs_are_served(client, path):
    assert client.get(path).status_code == 200


def test_openapi_documents_search(client):
    assert "/v1/search" in client.get("/openapi.json").json()["paths"]


def test_search_happy_path(client):
    response = search(client, k=3)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert set(results[0]) == {"article_id", "title", "url", "score", "snippet"}
    assert results[0]["article_id"] == "articles/admin/two-factor-authentication.md"
    assert results[0]["url"].startswith("https://help.tasklane.example/")


def test_search_default_k_is_5(client):
    assert len(search(client).json()["results"]) == 5


def test_search_with_filters(client):
    response = client.post("/v1/search", json={
        "query": "¿cómo invito a mi equipo?", "kb": "sample", "k": 10,
        "filters": {"locale": "es", "kind": ["article"]},
    })
    results = response.json()["results"]
    assert results and all(r["article_id"].startswith("articles/es/") for r in results)


@pytest.mark.parametrize(("body", "fragment"), [
    ({"query": ""}, "query"),
    ({"query": "   "}, "query is empty"),
    ({"query": "x" * 2001}, "query"),
    ({"k": 0}, "k"),
    ({"k": 51}, "k"),
    ({"k": "five"}, "k"),
    ({"query": 42}, "query"),
    ({"kb": "Sample KB!"}, "not valid"),
    ({"filters": {"product": "tasklane"}}, "product"),
    ({"filters": {"level": 3}}, "level"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_input_is_422(client, body, fragment):
    assert_error(search(client, **body), 422, "invalid_input", fragment)


def test_missing_query_is_422(client):
    assert_error(client.post("/v1/search", json={"kb": "sample"}), 422, "invalid_input", "query")


def test_body_that_is_not_json_is_422(client):
    response = client.post("/v1/search", content=b"query=2fa",
                           headers={"content-type": "application/json"})
    assert_error(response, 422, "invalid_input")


def test_unknown_kb_is_404_naming_it(client):
    assert_error(search(client, kb="billing-faq"), 404, "kb_not_found", "'billing-faq'", "sample")


def test_body_over_the_limit_is_413(client):
    response = client.post("/v1/search", content=b"{" + b" " * 2_000_000 + b"}",
                           headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large", "limit is 1000000")


def test_chunked_body_over_the_limit_is_413(client):
    padded = b'{"query": "two factor", "kb": "sample"' + b" " * 2_000_000 + b"}"

    def body():  # a generator: no Content-Length, the body goes out chunked
        yield padded[:1000]
        yield padded[1000:]

    response = client.post("/v1/search", content=body(),
                           headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_huge_filter_list_is_rejected_as_invalid_input(client):
    response = search(client, filters={"level": ["beginner"] * 40_000})  # ~480 KB, under 1 MB
    assert_error(response, 422, "invalid_input", "level")


def test_configured_k_limit_applies(sample_knowledge):
    settings = sample_knowledge.settings.model_copy(update={"max_k": 10, "dev_mode": True})
    with TestClient(create_app(settings, sample_knowledge), base_url=LOOPBACK) as limited:
        assert_error(search(limited, k=20), 422, "invalid_input", "k")


def test_bad_requests_change_nothing(client, sample_knowledge):
    catalog = sample_knowledge.get("sample").catalog
    before = (catalog.counts(), catalog.generation)
    for body in ({"query": ""}, {"k": 0}, {"kb": "nope"}, {"filters": {"x": "y"}}):
        assert search(client, **body).status_code >= 400
    assert (catalog.counts(), catalog.generation) == before
    assert sample_knowledge.names() == ["sample"]


# --- the real server ------------------------------------------------------------------------


@pytest.mark.slow
def test_learnloop_serve_answers_over_http(knowledge, mini_kb, data_dir, tmp_path):
    assert sync_path(knowledge, "mini", mini_kb).ok
    with running_server(data_dir, tmp_path) as base:
        response = httpx.post(f"{base}/v1/search", timeout=30,
                              json={"query": "I forgot my password", "kb": "mini", "k": 2})
        assert response.status_code == 200
        assert response.json()["results"][0]["article_id"] == "articles/reset-your-password.md"


@pytest.mark.slow
def test_server_sees_an_ingest_made_by_another_process(data_dir, mini_kb, tmp_path):
    """A running server picks up documents that `learnloop ingest` adds in another process,
    in its dense index too (embedded Chroma would otherwise keep serving a stale index)."""
    env = {**os.environ, "LEARNLOOP_DATA_DIR": str(data_dir)}

    def ingest() -> None:
        subprocess.run([*learnloop_command(), "ingest", str(mini_kb), "--kb", "mini"], env=env,
                       check=True, capture_output=True)

    ingest()
    with running_server(data_dir, tmp_path) as base:
        query = {"query": "connect xero bills", "kb": "mini", "k": 3}
        assert httpx.post(f"{base}/v1/search", json=query, timeout=30).status_code == 200
        (mini_kb / "xero.md").write_text(
            "---\ntitle: Connect Xero\n---\n\nTo connect Xero accounting, open Settings, "
            "Integrations, Xero and approve the bills sync.\n")
        ingest()
        for mode in ("hybrid", "dense"):
            found = httpx.post(f"{base}/v1/search", json={**query, "mode": mode}, timeout=30)
            assert found.json()["results"][0]["article_id"] == "xero.md", (mode, found.text)


def test_article_by_id_with_its_text(client):
    response = client.get("/v1/articles/articles/how-to/bulk-edit.md", params={"kb": "sample"})
    assert response.status_code == 200, response.text
    article = response.json()
    assert article["title"] == "Edit many tasks at once with bulk edit"
    assert article["url"] == "https://help.tasklane.example/articles/how-to/bulk-edit"
    assert article["feature"] == "tasks.bulk_edit"
    assert any("1. Select the tasks." in s["text"] for s in article["sections"])


@pytest.mark.parametrize(("path", "params", "status", "fragment"), [
    ("/v1/articles/articles/nope.md", {"kb": "sample"}, 404, "'articles/nope.md' is not in"),
    ("/v1/articles/articles/how-to/bulk-edit.md", {"kb": "nope"}, 404, "'nope' does not exist"),
    ("/v1/articles/articles/how-to/bulk-edit.md", {}, 422, "kb"),
])
def test_article_errors(client, path, params, status, fragment):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]


def test_chat_page_is_served_at_the_root(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Ask the help center" in response.text and 'fetch("/v1/chat"' in response.text
