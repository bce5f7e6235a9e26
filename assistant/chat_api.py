"""``POST /v1/chat`` and ``GET /v1/sessions/{id}``: cited answers in stored conversations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.conversations import resolve_follow_up
from assistant.dependencies import ConversationsDep, KnowledgeDep, SettingsDep
from assistant.errors import ErrorCode, LearnloopError
from assistant.extractive import ExtractiveAnswerer

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
    body: ChatRequest,
    knowledge: KnowledgeDep,
    conversations: ConversationsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Answer with citations, or decline and offer a human; the turn is stored."""
    question = body.question.strip()
    if not question:
        raise LearnloopError(ErrorCode.invalid_input, "question is empty")
    if len(question) > settings.max_query_chars:
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"question is {len(question)} characters; the limit is {settings.max_query_chars}",
        )
    kb = knowledge.get(body.kb)
    previous: list[str] = []
    if body.session_id is not None:
        session = conversations.session(body.session_id)
        if session is None:
            raise LearnloopError(ErrorCode.not_found, f"session '{body.session_id}' does not exist")
        if session["kb"] != kb.name:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"session '{body.session_id}' belongs to knowledge base '{session['kb']}'",
            )
        previous = conversations.questions(body.session_id)
    answerer = ExtractiveAnswerer(knowledge.retriever(kb), knowledge.embedder)
    answer = await run_in_threadpool(answerer.answer, resolve_follow_up(question, previous))
    session_id = body.session_id or conversations.create_session(kb.name)
    answer.session_id = session_id
    answer.message_id = conversations.add_turn(session_id, question, answer)
    return answer.as_dict()


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, conversations: ConversationsDep) -> dict[str, Any]:
    """The conversation so far: each question and the answer it got, in order."""
    session = conversations.session(session_id)
    if session is None:
        raise LearnloopError(ErrorCode.not_found, f"session '{session_id}' does not exist")
    return session
