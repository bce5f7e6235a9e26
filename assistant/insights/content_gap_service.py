"""Content gaps as the insights API and the dashboard ask for them, cached.

A report is recomputed only when it may have changed: an event stored through this process
for the tenant, a knowledge base of the tenant changed (its vocabulary decides which words
are unknown), or ``ttl_s`` passed (events another worker stored, and old questions leaving
the window). Question vectors are kept between reports (a bounded LRU), so a recompute
embeds only the questions it has not seen; the grouping itself is content_gaps.py.

Besides the engagement log, ``sources`` add gap questions of their own: the copilot's
drafts that support agents edited or rejected (``assistant.copilot.gaps``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from assistant.clock import DAY_MS
from assistant.events.log import EventLog
from assistant.insights.content_gaps import GapQuestion, content_gaps, gap_questions
from assistant.knowledge.base import Knowledge

__all__ = ["ContentGapService", "GapSource"]


class GapSource(Protocol):
    """More gap questions than the engagement log's, with a counter that moves when they
    change (part of the report cache's key)."""

    def gap_questions(
        self, tenant: str, since_ms: int, account_id: str | None = None
    ) -> list[GapQuestion]: ...

    def changes(self, tenant: str) -> int: ...

class ContentGapService:
    def __init__(
        self,
        knowledge: Knowledge,
        event_log: EventLog,
        ttl_s: float = 60.0,
        max_vectors: int = 20_000,
        clock: Callable[[], float] = time.time,
        sources: Sequence[GapSource] = (),
    ) -> None:
        self._knowledge = knowledge
        self._event_log = event_log
        self._ttl_s = ttl_s
        self._max_vectors = max_vectors
        self._clock = clock
        self._sources = tuple(sources)
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._reports: dict[tuple[Any, ...], tuple[float, tuple[Any, ...], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def report(
        self, tenant: str, days: int = 30, limit: int = 20, account_id: str | None = None
    ) -> dict[str, Any]:
        """``{"days", "questions", "topics"}`` for the tenant (or one of its accounts)."""
        now = self._clock()
        key = (tenant, days, limit, account_id)
        stamp = self._stamp(tenant)
        cached = self._reports.get(key)
        if cached is not None and cached[1] == stamp and now - cached[0] < self._ttl_s:
            return cached[2]
        since = int(now * 1000) - days * DAY_MS
        rows = self._event_log.rows(
            tenant, account_id=account_id, since_ms=since,
            types=("answer_given", "answer_feedback"),
        )
        gaps = gap_questions(rows)
        for source in self._sources:
            gaps += source.gap_questions(tenant, since, account_id)
        topics = content_gaps(gaps, self._embed, self._known_words(tenant), limit=limit)
        report = {"days": days, "questions": len(gaps), "topics": topics}
        with self._lock:
            if len(self._reports) > 1000:  # many accounts' pages: keep the memory bounded
                self._reports.clear()
            self._reports[key] = (now, stamp, report)
        return report

    def _stamp(self, tenant: str) -> tuple[Any, ...]:
        """What the report depends on besides time: the events stored here and the KBs."""
        generations = tuple(
            (name, self._knowledge.get(name, tenant=tenant).catalog.generation)
            for name in self._knowledge.names(tenant)
        )
        return (self._event_log.appended(tenant), generations,
                tuple(source.changes(tenant) for source in self._sources))

    def _known_words(self, tenant: str) -> set[str]:
        known: set[str] = set()
        for name in self._knowledge.names(tenant):
            catalog = self._knowledge.get(name, tenant=tenant).catalog
            known |= {word for _, word in catalog.term_words()}
        return known

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Question vectors, each text embedded once while it stays among the recent ones.
        The multilingual model groups a Spanish and an English question about one thing."""
        embedder = self._knowledge.gist_embedder or self._knowledge.embedder
        with self._lock:
            missing = [t for t in texts if t not in self._vectors]
        if missing:
            fresh = np.asarray(embedder.embed_documents(missing), dtype=np.float32)
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
        with self._lock:
            out = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted by a concurrent report: embed it again
                    vector = np.asarray(embedder.embed_documents([text]), dtype=np.float32)[0]
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
                out.append(vector)
            while len(self._vectors) > self._max_vectors:
                self._vectors.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, embedder.dim), dtype=np.float32)
