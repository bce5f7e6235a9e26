"""The handoff webhook: a real local HTTP server stands in for the tenant's help desk."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant.access.registry import AccessRegistry
from assistant.access.tenant_config import TenantConfigs
from assistant.answering.answers import Answer
from assistant.answering.answers import Handoff as AnswerHandoff
from assistant.chat.conversations import ConversationStore
from assistant.chat.handoff import Handoff, HandoffNotifier
from assistant.events.model import Event
from assistant.storage.database import open_database

ASKED = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


class HelpDesk:
    """Answers with the statuses in ``script`` in turn (then 200); ``delay`` s before each."""

    def __init__(self, script: list[int], delay: float = 0.0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                desk.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay)
                status = script.pop(0) if script else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/handoff"


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[TenantConfigs, AccessRegistry, ConversationStore]]:
    access_db = open_database(None, tmp_path, "access.sqlite")
    access, configs = AccessRegistry(access_db), TenantConfigs(access_db)
    access.create_tenant("acme")
    conversations_db = open_database(None, tmp_path, "conversations.sqlite")
    yield configs, access, ConversationStore(conversations_db)
    access_db.close()
    conversations_db.close()


def notifier(parts, **options: float) -> HandoffNotifier:
    configs, access, conversations = parts
    return HandoffNotifier(configs, access, conversations, clock=lambda: ASKED,
                           first_pause=0.05, **options)


def asked(conversations: ConversationStore, user: str, question: str) -> str:
    session = conversations.create_session("sample", tenant="acme", user_id=user, account_id="a")
    answer = Answer("Open Settings.", [], 0.9, True, AnswerHandoff(False))
    conversations.add_turn(session, "How do I export?", answer)
    conversations.add_turn(session, question, answer)
    return session


def handoff(user: str = "u-1", **properties: Any) -> Handoff:
    return Handoff("acme", Event("ev-1", "handoff_requested", "a", user, ASKED, properties))


def test_a_handoff_is_posted_signed_with_the_last_question_after_a_retry(parts):
    configs, access, conversations = parts
    desk = HelpDesk([503])
    configs.update("acme", handoff_webhook=desk.url)
    session = asked(conversations, "u-1", "Can a person call me?")
    assert notifier(parts).deliver(handoff(session_id=session))
    assert len(desk.received) == 2  # the 503, then the retry
    headers, body = desk.received[-1]
    assert json.loads(body) == {
        "type": "handoff_requested", "event_id": "ev-1", "tenant": "acme", "user_id": "u-1",
        "account_id": "a", "session_id": session, "last_question": "Can a person call me?",
        "requested_at": "2026-12-08T10:00:00Z", "sent_at": "2026-12-08T10:00:00Z",
    }
    signed = hmac.new(access.token_secret("acme").encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-learnloop-signature"] == f"sha256={signed}"


def test_another_users_session_is_not_sent(parts):
    configs, _, conversations = parts
    desk = HelpDesk([])
    configs.update("acme", handoff_webhook=desk.url)
    theirs = asked(conversations, "u-2", "What is my colleague's salary?")
    assert notifier(parts).deliver(handoff(session_id=theirs))
    payload = json.loads(desk.received[0][1])
    assert payload["session_id"] is None and payload["last_question"] is None


def test_a_help_desk_that_keeps_failing_or_hangs_gets_a_bounded_number_of_attempts(parts):
    configs, _, _ = parts
    failing = HelpDesk([500, 500, 500, 500])
    configs.update("acme", handoff_webhook=failing.url)
    assert not notifier(parts, attempts=3).deliver(handoff())
    assert len(failing.received) == 3
    hanging = HelpDesk([], delay=2.0)
    configs.update("acme", handoff_webhook=hanging.url)
    assert not notifier(parts, attempts=2, timeout=0.2).deliver(handoff())
    assert len(hanging.received) == 2
    configs.update("acme", handoff_webhook="http://127.0.0.1:9/refused")
    assert not notifier(parts, attempts=2).deliver(handoff())


def test_the_background_worker_delivers_what_was_submitted(parts):
    configs, _, _ = parts
    desk = HelpDesk([503])
    configs.update("acme", handoff_webhook=desk.url)
    background = notifier(parts)
    background.submit(handoff())
    background.submit(handoff(user="u-2"))
    background.close(wait=5)  # waits for what is queued
    assert [json.loads(body)["user_id"] for _, body in desk.received] == ["u-1", "u-1", "u-2"]


def test_a_tenant_without_a_webhook_gets_no_post(parts):
    configs, _, _ = parts
    assert configs.get("acme").handoff_webhook is None
    assert not notifier(parts).deliver(handoff())
