"""The support-agent copilot: ``POST /v1/copilot/draft`` (a ticket in, a cited reply draft
and the customer's learning story out), ``POST /v1/copilot/feedback`` (what the agent did
with a draft) and ``GET /v1/insights/copilot`` (acceptance, edits and abstentions).

Agents and admins only: an end user's token, a CSM's or an ingest key is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Role
from assistant.app.deps import CallerDep, CopilotDep, NowDep
from assistant.copilot.service import DraftRequest
from assistant.copilot.store import Action
from assistant.copilot.tickets import Ticket, TicketMessage
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["COPILOT_ROLES", "router"]

router = APIRouter(prefix="/v1", tags=["copilot"])

COPILOT_ROLES: tuple[Role, ...] = ("agent", "admin")
_TEXT = 20_000  # a long customer email fits; the body limit caps the request as a whole


class TicketMessageIn(BaseModel):
    model_config = {"extra": "forbid", "populate_by_name": True}

    sender: Literal["customer", "agent"] = Field(alias="from")
    text: str = Field(max_length=_TEXT)
    ts: str | None = Field(default=None, max_length=40)


class TicketIn(BaseModel):
    model_config = {"extra": "forbid"}

    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=_TEXT)
    messages: list[TicketMessageIn] = Field(default_factory=list, max_length=200)


class DraftIn(BaseModel):
    model_config = {"extra": "forbid"}

    kb: str = Field(min_length=1, max_length=60, description="Knowledge base name.")
    ticket: TicketIn
    user_id: str | None = Field(default=None, min_length=1, max_length=128,
                                description="The customer who wrote the ticket.")
    account_id: str | None = Field(default=None, min_length=1, max_length=128,
                                   description="Their account.")
    locale: str | None = Field(default=None, min_length=2, max_length=35,
                               description="The customer's locale; else detected.")


class FeedbackIn(BaseModel):
    model_config = {"extra": "forbid"}

    draft_id: str = Field(min_length=1, max_length=64)
    action: Action
    final_text: str | None = Field(default=None, max_length=_TEXT,
                                   description="What the agent sent (required when edited).")
    reason: str | None = Field(default=None, max_length=500)


@router.post("/copilot/draft")
async def draft(body: DraftIn, caller: CallerDep, copilot: CopilotDep, now: NowDep
                ) -> dict[str, Any]:
    """A reply draft for the customer's last message, in their language, cited; or an
    abstention with why. Beside it the customer panel (stage, path, progress, questions,
    articles read, health, plays), a next step, a tip and similar solved tickets."""
    caller.require(*COPILOT_ROLES)
    ticket = Ticket(
        body.ticket.subject, body.ticket.body,
        [TicketMessage(m.sender, m.text, m.ts) for m in body.ticket.messages],
    )
    if not ticket.last_customer_text().strip():
        raise LearnloopError(
            ErrorCode.invalid_input,
            "ticket has no subject, body or customer message to draft a reply to",
        )
    request = DraftRequest(body.kb, ticket, body.user_id, body.account_id, body.locale)
    return await run_in_threadpool(copilot.draft, caller, request, now)


@router.post("/copilot/feedback")
async def feedback(body: FeedbackIn, caller: CallerDep, copilot: CopilotDep, now: NowDep
                   ) -> dict[str, Any]:
    """Accepted, edited (with the text sent) or rejected: once per draft (a second is 409)."""
    caller.require(*COPILOT_ROLES)
    return await run_in_threadpool(
        copilot.feedback, caller.tenant, body.draft_id, body.action, body.final_text,
        body.reason, now,
    )


@router.get("/insights/copilot")
async def insights(
    caller: CallerDep,
    copilot: CopilotDep,
    now: NowDep,
    days: Annotated[int, Query(ge=1, le=365, description="Look back this many days.")] = 30,
    kb: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
) -> dict[str, Any]:
    """Drafts, abstentions, acceptance, edit and rejection rates and the mean normalised
    edit distance, in total, per knowledge base and per cited article."""
    caller.require(*COPILOT_ROLES)
    return await run_in_threadpool(copilot.report, caller.tenant, now, days, kb)
