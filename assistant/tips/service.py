"""``TipService``: the next tip for a user, from the log, the catalog and the tenant's rules.

Each call reads only this user's events (the log's per-user index) and the account's plan,
so its cost does not grow with the log. It records what it decided, idempotently: a
``tip_eligible`` per tip and firing the user qualified for (holdout users included), and a
``tip_shown`` when it hands a tip out (once per session and tip).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.access.tenant_config import TenantConfigs
from assistant.events.log import EventLog
from assistant.events.model import Event
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.knowledge.catalog import Catalog, DocumentRow
from assistant.tips.delivery import (
    DEFER_DAYS,
    TIP_TYPES,
    Decision,
    DeliveryRules,
    TipHistory,
    decide,
)
from assistant.tips.library import Tip, TipError, tip_from_metadata, tip_steps
from assistant.tips.triggers import Trigger, last_firings

__all__ = ["TipService", "tips_from_documents"]


def tips_from_documents(documents: list[DocumentRow]) -> list[Tip]:
    """The tips among a catalog's documents (ingest refuses a tip whose front matter does not
    read, so every stored one does)."""
    tips = []
    for doc in documents:
        if doc.kind != "tip":
            continue
        try:
            tips.append(tip_from_metadata(
                doc.id, doc.title, doc.extra, feature=doc.feature, level=doc.level,
                audience=doc.audience, url=doc.url, locale=doc.locale, tags=doc.tags,
            ))
        except TipError:
            continue  # stored before triggers were checked at ingest: re-ingest reports it
    return tips


@dataclass(frozen=True)
class _KbTips:
    generation: int
    tips: list[Tip]
    categories: dict[str, str]
    triggers: dict[str, Trigger]  # tip id → its trigger, for the tips that have one
    lookback_ms: int  # how far back a trigger can look, deferral included


class TipService:
    def __init__(self, knowledge: Knowledge, events: EventLog, configs: TenantConfigs) -> None:
        self._knowledge = knowledge
        self._events = events
        self._configs = configs
        self._cache: dict[str, _KbTips] = {}
        self._lock = threading.Lock()

    def tips(self, tenant: str, kb: str) -> list[Tip]:
        return self._load(self._knowledge.get(kb, tenant=tenant)).tips

    def knowledge_bases(self, tenant: str) -> list[str]:
        """The tenant's knowledge bases that have tips, by name."""
        return [name for name in self._knowledge.names(tenant) if self.tips(tenant, name)]

    def next_tip(
        self,
        tenant: str,
        kb: str,
        *,
        user_id: str,
        account_id: str,
        session_id: str,
        now: datetime,
        user_role: str | None = None,
        locale: str | None = None,
        record: bool = True,
    ) -> dict[str, Any]:
        """``{"tip": {...} | None, "reason": str, ...}``; with ``record`` false (a staff
        member asking why), nothing is written to the log."""
        base = self._knowledge.get(kb, tenant=tenant)
        loaded = self._load(base)
        now_ms = int(now.timestamp() * 1000)
        history = TipHistory.from_rows(
            self._events.rows(tenant, account_id=account_id, user_id=user_id,
                              types=[*TIP_TYPES, "user_updated"]),
            loaded.categories,
        )
        history.did(self._events.done_by(tenant, user_id))
        recent = list(self._events.rows(
            tenant, account_id=account_id, user_id=user_id,
            since_ms=now_ms - loaded.lookback_ms,
        ))
        fired = last_firings(loaded.triggers, (r for r in recent if r.ts_ms <= now_ms))
        config = self._configs.get(tenant)
        decision = decide(
            loaded.tips, history, fired, tenant=tenant, user_id=user_id,
            session_id=session_id, now=now, user_role=user_role, locale=locale,
            plan=self._plan(tenant, account_id),
            rules=DeliveryRules(config.tip_spacing_days, config.tip_holdout_percent),
        )
        if record:
            self._record(tenant, account_id, user_id, session_id, now, decision)
        return {
            "tip": self._card(base.catalog, decision.tip) if decision.tip else None,
            "reason": decision.reason,
            "holdout": decision.holdout,
            "eligible": [item.tip.id for item in decision.eligible],
        }

    # -- reading ---------------------------------------------------------------------------

    def _load(self, base: KnowledgeBase) -> _KbTips:
        generation = base.catalog.generation
        with self._lock:
            cached = self._cache.get(base.key)
        if cached is not None and cached.generation == generation:
            return cached
        tips = tips_from_documents(base.catalog.documents())
        windows = [t.trigger.lookback for t in tips if t.trigger is not None]
        lookback = max(windows, default=timedelta(0)) + timedelta(days=DEFER_DAYS)
        loaded = _KbTips(
            generation, tips, {t.id: t.category for t in tips},
            {t.id: t.trigger for t in tips if t.trigger is not None},
            int(lookback.total_seconds() * 1000),
        )
        with self._lock:
            self._cache[base.key] = loaded
        return loaded

    def _plan(self, tenant: str, account_id: str) -> str | None:
        plan = None
        for row in self._events.rows(tenant, account_id=account_id, types=["account_updated"]):
            value = row.props().get("plan")
            if isinstance(value, str) and value.strip():
                plan = value.strip()
        return plan

    @staticmethod
    def _card(catalog: Catalog, tip: Tip) -> dict[str, Any]:
        body = "\n".join(chunk.body for chunk in catalog.chunks_of(tip.id))
        lead, steps = tip_steps(body)
        return {
            "id": tip.id, "title": tip.title, "value": tip.value, "body": lead,
            "steps": steps, "feature": tip.feature, "category": tip.category,
            "url": tip.url, "priority": tip.priority, "locale": tip.locale,
            "trigger": tip.trigger.describe() if tip.trigger else None,
        }

    # -- recording -------------------------------------------------------------------------

    def _record(
        self, tenant: str, account_id: str, user_id: str, session_id: str, now: datetime,
        decision: Decision,
    ) -> None:
        events = [
            Event(
                id=_event_id("tip_eligible", user_id, item.tip.id, str(item.fired_ms)),
                type="tip_eligible", account_id=account_id, user_id=user_id, ts=now,
                properties={
                    "tip_id": item.tip.id, "holdout": decision.holdout,
                    "bucket": decision.bucket, "fired_at": _iso(item.fired_ms),
                },
            )
            for item in decision.eligible
        ]
        # Eligibility is recorded once per firing: the first time it was seen is what counts.
        known = self._events.known_ids(tenant, [e.id for e in events])
        events = [e for e in events if e.id not in known]
        if decision.tip is not None and decision.new_show:
            events.append(Event(
                id=_event_id("tip_shown", user_id, decision.tip.id, session_id),
                type="tip_shown", account_id=account_id, user_id=user_id, ts=now,
                properties={"tip_id": decision.tip.id, "session_id": session_id},
            ))
        if events:
            self._events.append(tenant, events)


def _event_id(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def _iso(ts_ms: int) -> str:
    when = datetime.fromtimestamp(ts_ms / 1000, UTC) if ts_ms else datetime(1970, 1, 1, tzinfo=UTC)
    return when.isoformat().replace("+00:00", "Z")

