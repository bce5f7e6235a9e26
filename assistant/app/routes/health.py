"""``GET /v1/accounts`` (riskiest first) and ``GET /v1/accounts/{id}/health``.

For the roles that look after customers (admin, csm, agent); every lookup is under the
caller's tenant, so another tenant's account is simply not found.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Role
from assistant.access.tenant_config import PlayName
from assistant.app.deps import CallerDep, HealthDep, NowDep

__all__ = ["HEALTH_ROLES", "router"]

router = APIRouter(prefix="/v1", tags=["health"])

HEALTH_ROLES: tuple[Role, ...] = ("admin", "csm", "agent")


class AccountSummary(BaseModel):
    account_id: str
    name: str
    score: int
    band: Literal["green", "yellow", "red"]
    segment: str
    maturity: str
    renewal_date: str | None = None
    signals: list[str] = []
    plays: list[str] = []


class AccountsResponse(BaseModel):
    accounts: list[AccountSummary]


class ComponentOut(BaseModel):
    score: float | None
    weight: float
    details: dict[str, Any] = {}


class SignalOut(BaseModel):
    code: str
    severity: Literal["high", "medium", "low"]
    message: str
    evidence: list[str]


class PlayOut(BaseModel):
    play: PlayName
    why: str
    steps: list[str]
    evidence: list[str]


class TrendPoint(BaseModel):
    date: str
    score: int


class HealthResponse(BaseModel):
    account_id: str
    name: str
    score: int
    band: Literal["green", "yellow", "red"]
    components: dict[str, ComponentOut]
    signals: list[SignalOut]
    segment: str
    maturity: str
    tenure_days: int
    renewal_date: str | None
    plays: list[PlayOut]
    trend: list[TrendPoint]


@router.get("/accounts", response_model=AccountsResponse)
async def list_accounts(
    caller: CallerDep,
    service: HealthDep,
    now: NowDep,
    band: Annotated[
        Literal["red", "yellow", "green"] | None,
        Query(description="Only accounts in this band: red, yellow or green."),
    ] = None,
    play: Annotated[
        PlayName | None,
        Query(description="Only accounts whose health names this play: activation, "
              "dormant_win_back, feature_launch or power_user."),
    ] = None,
) -> dict[str, Any]:
    """The tenant's accounts, riskiest first: lowest score, then nearest renewal, then id."""
    caller.require(*HEALTH_ROLES)
    rows = await run_in_threadpool(service.accounts, caller.tenant, now, band, play)
    return {
        "accounts": [
            {
                "account_id": r.account_id, "name": r.name, "score": r.score, "band": r.band,
                "segment": r.segment, "maturity": r.maturity, "renewal_date": r.renewal_date,
                "signals": [s["code"] for s in r.signals],
                "plays": [p["play"] for p in r.plays],
            }
            for r in rows
        ]
    }


@router.get("/accounts/{account_id}/health", response_model=HealthResponse)
async def account_health(
    account_id: str, caller: CallerDep, service: HealthDep, now: NowDep
) -> dict[str, Any]:
    """Score, band, weighted components, signals with evidence, segment, maturity, the plays
    to run (why, steps, evidence) and the daily score trend (last 90 days) of one account."""
    caller.require(*HEALTH_ROLES)
    return await run_in_threadpool(service.account, caller.tenant, account_id, now)
