"""The Segment-compatible tracking API, driven by Segment's official Python client
(``segment-analytics-python``) against a real ``learnloop serve``: the mapping, accounts,
tenant isolation, write keys, per-message reports, and a retried batch stored once."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LOOPBACK, clear_learnloop_env, link_models, running_server
from fastapi.testclient import TestClient
from segment.analytics import Client
from segment.analytics.request import APIError
from typer.testing import CliRunner

from assistant.app.factory import create_app
from assistant.cli.main import app as cli_app
from assistant.settings import Settings


@dataclass
class Server:
    base: str
    keys: dict[tuple[str, str], str]  # (tenant, role) → API key

    def events(self, tenant: str, account_id: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.base}/v1/accounts/{account_id}/events", params={"limit": 500},
            headers={"authorization": f"Bearer {self.keys[tenant, 'admin']}"}, timeout=30,
        )
        if response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["events"]))  # oldest first


@dataclass
class Errors:
    """What the client's ``on_error`` was handed: (exception, the batch it gave up on)."""

    seen: list[tuple[Exception, list[dict[str, Any]]]] = field(default_factory=list)

    def __call__(self, error: Exception, batch: list[dict[str, Any]]) -> None:
        self.seen.append((error, batch))


def cli(*args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Server]:
    """One server for the module (tenants acme and globex; each test uses its own users
    and accounts), set up with the CLI the way an operator would."""
    data = tmp_path_factory.mktemp("segment-data")
    link_models(data, model_dir)
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        mp.setenv("LEARNLOOP_DATA_DIR", str(data))
        keys = {}
        for tenant in ("acme", "globex"):
            cli("tenant", "create", tenant)
            for role in ("ingest", "admin", "csm"):
                output = cli("key", "create", "--tenant", tenant, "--role", role)
                keys[tenant, role] = output.strip().splitlines()[-1]
        cli("tenant", "update", "acme",
            "--track-event", "Report Scheduled=feature:reports.schedule",
            "--track-event", "Survey Answered=nps_response")
        with running_server(data, tmp_path_factory.mktemp("segment-log"), dev=False) as base:
            yield Server(base, keys)


def client(key: str, host: str, errors: Errors, **options: Any) -> Client:
    return Client(write_key=key, host=host, on_error=errors, max_retries=3, **options)


def send(segment: Client) -> None:
    segment.flush()
    segment.join()


def test_track_identify_and_group_land_as_mapped_events_with_the_right_account(server):
    errors = Errors()
    segment = client(server.keys["acme", "ingest"], server.base, errors, gzip=True)
    segment.group("u-ana", "acct-map", {"name": "Map Co", "plan": "pro", "seats": 12,
                                        "industry": "retail"})
    segment.identify("u-ana", {"role": "manager", "createdAt": "2026-09-01T00:00:00Z",
                               "email": "ana@map.example"}, context={"locale": "es-ES"})
    segment.track("u-ana", "Report Scheduled", {"format": "pdf"})
    segment.track("u-ana", "Invoice Sent")
    segment.track("u-ana", "Survey Answered", {"score": 9})
    send(segment)
    assert errors.seen == []
    # A later batch: the user's account now comes from the group call stored before.
    later = client(server.keys["acme", "ingest"], server.base, errors)
    later.track("u-ana", "Invoice Sent", message_id="later-1")
    send(later)
    assert errors.seen == []

    events = server.events("acme", "acct-map")
    assert [(e["type"], e["user_id"]) for e in events] == [
        ("account_updated", "u-ana"), ("user_updated", "u-ana"), ("feature_used", "u-ana"),
        ("feature_used", "u-ana"), ("nps_response", "u-ana"), ("feature_used", "u-ana"),
    ]
    account, user, scheduled, invoice, survey, _ = (e["properties"] for e in events)
    assert account == {"name": "Map Co", "plan": "pro", "seats": 12}
    assert user == {"role": "manager", "created_at": "2026-09-01T00:00:00Z", "locale": "es-ES"}
    assert scheduled["feature"] == "reports.schedule"  # the tenant's mapping
    assert invoice["feature"] == "invoice_sent"  # no mapping: the name, normalized
    assert survey["score"] == 9
    assert events[-1]["id"] == "segment:later-1"


