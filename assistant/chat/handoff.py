"""The handoff webhook: when a user asks for a person, tell the tenant's help desk.

A ``handoff_requested`` event accepted by ``/v1/events`` is handed to ``HandoffNotifier``,
which POSTs this JSON to the tenant's ``TenantConfig.handoff_webhook`` from a thread of its
own, so the event write never waits for (or fails because of) the help desk::

    {"type": "handoff_requested", "event_id": "…", "tenant": "acme", "user_id": "u-17",
     "account_id": "acme-inc", "session_id": "…" | null, "last_question": "…" | null,
     "requested_at": "2026-12-08T10:00:00Z", "sent_at": "2026-12-08T10:00:01Z"}

with ``X-Learnloop-Signature: sha256=<HMAC-SHA256 of the body with the tenant's token
secret>`` so the help desk can tell it came from Learnloop. Each attempt times out after
``timeout`` s; a failed one (network error or non-2xx) is retried up to ``attempts`` times
with a doubling pause. Delivery is at least once: the help desk deduplicates by ``event_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from assistant.access.registry import AccessRegistry, Caller
from assistant.access.tenant_config import TenantConfigs
from assistant.chat.conversations import ConversationStore
from assistant.clock import Clock, utc_now
from assistant.events.model import Event

__all__ = ["Handoff", "HandoffNotifier"]

_log = logging.getLogger(__name__)
# Requests waiting for the worker; past this the help desk is down or slow and a new one is
# dropped (and logged) rather than growing memory without bound.
_MAX_PENDING = 1000


@dataclass(frozen=True)
class Handoff:
    """One accepted ``handoff_requested`` event of a tenant."""

    tenant: str
    event: Event


class HandoffNotifier:
    def __init__(
        self,
        configs: TenantConfigs,
        access: AccessRegistry,
        conversations: ConversationStore,
        clock: Clock = utc_now,
        timeout: float = 5.0,
        attempts: int = 3,
        first_pause: float = 0.5,
    ) -> None:
        self._configs, self._access, self._conversations = configs, access, conversations
        self._clock = clock
        self.timeout, self.attempts, self.first_pause = timeout, attempts, first_pause
        self._pending: queue.Queue[Handoff | None] = queue.Queue(_MAX_PENDING)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, handoff: Handoff) -> None:
        """Queue a handoff for delivery (if its tenant has a webhook); returns at once, and
        never fails: the worker reads the configuration and does the rest."""
        self._start()
        try:
            self._pending.put_nowait(handoff)
        except queue.Full:
            _log.warning("handoff webhook queue full; dropped event %s of tenant %s",
                         handoff.event.id, handoff.tenant)

    def deliver(self, handoff: Handoff) -> bool:
        """POST one handoff to its tenant's webhook, retrying; whether it was received."""
        url = self._configs.get(handoff.tenant).handoff_webhook
        if url is None:
            return False
        body = json.dumps(self.payload(handoff), ensure_ascii=False).encode()
        secret = self._access.token_secret(handoff.tenant).encode()
        signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "content-type": "application/json",
            "user-agent": "Learnloop-Handoff/1",
            "x-learnloop-event": "handoff_requested",
            "x-learnloop-signature": f"sha256={signature}",
        })
        pause = self.first_pause
        for attempt in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:  # refused, timed out, unreachable
                problem = str(exc) or type(exc).__name__
            _log.warning("handoff webhook of tenant %s, attempt %d/%d: %s",
                         handoff.tenant, attempt, self.attempts, problem)
            if attempt < self.attempts:
                time.sleep(pause)
                pause *= 2
        return False

    def payload(self, handoff: Handoff) -> dict[str, Any]:
        event = handoff.event
        session_id = event.properties.get("session_id")
        last_question = None
        if isinstance(session_id, str) and event.user_id is not None:
            # Looked up as the user: a session id that is not theirs names nothing.
            owner = Caller(tenant=handoff.tenant, role="end_user", user_id=event.user_id)
            if self._conversations.session(session_id, owner) is not None:
                questions = self._conversations.questions(session_id, limit=1)
                last_question = questions[-1] if questions else None
            else:
                session_id = None
        return {
            "type": "handoff_requested",
            "event_id": event.id,
            "tenant": handoff.tenant,
            "user_id": event.user_id,
            "account_id": event.account_id,
            "session_id": session_id,
            "last_question": last_question,
            "requested_at": _iso(event.ts.timestamp()),
            "sent_at": _iso(self._clock().timestamp()),
        }

    def close(self, wait: float = 5.0) -> None:
        """Stop the worker after what is queued (waiting at most ``wait`` s)."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._pending.put(None)
            worker.join(wait)

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="handoff-webhook", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while (handoff := self._pending.get()) is not None:
            try:
                self.deliver(handoff)
            except Exception:  # one bad delivery must not stop the others
                _log.exception("handoff webhook of tenant %s failed", handoff.tenant)


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
