"""``GET /v1/users/{id}/learning`` and ``GET /v1/accounts/{id}/learning``.

An end user (user token) reads only their own learning; the roles that look after customers
(admin, agent, csm) read any user or account of their tenant. Everything is looked up under
the caller's tenant, so another tenant's user or account is simply not found.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Role
from assistant.app.deps import CallerDep, LearningDep, NowDep
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["LEARNING_ROLES", "router"]

router = APIRouter(prefix="/v1", tags=["learning"])

# Staff who may read any user's or account's learning in their tenant.
LEARNING_ROLES: tuple[Role, ...] = ("admin", "agent", "csm")

Id = Annotated[str, Path(min_length=1, max_length=128)]
OptionalId = Annotated[str | None, Query(min_length=1, max_length=128)]
KbName = Annotated[
    str | None, Query(min_length=1, max_length=60, description="Knowledge base with the paths "
                      "(default: the tenant's first that has any).")
]


class NextStep(BaseModel):
    ref: str
    title: str
    url: str | None
    stage: str
    kind: str | None
    reason: str


class CompletedStep(BaseModel):
    ref: str
    title: str
    stage: str
    how: str
    completed_at: str


class Progress(BaseModel):
    completed: int
    total: int
    percent: int


class PathOut(BaseModel):
    id: str
    title: str
    audience: str


class Skill(BaseModel):
    features: list[str]
    questions: list[str]


class UserLearningOut(BaseModel):
    user_id: str
    account_id: str | None
    role: str | None
    stage: str
    stage_title: str
    tenure_days: int
    tenure_stage: str
    stage_reason: str
    skill: Skill
    path: PathOut | None
    progress: Progress
    on_track: bool
    completed_steps: list[CompletedStep]
    next_steps: list[NextStep]
    last_learning_at: str | None


class UserSummary(BaseModel):
    user_id: str
    role: str | None
    stage: str
    tenure_days: int
    path_id: str | None
    progress: Progress
    on_track: bool
    last_learning_at: str | None


class AccountAggregate(BaseModel):
    users: int
    by_stage: dict[str, int]
    average_percent: int
    completion_share: float
    completed_paths: int
    on_track_share: float
    steps_done: int = Field(
        description="Distinct steps of the account's paths done by a user following that path "
        "(the path_steps_done of the account's health)."
    )


class AccountLearningOut(BaseModel):
    account_id: str
    users: list[UserSummary]
    aggregate: AccountAggregate


@router.get("/users/{user_id}/learning", response_model=UserLearningOut)
async def user_learning(
    user_id: Id,
    caller: CallerDep,
    service: LearningDep,
    now: NowDep,
    account_id: OptionalId = None,
    kb: KbName = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """A user's stage, path, progress, completed steps and next steps."""
    own = caller.is_end_user
    if own:
        if user_id != caller.user_id or (account_id and account_id != caller.account_id):
            raise LearnloopError(
                ErrorCode.forbidden, "an end user may read only their own learning"
            )
        account_id = caller.account_id
    else:
        caller.require(*LEARNING_ROLES)
    state = await run_in_threadpool(
        service.user,
        caller.tenant,
        user_id,
        now,
        account_id=account_id,
        user_role=caller.user_role if own else None,
        kb=kb,
        limit=limit,
        # A user reading their own state before any event of theirs arrived is new, not lost.
        must_exist=not own,
    )
    return state.as_dict()


@router.get("/accounts/{account_id}/learning", response_model=AccountLearningOut)
async def account_learning(
    account_id: Id, caller: CallerDep, service: LearningDep, now: NowDep, kb: KbName = None
) -> dict[str, Any]:
    """Each user's stage and path progress, and the account's aggregate."""
    caller.require(*LEARNING_ROLES)
    state = await run_in_threadpool(service.account, caller.tenant, account_id, now, kb=kb)
    return state.as_dict()