def test_a_message_without_an_account_is_reported_and_the_others_stored(server):
    errors = Errors()
    segment = client(server.keys["acme", "ingest"], server.base, errors)
    segment.track("u-bea", "Invoice Sent", context={"groupId": "acct-report"})
    segment.track("u-nobody", "Invoice Sent")
    segment.track("u-bea", "Survey Answered", {"comment": "no score"},
                  context={"groupId": "acct-report"})
    send(segment)
    ((error, batch),) = errors.seen
    assert isinstance(error, APIError) and error.status == 400  # not retried: a 4xx
    assert "2 of 3 messages refused" in error.message
    assert "[1] no account for user 'u-nobody'" in error.message
    assert "[2] nps_response needs properties.score" in error.message
    assert len(batch) == 3
    assert [e["properties"]["feature"] for e in server.events("acme", "acct-report")] == [
        "invoice_sent"]


def test_another_tenants_key_neither_writes_into_nor_reads_this_tenant(server):
    acme, globex = Errors(), Errors()
    first = client(server.keys["acme", "ingest"], server.base, acme)
    first.group("u-cy", "acct-iso", {"plan": "pro"}, message_id="iso-1")
    send(first)
    other = client(server.keys["globex", "ingest"], server.base, globex)
    other.track("u-cy", "Invoice Sent")  # acme's group call does not place u-cy in globex
    other.group("u-cy", "acct-iso", {"plan": "free"}, message_id="iso-1")  # the same ids
    other.track("u-cy", "Report Scheduled")  # acme's mapping is not globex's
    send(other)
    assert acme.seen == []
    ((error, _),) = globex.seen
    assert "1 of 3 messages refused" in str(error)
    assert "[0] no account for user 'u-cy'" in str(error)

    assert [e["properties"] for e in server.events("acme", "acct-iso")] == [{"plan": "pro"}]
    theirs = server.events("globex", "acct-iso")
    assert theirs[0]["properties"] == {"plan": "free"}
    assert theirs[1]["properties"]["feature"] == "report_scheduled"
    # An ingest key writes but does not read; a csm key reads its own tenant only.
    path = f"{server.base}/v1/accounts/acct-iso/events"
    for key in (server.keys["globex", "ingest"], server.keys["acme", "ingest"]):
        read = httpx.get(path, headers={"authorization": f"Bearer {key}"}, timeout=30)
        assert read.status_code == 403
    globex_csm = {"authorization": f"Bearer {server.keys['globex', 'csm']}"}
    seen = httpx.get(path, headers=globex_csm, timeout=30).json()["events"]
    assert [e["type"] for e in seen] == ["feature_used", "account_updated"]  # newest first


def basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


MESSAGE = {"type": "track", "event": "Invoice Sent", "userId": "u-key",
           "context": {"groupId": "acct-keys"}}


@pytest.mark.parametrize(("headers", "status", "fragment"), [
    ({}, 401, "missing write key"),
    (basic("not-a-key"), 401, "neither a Learnloop API key"),
    (basic("llk_0123456789abcdef_" + "x" * 40), 401, "API key is not valid"),
    ({"authorization": "Basic %%%"}, 401, "not base64"),
    ({"authorization": "Digest abc"}, 401, "must be 'Basic base64(key:)'"),
    ("csm", 403, "role 'csm' may not do this"),
])
def test_a_missing_or_wrong_write_key_is_refused_and_nothing_stored(
    server, headers, status, fragment
):
    if headers == "csm":
        headers = basic(server.keys["acme", "csm"])
    response = httpx.post(f"{server.base}/v1/batch", json={"batch": [MESSAGE]},
                          headers=headers, timeout=30)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]
    assert server.events("acme", "acct-keys") == []


def test_the_official_client_with_a_bad_key_gets_a_401_and_stores_nothing(server):
    errors = Errors()
    segment = client("llk_0123456789abcdef_" + "y" * 40, server.base, errors)
    segment.track("u-key", "Invoice Sent", context={"groupId": "acct-keys"})
    send(segment)
    ((error, _),) = errors.seen
    assert isinstance(error, APIError) and error.status == 401
    assert server.events("acme", "acct-keys") == []


