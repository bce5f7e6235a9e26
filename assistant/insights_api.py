"""Insights for content admins and CSMs: ``GET /v1/insights/content-gaps`` (what customers
asked that the help center could not answer well, grouped into topics) and
``GET /v1/insights/education-retention`` (renewal and health by learning-path completion)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from assistant.access import Caller, Role
from assistant.content_gaps import content_gaps, gap_questions
from assistant.dependencies import CallerDep, EventLogDep, KnowledgeDep
from assistant.education_retention import (
    AccountOutcome,
    account_facts,
    education_retention,
    outcome_of,
)
from assistant.errors import LearnloopError
from assistant.event_log import EventLog
from assistant.health_api import HealthDep
from assistant.health_service import HealthService
from assistant.knowledge_base import Knowledge
from assistant.learning_api import LearningDep
from assistant.learning_service import LearningService

__all__ = ["router"]

router = APIRouter(prefix="/v1/insights", tags=["insights"])

STAFF: tuple[Role, ...] = ("admin", "csm", "agent")
_DAY_MS = 86_400_000


@router.get("/content-gaps")
async def get_content_gaps(
    caller: CallerDep,
    knowledge: KnowledgeDep,
    event_log: EventLogDep,
    days: Annotated[int, Query(ge=1, le=365, description="Look back this many days.")] = 30,
    limit: Annotated[int, Query(ge=1, le=100, description="Most topics returned.")] = 20,
    account_id: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Declined, low-confidence and thumbs-down questions grouped into topics, most asked
    first, with counts, accounts affected and example questions."""
    caller.require(*STAFF)
    return await run_in_threadpool(_content_gaps, caller, knowledge, event_log, days, limit,
                                   account_id)


def _content_gaps(
    caller: Caller, knowledge: Knowledge, event_log: EventLog, days: int, limit: int,
    account_id: str | None,
) -> dict[str, Any]:
    since = int(time.time() * 1000) - days * _DAY_MS
    rows = event_log.rows(caller.tenant, account_id=account_id, since_ms=since,
                          types=("answer_given", "answer_feedback"))
    gaps = gap_questions(rows)
    known: set[str] = set()
    for name in knowledge.names(caller.tenant):
        catalog = knowledge.get(name, tenant=caller.tenant).catalog
        known |= {word for _, word in catalog.term_words()}
    # The multilingual model groups a Spanish and an English question about one thing.
    embedder = knowledge.gist_embedder or knowledge.embedder
    topics = content_gaps(gaps, embedder.embed_documents, known, limit=limit)
    return {"days": days, "questions": len(gaps), "topics": topics}


@router.get("/education-retention")
async def get_education_retention(
    caller: CallerDep, event_log: EventLogDep, learning: LearningDep, health: HealthDep
) -> dict[str, Any]:
    """Accounts grouped by learning-path completion, with renewal outcomes (renewed,
    churned, open) and today's health bands per group."""
    caller.require(*STAFF)
    return await run_in_threadpool(_education_retention, caller, event_log, learning, health)


def _education_retention(
    caller: Caller, event_log: EventLog, learning: LearningService, health: HealthService
) -> dict[str, Any]:
    now = datetime.now(UTC)
    facts = account_facts(event_log.rows(caller.tenant, types=("account_updated",)))
    bands = {row.account_id: row.band for row in health.accounts(caller.tenant, now)}
    outcomes = []
    for account_id in event_log.accounts(caller.tenant):
        try:
            state = learning.account(caller.tenant, account_id, now).as_dict()
        except LearnloopError:  # an account with facts but no user events yet
            continue
        share = float(state["aggregate"]["completion_share"])
        outcome = outcome_of(facts.get(account_id, {}))
        outcomes.append(AccountOutcome(account_id, share, outcome, bands.get(account_id)))
    return education_retention(outcomes)
