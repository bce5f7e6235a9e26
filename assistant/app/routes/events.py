"""``POST /v1/events`` (batch, idempotent) and ``GET /v1/accounts/{id}/events`` (paged)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Caller
from assistant.app.deps import CallerDep, EventLogDep, HandoffDep, NowDep, SettingsDep
from assistant.chat.handoff import Handoff
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import HOST, user_sender
from assistant.events.model import EVENT_TYPES, Event, EventError, validate_event

__all__ = ["USER_EVENT_TYPES", "router"]

router = APIRouter(prefix="/v1", tags=["events"])

# What an end user's own client (the chat page, the widget) may report about itself; product
# usage and account facts come from the host product's backend with an API key.
USER_EVENT_TYPES = frozenset({
    "answer_feedback", "article_viewed", "citation_clicked", "handoff_requested",
    "tip_shown", "tip_clicked", "tip_dismissed", "tip_feedback",
})


class EventBatch(BaseModel):
    model_config = {"extra": "forbid"}

    # Items are checked one by one below, so one bad event does not sink the batch.
    events: list[Any] = Field(min_length=1, description="Events (see the README's event table).")


@router.post("/events")
async def post_events(
    body: EventBatch,
    caller: CallerDep,
    events_log: EventLogDep,
    settings: SettingsDep,
    now: NowDep,
    handoff: HandoffDep,
) -> dict[str, Any]:
    """Store the valid events of a batch; every invalid one is reported by index with what is
    wrong, and the rest are stored all the same. Retrying with the same ids is safe. A new
    ``handoff_requested`` event is also sent to the tenant's handoff webhook, if it has one
    (in the background: the write never waits for it)."""
    caller.require("admin", "ingest", "end_user")
    if len(body.events) > settings.max_event_batch:
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"the batch has {len(body.events)} events; the limit is {settings.max_event_batch}",
        )
    valid: list[Event] = []
    indices: list[int] = []  # where each valid event sits in the request
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(body.events):
        try:
            event = validate_event(raw, now)
            _check_owner(event, caller, now, settings.max_user_event_age)
        except EventError as exc:
            errors.append({"index": index, "message": str(exc)})
            continue
        valid.append(event)
        indices.append(index)
    # An end user's ids are theirs alone: they cannot suppress the host's events.
    sender = user_sender(caller.user_id) if caller.is_end_user and caller.user_id else HOST
    appended = await run_in_threadpool(events_log.append, caller.tenant, valid, sender)
    for position in appended.new:
        if valid[position].type == "handoff_requested":
            handoff.submit(Handoff(caller.tenant, valid[position]))
    conflicts = [
        {
            "index": indices[position],
            "id": valid[position].id,
            "message": f"id {valid[position].id!r} was already used for a different event; "
            "an id names one event: send a new id for a new event",
        }
        for position in appended.conflicts
    ]
    return {
        "accepted": appended.accepted,
        "duplicates": appended.duplicates,
        "conflicts": conflicts,
        "errors": errors,
    }


def _check_owner(event: Event, caller: Caller, now: datetime, max_age_s: int) -> None:
    if not caller.is_end_user:
        return
    if event.type not in USER_EVENT_TYPES:
        raise EventError(f"a user token may not send '{event.type}' events")
    if event.user_id != caller.user_id or event.account_id != caller.account_id:
        raise EventError("a user token may only send events about its own user and account")
    # A user's client reports touches as they happen (or after a spell offline); older ones
    # would let a user write their own account's learning history.
    if event.ts < now - timedelta(seconds=max_age_s):
        raise EventError(
            f"'ts' is more than {max_age_s} s ago; a user token may not backdate events"
        )


@router.get("/accounts/{account_id}/events")
async def account_events(
    account_id: str,
    caller: CallerDep,
    events_log: EventLogDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    types: Annotated[
        str | None, Query(max_length=500, description="Only these types, comma-separated.")
    ] = None,
) -> dict[str, Any]:
    """An account's events, newest first; pass ``next_cursor`` back for the next page."""
    caller.require("admin", "csm", "agent")
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    unknown = [t for t in wanted or [] if t not in EVENT_TYPES]
    if unknown:
        raise LearnloopError(
            ErrorCode.invalid_input, f"unknown event type(s) {', '.join(unknown)}"
        )
    if not events_log.has_account(caller.tenant, account_id):
        raise LearnloopError(ErrorCode.not_found, f"account '{account_id}' has no events")
    total, events, next_cursor = await run_in_threadpool(
        events_log.account_events, caller.tenant, account_id, limit, cursor, wanted
    )
    return {"total": total, "events": events, "next_cursor": next_cursor}
