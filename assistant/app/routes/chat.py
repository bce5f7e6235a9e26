"""``POST /v1/chat`` and ``GET /v1/sessions/{id}``: cited answers in stored conversations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.app.deps import CallerDep, ChatDep, ConversationsDep
from assistant.chat.turns import ChatTurn
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["ChatRequest", "router"]

router = APIRouter(prefix="/v1", tags=["chat"])


class ChatRequest(BaseModel):
    model_config = {"extra": "forbid"}

    question: str = Field(
        min_length=1, description="The question, as typed (at most LEARNLOOP_MAX_QUERY_CHARS)."
    )
    kb: str = Field(min_length=1, max_length=60, description="Knowledge base name.")
    session_id: str | None = Field(
        default=None, max_length=64, description="Continue this conversation; omit to start one."
    )


@router.post("/chat")
async def chat(
    body: ChatRequest, caller: CallerDep, chat: ChatDep
) -> dict[str, Any]:
    """Answer with citations, or decline and offer a human; the turn is stored."""
    turn = ChatTurn.validate(body.question, body.kb, body.session_id, caller, chat)
    answer = await turn.answer()
    return answer.as_dict()


@router.post("/chat/stream")
async def chat_stream(
    body: ChatRequest, caller: CallerDep, chat: ChatDep
) -> StreamingResponse:
    """The same answer as server-sent events: ``start`` (the session) at once; with the LLM
    answerer one ``token`` per piece of text as the model writes it (and ``replace`` if the
    grounding guard rejected it: drop the streamed text), with the extractive one a
    ``passage`` per quoted passage; then ``citations`` and ``done`` with the whole
    structure. Bad input is refused with a JSON 4xx before the stream opens."""
    turn = ChatTurn.validate(body.question, body.kb, body.session_id, caller, chat)

    async def events() -> AsyncIterator[str]:
        turn.open_session()
        yield _event("start", {"session_id": turn.session_id, "kb": turn.kb})
        streamed = False
        async for item in turn.stream():
            if isinstance(item, str):
                streamed = True
                yield _event("token", {"text": item})
                continue
            answer = item
        if streamed and getattr(answer, "stream_replaced", False):
            yield _event("replace", {"text": answer.answer})
        elif not streamed:
            for passage in answer.answer.split("\n\n"):
                yield _event("passage", {"text": passage})
        yield _event("citations", {"citations": answer.as_dict()["citations"]})
        yield _event("done", answer.as_dict())

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/sessions")
async def list_sessions(
    caller: CallerDep,
    conversations: ConversationsDep,
    kb: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    user_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Staff: one user's.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Conversations with at least one turn, latest activity first. An end user gets their
    own (the widget continues the latest on any device); staff keys their tenant's."""
    caller.require("admin", "agent", "csm", "end_user")
    if caller.is_end_user and user_id not in (None, caller.user_id):
        raise LearnloopError(ErrorCode.forbidden, "an end user may list only their own sessions")
    sessions = await run_in_threadpool(conversations.sessions, caller, user_id, kb, limit)
    return {"sessions": sessions}


@router.get("/sessions/{session_id}")
async def get_session(
    session_id: str, caller: CallerDep, conversations: ConversationsDep
) -> dict[str, Any]:
    """The conversation so far: each question and the answer it got, in order. End users
    see only their own sessions; staff keys see their tenant's."""
    caller.require("admin", "agent", "csm", "end_user")
    session = conversations.session(session_id, caller)
    if session is None:
        raise LearnloopError(ErrorCode.not_found, f"session '{session_id}' does not exist")
    return session
