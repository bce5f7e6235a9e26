"""Insights for content admins and CSMs: ``GET /v1/insights/content-gaps`` (what customers
asked that the help center could not answer well, grouped into topics) and
``GET /v1/insights/education-retention`` (renewal and health by learning-path completion)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from assistant.access import Caller, Role
from assistant.dependencies import CallerDep, ContentGapsDep, EventLogDep
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
from assistant.learning_api import LearningDep
from assistant.learning_service import LearningService

__all__ = ["router"]

router = APIRouter(prefix="/v1/insights", tags=["insights"])

STAFF: tuple[Role, ...] = ("admin", "csm", "agent")


@router.get("/content-gaps")
async def get_content_gaps(
    caller: CallerDep,
    gaps: ContentGapsDep,
    days: Annotated[int, Query(ge=1, le=365, description="Look back this many days.")] = 30,
    limit: Annotated[int, Query(ge=1, le=100, description="Most topics returned.")] = 20,
    account_id: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Declined, low-confidence and thumbs-down questions grouped into topics, most asked
    first, with counts, accounts affected and example questions."""
    caller.require(*STAFF)
    return await run_in_threadpool(gaps.report, caller.tenant, days, limit, account_id)


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
