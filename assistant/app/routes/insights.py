"""Insights for content admins and CSMs: ``GET /v1/insights/content-gaps`` (what customers
asked that the help center could not answer well, grouped into topics) and
``GET /v1/insights/education-retention`` (renewal and health by learning-path completion)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Role
from assistant.app.deps import (
    CallerDep,
    ContentGapsDep,
    EventLogDep,
    HealthDep,
    LearningDep,
    NowDep,
)
from assistant.insights.retention import education_retention_report

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
    caller: CallerDep,
    event_log: EventLogDep,
    learning: LearningDep,
    health: HealthDep,
    now: NowDep,
) -> dict[str, Any]:
    """Accounts grouped by learning-path completion, with renewal outcomes (renewed,
    churned, open) and today's health bands per group."""
    caller.require(*STAFF)
    return await run_in_threadpool(
        education_retention_report, caller.tenant, event_log, learning, health, now
    )

