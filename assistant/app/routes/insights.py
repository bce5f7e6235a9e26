"""Insights for content admins and CSMs: ``GET /v1/insights/content-gaps`` (what customers
asked that the help center could not answer well, grouped into topics) and
``GET /v1/insights/education-retention`` (renewal and health by learning-path completion)
and ``GET /v1/insights/tips`` (each tip's engagement, and its adoption lift over the holdout)."""

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
    TipsDep,
)
from assistant.insights.retention import education_retention_report
from assistant.insights.tip_effectiveness import tips_report

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



@router.get("/tips")
async def get_tips_effectiveness(
    caller: CallerDep,
    event_log: EventLogDep,
    tips: TipsDep,
    now: NowDep,
    kb: Annotated[
        str | None,
        Query(min_length=1, max_length=60, description="Tips of this knowledge base only."),
    ] = None,
    days: Annotated[int, Query(ge=1, le=365, description="Look back this many days.")] = 90,
    adoption_days: Annotated[
        int, Query(ge=1, le=90, description="Adoption counts within this many days.")
    ] = 14,
) -> dict[str, Any]:
    """Per tip: eligible, shown, clicked, dismissed, engagement rate and band, adoption after
    being shown against the holdout's adoption after eligibility, and the lift with its 95 %
    interval."""
    caller.require(*STAFF)

    def report() -> dict[str, Any]:
        names = [kb] if kb else tips.knowledge_bases(caller.tenant)
        every = [tip for name in names for tip in tips.tips(caller.tenant, name)]
        return tips_report(event_log, every, caller.tenant, now, days=days,
                           adoption_days=adoption_days)

    return await run_in_threadpool(report)
