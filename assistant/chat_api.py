"""``POST /v1/chat`` and ``GET /v1/sessions/{id}``: cited answers in stored conversations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.answers import Answer
from assistant.conversations import ConversationStore, resolve_follow_up
from assistant.dependencies import ConversationsDep, KnowledgeDep, SettingsDep
from assistant.errors import ErrorCode, LearnloopError
from assistant.extractive import ExtractiveAnswerer
from assistant.knowledge_base import Knowledge
from assistant.settings import Settings

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
    turn = _Turn.validate(body, knowledge, conversations, settings)
    answer = await turn.answer()
    return answer.as_dict()


@router.post("/chat/stream")
async def chat_stream(
    body: ChatRequest,
    knowledge: KnowledgeDep,
    conversations: ConversationsDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The same answer as server-sent events: ``start`` (the session) at once, then one
    ``passage`` per quoted passage, ``citations``, and ``done`` with the whole structure.
    Bad input is refused with a JSON 4xx before the stream opens."""
    turn = _Turn.validate(body, knowledge, conversations, settings)

    async def events() -> AsyncIterator[str]:
        turn.open_session()
        yield _event("start", {"session_id": turn.session_id, "kb": turn.kb})
        answer = await turn.answer()
        for passage in answer.answer.split("\n\n"):
            yield _event("passage", {"text": passage})
        yield _event("citations", {"citations": answer.as_dict()["citations"]})
        yield _event("done", answer.as_dict())

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


class _Turn:
    """One validated question in its session; nothing is stored until it is answered."""

    def __init__(
        self,
        question: str,
        kb: str,
        session_id: str,
        previous: list[str],
        knowledge: Knowledge,
        conversations: ConversationStore,
    ) -> None:
        self.question, self.kb, self.session_id = question, kb, session_id
        self._previous = previous
        self._knowledge = knowledge
        self._conversations = conversations

    @classmethod
    def validate(
        cls,
        body: ChatRequest,
        knowledge: Knowledge,
        conversations: ConversationStore,
        settings: Settings,
    ) -> _Turn:
        question = body.question.strip()
        if not question:
            raise LearnloopError(ErrorCode.invalid_input, "question is empty")
        if len(question) > settings.max_query_chars:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"question is {len(question)} characters; the limit is {settings.max_query_chars}",
            )
        kb = knowledge.get(body.kb)
        if body.session_id is None:
            return cls(question, kb.name, "", [], knowledge, conversations)
        session = conversations.session(body.session_id)
        if session is None:
            raise LearnloopError(ErrorCode.not_found, f"session '{body.session_id}' does not exist")
        if session["kb"] != kb.name:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"session '{body.session_id}' belongs to knowledge base '{session['kb']}'",
            )
        previous = conversations.questions(body.session_id)
        return cls(question, kb.name, body.session_id, previous, knowledge, conversations)

    def open_session(self) -> None:
        if not self.session_id:
            self.session_id = self._conversations.create_session(self.kb)

    async def answer(self) -> Answer:
        kb = self._knowledge.get(self.kb)
        answerer = ExtractiveAnswerer(self._knowledge.retriever(kb), self._knowledge.embedder)
        query = resolve_follow_up(self.question, self._previous)
        answer = await run_in_threadpool(answerer.answer, query)
        self.open_session()
        answer.session_id = self.session_id
        answer.message_id = self._conversations.add_turn(self.session_id, self.question, answer)
        return answer


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, conversations: ConversationsDep) -> dict[str, Any]:
    """The conversation so far: each question and the answer it got, in order."""
    session = conversations.session(session_id)
    if session is None:
        raise LearnloopError(ErrorCode.not_found, f"session '{session_id}' does not exist")
    return session
