"""``GET /v1/tips/next``: the tip to show a user now, or none and why.

An end user (user token) asks for themselves: the user and account come from the token and
the answer is recorded (``tip_eligible``, ``tip_shown``). The host's backend (admin key) may
deliver on a user's behalf; support and CS staff (agent, csm) see the same decision without
anything being recorded (``dry_run`` is forced), to answer "why did this user not get a tip?".
Tip clicks, dismissals and feedback come back through ``POST /v1/events``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from assistant.app.deps import CallerDep, NowDep, TipsDep
from assistant.errors import ErrorCode, LearnloopError
from assistant.tips.service import TipService

__all__ = ["router"]

router = APIRouter(prefix="/v1/tips", tags=["tips"])

_ID = r"^[\w.:@/+=-]{1,128}$"
OptionalId = Annotated[str | None, Query(pattern=_ID, description="Default: the token's.")]


@router.get("/next")
async def next_tip(
    caller: CallerDep,
    tips: TipsDep,
    now: NowDep,
    session_id: Annotated[str, Query(pattern=_ID, description="The user's current session.")],
    user_id: OptionalId = None,
    account_id: OptionalId = None,
    kb: Annotated[
        str | None,
        Query(min_length=1, max_length=60,
              description="Knowledge base with the tips (default: the tenant's first with tips)."),
    ] = None,
    dry_run: Annotated[bool, Query(description="Decide but record nothing.")] = False,
) -> dict[str, Any]:
    """``{"tip": {...} | null, "reason": "..."}``: at most one tip per session, spacing between
    tips, dismissals, pauses and the holdout applied (README "Tips")."""
    if caller.is_end_user:
        if (user_id and user_id != caller.user_id) or (
            account_id and account_id != caller.account_id
        ):
            raise LearnloopError(
                ErrorCode.forbidden, "an end user may ask for tips only for themselves"
            )
        user_id, account_id, dry_run = caller.user_id, caller.account_id, False
    else:
        caller.require("admin", "agent", "csm")
        dry_run = dry_run or caller.role != "admin"
    user, account, record = user_id, account_id, not dry_run

    def decide() -> tuple[str, dict[str, Any]]:
        name = kb or _first_with_tips(tips, caller.tenant)
        tips.tips(caller.tenant, name)  # an unknown knowledge base is a 404 before all else
        if not user or not account:
            raise LearnloopError(
                ErrorCode.invalid_input,
                "the user token names no account" if caller.is_end_user
                else "user_id and account_id are required",
            )
        return name, tips.next_tip(
            caller.tenant, name, user_id=user, account_id=account, session_id=session_id,
            now=now, user_role=caller.user_role, locale=caller.locale, record=record,
        )

    name, decision = await run_in_threadpool(decide)
    if caller.is_end_user:  # the user sees the tip and the reason, not the experiment
        return {"tip": decision["tip"], "reason": decision["reason"]}
    return {**decision, "kb": name, "recorded": not dry_run}


def _first_with_tips(tips: TipService, tenant: str) -> str:
    for name in tips.knowledge_bases(tenant):
        return name
    raise LearnloopError(ErrorCode.not_found, "no knowledge base of this tenant has tips")