def test_single_calls_and_skipped_calls_answer_like_segment(server):
    headers = basic(server.keys["acme", "ingest"])
    message = {k: v for k, v in MESSAGE.items() if k != "type"}
    message["context"] = {"groupId": "acct-single"}
    ok = httpx.post(f"{server.base}/v1/track", json={**message, "messageId": "single-1"},
                    headers=headers, timeout=30)
    assert ok.status_code == 200 and ok.json()["success"] is True
    assert ok.json()["stored"] == 1
    again = httpx.post(f"{server.base}/v1/track", json={**message, "messageId": "single-1"},
                       headers=headers, timeout=30)
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    lost = httpx.post(f"{server.base}/v1/track", json={**message, "userId": "u-lost",
                      "context": {}}, headers=headers, timeout=30)
    assert lost.status_code == 400 and lost.json()["stored"] == 0
    assert lost.json()["message"].startswith(
        "the message was refused: [0] no account for user 'u-lost'")
    wrong = httpx.post(f"{server.base}/v1/identify", json={**message, "type": "track"},
                       headers=headers, timeout=30)
    assert wrong.status_code == 400 and "this is /v1/identify" in wrong.json()["message"]
    page = httpx.post(f"{server.base}/v1/page", json={"userId": "u-key", "name": "Home"},
                      headers=headers, timeout=30)
    assert page.status_code == 200
    assert "page calls are not stored" in page.json()["skipped"][0]["reason"]
    identify = httpx.post(f"{server.base}/v1/identify", headers=headers, timeout=30, json={
        "userId": "u-key", "traits": {"role": "admin", "account_id": "acct-single"}})
    assert identify.status_code == 200, identify.text
    assert [e["type"] for e in server.events("acme", "acct-single")] == [
        "feature_used", "user_updated"]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    (b"{not json", 400, "the body is not JSON"),
    (b"[]", 400, "must be a JSON object"),
    (json.dumps({"batch": []}).encode(), 400, "'batch' must be a non-empty list"),
    (json.dumps({"batch": [{**MESSAGE, "properties": {"pad": "x" * 600_000}}]}).encode(),
     413, "over 512000 bytes"),
])
def test_a_request_unreadable_or_over_segments_limit_is_refused_whole(
    server, body, status, fragment
):
    headers = {**basic(server.keys["acme", "ingest"]), "content-type": "application/json"}
    response = httpx.post(f"{server.base}/v1/batch", content=body, headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["success"] is False and fragment in response.json()["message"]


def test_a_gzip_bomb_is_refused_without_inflating_it(server):
    bomb = gzip.compress(json.dumps({"batch": [{**MESSAGE, "pad": " " * 5_000_000}]}).encode())
    assert len(bomb) < 100_000
    headers = {**basic(server.keys["acme", "ingest"]), "content-encoding": "gzip"}
    response = httpx.post(f"{server.base}/v1/batch", content=bomb, headers=headers, timeout=30)
    assert response.status_code == 413


class FlakyProxy:
    """Forwards every request to Learnloop, but answers the first one 503 after Learnloop
    stored it: the client believes the upload failed and sends the same batch again."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.answers: list[dict[str, Any]] = []  # what Learnloop said to each forward
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type", "content-encoding")}
                answer = httpx.post(f"{proxy.upstream}{self.path}", content=body,
                                    headers=headers, timeout=30)
                proxy.answers.append(answer.json())
                status, payload = answer.status_code, answer.content
                if len(proxy.answers) == 1:
                    status, payload = 503, b'{"code": "unavailable", "message": "try again"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_a_batch_the_client_retries_is_stored_exactly_once(server):
    errors = Errors()
    with FlakyProxy(server.base) as proxy:
        segment = client(server.keys["acme", "ingest"], proxy.url, errors)
        segment.group("u-dee", "acct-retry", {"plan": "pro"})
        for n in range(3):
            segment.track("u-dee", "Invoice Sent", {"n": n})
        send(segment)
    assert errors.seen == []  # the client saw the retry succeed
    first, second = proxy.answers  # one upload answered 503, then its retry
    assert (first["stored"], first["duplicates"]) == (4, 0)
    assert (second["stored"], second["duplicates"]) == (0, 4)
    events = server.events("acme", "acct-retry")
    assert [e["type"] for e in events] == ["account_updated"] + ["feature_used"] * 3
    assert len({e["id"] for e in events}) == 4


def test_dev_mode_takes_any_write_key_and_batch_context_applies_to_each_message(tmp_path):
    # In-process app: the Segment routes need no model, so no lifespan (no warm-up) here.
    app = create_app(Settings(data_dir=tmp_path / "dev-data", dev_mode=True))
    local = TestClient(app, base_url=LOOPBACK)
    body = {"batch": [{**MESSAGE, "context": {}, "messageId": "dev-1"},
                      {**MESSAGE, "messageId": "dev-2", "context": {"groupId": "acct-own"}}],
            "context": {"groupId": "acct-dev"}}
    stored = local.post("/v1/batch", json=body, headers=basic("dev"))
    assert stored.status_code == 200 and stored.json()["stored"] == 2, stored.text
    for account, ids in (("acct-dev", ["segment:dev-1"]), ("acct-own", ["segment:dev-2"])):
        events = local.get(f"/v1/accounts/{account}/events").json()["events"]
        assert [e["id"] for e in events] == ids
    # A Learnloop key is still checked in dev mode.
    fake = basic("llk_0123456789abcdef_" + "z" * 40)
    assert local.post("/v1/batch", json=body, headers=fake).status_code == 401
