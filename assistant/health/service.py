"""Health as a service: the tenant's knowledge facts, its engagement log and its snapshots
put together for the API and the CLI (the scoring itself is pure, in ``health.py``).

- one account's health is always scored live from that account's events (a few ms), and
  becomes today's snapshot of it;
- the accounts list reads today's snapshots: the first list of a day (or ``learnloop
  health recompute``) rescores the whole tenant in one pass over its log; later lists
  rescore only the accounts that received events since, or the whole tenant again when its
  plays configuration changed (the plays in the snapshots would be stale).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from assistant.access.tenant_config import PLAY_NAMES, PlaysConfig
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.health.scoring import (
    AccountHealth,
    HealthAccumulator,
    KnowledgeFacts,
    Resource,
    as_of,
    score_account,
    score_accounts,
)
from assistant.health.store import HealthSnapshots, Snapshot
from assistant.knowledge.base import Knowledge
from assistant.learning.rules import DocumentLike, library_from_documents
from assistant.settings import validate_weights

__all__ = [
    "BANDS",
    "TREND_DAYS",
    "FactsSource",
    "HealthService",
    "KnowledgeFactsCache",
    "PlaysSource",
    "facts_from_documents",
]

BANDS = ("red", "yellow", "green")
TREND_DAYS = 90
# Past this many changed accounts a full one-pass recompute is cheaper than one query each.
_PARTIAL_LIMIT = 100


class TaggedDocument(DocumentLike, Protocol):
    """A document with its tags: the catalog's ``DocumentRow`` or a loader's ``Document``."""

    @property
    def tags(self) -> list[str]: ...


def facts_from_documents(documents: Iterable[TaggedDocument]) -> KnowledgeFacts:
    """Resources (articles, tips, workflows) with their features, and the learning paths
    read by the learning rules (``library_from_documents``)."""
    docs = list(documents)
    resources: dict[str, Resource] = {}
    for doc in docs:
        if doc.kind == "path" or doc.id in resources:
            continue
        features = [doc.feature] if doc.feature else []
        listed = doc.extra.get("features")
        if isinstance(listed, list):
            features += [str(f) for f in listed if str(f) not in features]
        resources[doc.id] = Resource(doc.id, doc.title, doc.kind, tuple(features),
                                     tuple(doc.tags))
    return KnowledgeFacts(resources, library_from_documents(docs))


class FactsSource(Protocol):
    def __call__(self, tenant: str) -> KnowledgeFacts: ...


class PlaysSource(Protocol):
    """A tenant's plays configuration (from its ``TenantConfig``)."""

    def __call__(self, tenant: str) -> PlaysConfig: ...


def default_plays(tenant: str) -> PlaysConfig:
    return PlaysConfig()


class KnowledgeFactsCache:
    """A tenant's facts from all its knowledge bases, rebuilt when a catalog changes."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._cache: dict[str, tuple[tuple[tuple[str, int], ...], KnowledgeFacts]] = {}
        self._lock = threading.Lock()

    def __call__(self, tenant: str) -> KnowledgeFacts:
        bases = [self.knowledge.get(name, tenant=tenant) for name in self.knowledge.names(tenant)]
        version = tuple((kb.name, kb.catalog.generation) for kb in bases)
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and cached[0] == version:
                return cached[1]
        documents = [doc for kb in bases for doc in kb.catalog.documents()]
        facts = facts_from_documents(documents)
        with self._lock:
            self._cache[tenant] = (version, facts)
        return facts


class HealthService:
    def __init__(
        self,
        events: EventLog,
        snapshots: HealthSnapshots,
        facts: FactsSource,
        weights: Mapping[str, float] | None = None,
        plays: PlaysSource = default_plays,
    ) -> None:
        self.events = events
        self.snapshots = snapshots
        self.facts = facts
        self.plays = plays
        self.weights = validate_weights(weights) if weights is not None else None
        self._recompute_lock = threading.Lock()

    def account(self, tenant: str, account_id: str, now: datetime) -> dict[str, Any]:
        """The account's health scored now, with its trend (today's snapshot included)."""
        if not self.events.has_account(tenant, account_id):
            raise LearnloopError(ErrorCode.not_found, f"account '{account_id}' has no events")
        health = self.score(tenant, account_id, now)
        self.snapshots.upsert(tenant, now.date(), [health])
        trend = self.snapshots.trend(tenant, account_id, now.date() - timedelta(TREND_DAYS - 1))
        body = health.as_dict()
        body["trend"] = [{"date": day, "score": score} for day, score in trend]
        return body

    def score(
        self, tenant: str, account_id: str, now: datetime, plays: PlaysConfig | None = None
    ) -> AccountHealth:
        acc = HealthAccumulator(now).add_all(self.events.rows(tenant, account_id=account_id))
        return score_account(acc.activity(account_id), self.facts(tenant), now, self.weights,
                             plays or self.plays(tenant))

    def recompute(self, tenant: str, now: datetime, record: bool = True) -> list[AccountHealth]:
        """Score every account of the tenant in one pass over its log, and store the day's
        snapshots. ``record`` marks them as the current ones (off when backfilling a past
        day)."""
        with self._recompute_lock:
            seq = self.snapshots.event_seq()
            plays = self.plays(tenant)
            acc = HealthAccumulator(now).add_all(self.events.rows(tenant, ordered=False))
            healths = score_accounts(acc, self.facts(tenant), self.weights, plays=plays)
            self.snapshots.upsert(tenant, now.date(), healths)
            if record:
                self.snapshots.record_recompute(tenant, now.date(), seq,
                                                plays.model_dump_json())
            return healths

    def accounts(
        self, tenant: str, now: datetime, band: str | None = None, play: str | None = None
    ) -> list[Snapshot]:
        """Today's snapshots (of one band, naming one play), refreshed where needed,
        riskiest first."""
        if band is not None and band not in BANDS:
            raise LearnloopError(
                ErrorCode.invalid_input, f"band '{band}' is not one of {', '.join(BANDS)}"
            )
        if play is not None and play not in PLAY_NAMES:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"play '{play}' is not one of {', '.join(PLAY_NAMES)}",
            )
        self.refresh(tenant, now)
        rows = self.snapshots.day(tenant, now.date(), band, details=False)
        if play is None:
            return rows
        return [r for r in rows if any(p.get("play") == play for p in r.plays)]

    def refresh(self, tenant: str, now: datetime) -> None:
        today = now.date()
        last = self.snapshots.last_recompute(tenant)
        plays = self.plays(tenant)
        config = plays.model_dump_json()
        if last is None or last[0] != today.isoformat() or last[2] != config:
            self.recompute(tenant, now)
            return
        changed, latest = self.snapshots.accounts_changed_since(tenant, last[1])
        if not changed:
            return
        if len(changed) > _PARTIAL_LIMIT:
            self.recompute(tenant, now)
            return
        healths = [self.score(tenant, a, now, plays) for a in sorted(changed)]
        self.snapshots.upsert(tenant, today, healths)
        self.snapshots.record_recompute(tenant, today, latest, config)

    def backfill(self, tenant: str, now: datetime, days: int) -> list[AccountHealth]:
        """Snapshots for the ``days`` days up to today, each past day as of its end (its
        scores see only the events logged up to it); returns today's, scored at ``now``."""
        for back in range(days - 1, 0, -1):
            self.recompute(tenant, as_of(now.date() - timedelta(back)), record=False)
        return self.recompute(tenant, now)
