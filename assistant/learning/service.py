"""Learning state for the API and the chat: the model of ``learning.py`` fed from a tenant's
knowledge base (its paths and article cards) and the engagement log.

What a question is about, without a model pass per step list: when its answer's citations
are known (handed in by the chat turn, or logged with ``answer_given``) those articles; else
the question is embedded once (MiniLM, cached per text) and compared with the article
*cards* (title + summary vectors stored at ingest). Cards beat the BM25 index here: on the
sample questions the lexical scores put "export missing tasks" above "export data" and give
no comparable threshold across questions, while card similarity ranked the right article
first and sits below 0.4 for off-topic questions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.knowledge.catalog import Catalog
from assistant.learning.rules import (
    AccountLearning,
    PathLibrary,
    Relation,
    UserActivity,
    UserLearning,
    account_learning,
    activities,
    library_from_documents,
    questions_to_relate,
    user_learning,
)

__all__ = ["LearningService"]

# A card is "what the question is about" at this cosine or above, and within MARGIN of the
# question's best card (measured on the sample KB: right articles 0.5-0.75, off-topic < 0.4).
RELATED_SIMILARITY = 0.45
RELATED_MARGIN = 0.15
RELATED_MAX = 5
_CACHE_SIZE = 4096


@dataclass
class _KbPaths:
    generation: int
    library: PathLibrary
    card_ids: list[str]
    cards: np.ndarray | None = None  # loaded on first use


class LearningService:
    """Built once per app; cheap to call per request and per chat turn."""

    def __init__(self, knowledge: Knowledge, events: EventLog) -> None:
        self._knowledge = knowledge
        self._events = events
        self._paths: dict[str, _KbPaths] = {}
        self._topics: OrderedDict[tuple[str, int, str], Relation] = OrderedDict()
        self._lock = threading.Lock()

    # -- the three reads ---------------------------------------------------------------------

    def user(
        self,
        tenant: str,
        user_id: str,
        now: datetime,
        *,
        account_id: str | None = None,
        user_role: str | None = None,
        kb: str | None = None,
        limit: int = 5,
        must_exist: bool = True,
    ) -> UserLearning:
        """One user's learning; ``not_found`` when the tenant (or account) has no event of
        them, unless ``must_exist`` is false (a user reading their own, new, state)."""
        activity = self._activity(tenant, user_id, account_id)
        if activity is None:
            if must_exist:
                where = f" in account '{account_id}'" if account_id else ""
                raise LearnloopError(ErrorCode.not_found, f"user '{user_id}'{where} has no events")
            activity = UserActivity(user_id, account_id)
        base, paths = self._kb_paths(tenant, kb)
        topics = self._relate(base, paths, questions_to_relate(activity, now))
        return user_learning(
            activity, paths.library, now, user_role=user_role, topics=topics, limit=limit
        )

    def account(
        self, tenant: str, account_id: str, now: datetime, *, kb: str | None = None
    ) -> AccountLearning:
        users = activities(self._events.rows(tenant, account_id=account_id))
        if not users:
            raise LearnloopError(
                ErrorCode.not_found, f"account '{account_id}' has no user events"
            )
        base, paths = self._kb_paths(tenant, kb)
        texts = sorted({t for a in users.values() for t in questions_to_relate(a, now)})
        topics = self._relate(base, paths, texts)
        return account_learning(account_id, users, paths.library, now, topics)

    def next_steps_for(
        self,
        tenant: str,
        user_id: str | None,
        account_id: str | None,
        user_role: str | None,
        question: str | None,
        now: datetime,
        *,
        kb: str | None = None,
        related: Sequence[str] = (),
        limit: int = 3,
    ) -> list[dict[str, Any]]:
        """Next steps for a chat answer: at most ``limit`` (3), ranked with ``question`` first.

        ``related`` are the article ids the answer cited (best first): with them the question
        needs no embedding. Without a user id, or a knowledge base without paths, there are
        none. Never raises for a missing user: a new user gets their first steps.
        """
        if not user_id or limit <= 0:
            return []
        try:
            base, paths = self._kb_paths(tenant, kb)
        except LearnloopError:
            return []
        if not paths.library.paths:
            return []
        activity = self._activity(tenant, user_id, account_id) or UserActivity(
            user_id, account_id
        )
        about: Relation = ()
        if question:
            if related:
                about = [(a, 1.0 - 0.05 * i) for i, a in enumerate(related[:RELATED_MAX])]
                if base is not None:
                    self._remember(base, paths, question, about)
            else:
                about = self._relate(base, paths, [question]).get(question, ())
        topics = self._relate(base, paths, questions_to_relate(activity, now))
        state = user_learning(
            activity, paths.library, now, user_role=user_role, topics=topics,
            question=question, question_topics=about, limit=limit,
        )
        return state.next_steps

    # -- knowledge base and log --------------------------------------------------------------

    def _activity(
        self, tenant: str, user_id: str, account_id: str | None
    ) -> UserActivity | None:
        rows = self._events.rows(tenant, account_id=account_id, user_id=user_id)
        return activities(rows).get(user_id)

    def _kb_paths(self, tenant: str, kb: str | None) -> tuple[KnowledgeBase | None, _KbPaths]:
        """The named knowledge base (``kb_not_found`` if the tenant has none of that name), or
        the tenant's first, by name, that has learning paths; without any, no paths at all."""
        if kb:
            base = self._knowledge.get(kb, tenant=tenant)
            return base, self._load(base)
        for name in self._knowledge.names(tenant):
            base = self._knowledge.get(name, tenant=tenant)
            paths = self._load(base)
            if paths.library.paths:
                return base, paths
        return None, _NO_PATHS

    def _load(self, base: KnowledgeBase) -> _KbPaths:
        generation = base.catalog.generation
        with self._lock:
            cached = self._paths.get(base.key)
            if cached is not None and cached.generation == generation:
                return cached
        loaded = _read_paths(base.catalog, generation)
        with self._lock:
            self._paths[base.key] = loaded
        return loaded

    # -- what questions are about ------------------------------------------------------------

    def _relate(
        self, base: KnowledgeBase | None, paths: _KbPaths, texts: Sequence[str]
    ) -> dict[str, Relation]:
        found: dict[str, Relation] = {}
        if base is None:
            return found
        missing: list[str] = []
        with self._lock:
            for text in texts:
                key = (base.key, paths.generation, text)
                if key in self._topics:
                    self._topics.move_to_end(key)
                    found[text] = self._topics[key]
                elif text not in missing:
                    missing.append(text)
        if not missing or not paths.card_ids:
            return found
        if paths.cards is None:
            paths.cards = base.catalog.card_matrix(paths.card_ids, self._knowledge.embedder.dim)
        vectors = self._knowledge.embedder.embed_documents(missing)
        scores = vectors @ paths.cards.T
        for text, row in zip(missing, scores, strict=True):
            relation = _related(paths.card_ids, row)
            found[text] = relation
            self._remember(base, paths, text, relation)
        return found

    def _remember(
        self, base: KnowledgeBase, paths: _KbPaths, text: str, relation: Relation
    ) -> None:
        with self._lock:
            self._topics[(base.key, paths.generation, text)] = relation
            while len(self._topics) > _CACHE_SIZE:
                self._topics.popitem(last=False)


_NO_PATHS = _KbPaths(0, PathLibrary.build([], []), [])


def _read_paths(catalog: Catalog, generation: int) -> _KbPaths:
    library = library_from_documents(catalog.documents())
    # every material once, in catalog order (the library also finds them by source file)
    cards = list(dict.fromkeys(m.id for m in library.materials.values()))
    return _KbPaths(generation, library, cards)


def _related(card_ids: list[str], scores: np.ndarray) -> Relation:
    order = np.argsort(-scores)[:RELATED_MAX]
    if not len(order):
        return ()
    best = float(scores[order[0]])
    return [
        (card_ids[i], round(float(scores[i]), 4))
        for i in order
        if scores[i] >= RELATED_SIMILARITY and scores[i] >= best - RELATED_MARGIN
    ]
