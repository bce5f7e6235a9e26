"""One chat turn, shared by ``/v1/chat``, ``/v1/chat/stream`` and ``/v1/chat/completions``:
validate the question, find the caller's knowledge base and session, answer, store the turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.access.registry import Caller, Role
from assistant.answering.answers import Answer, Answerer
from assistant.answering.extractive import declined_as_out_of_scope
from assistant.answering.factory import Answerers
from assistant.chat.conversations import ConversationStore, resolve_follow_up
from assistant.clock import Clock, utc_now
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.events.model import Event
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.learning.service import LearningService
from assistant.settings import Settings

__all__ = ["ASKING_ROLES", "ChatParts", "ChatTurn"]

# Who may ask questions: everyone but ingest-only keys.
ASKING_ROLES: tuple[Role, ...] = ("admin", "agent", "csm", "end_user")


@dataclass(frozen=True)
class ChatParts:
    """What a chat turn works with, built once by the composition root
    (``assistant.services``). ``event_log`` and ``learning`` are optional so that a caller
    may answer without recording engagement or suggesting next steps."""

    settings: Settings
    knowledge: Knowledge
    answerers: Answerers
    conversations: ConversationStore
    event_log: EventLog | None = None
    learning: LearningService | None = None


class ChatTurn:
    """One validated question in its session; nothing is stored until it is answered."""

    def __init__(
        self, question: str, kb: KnowledgeBase, session_id: str, previous: list[str],
        caller: Caller, parts: ChatParts, clock: Clock = utc_now,
    ) -> None:
        self.question, self.kb, self.session_id = question, kb.name, session_id
        self.caller = caller
        self._knowledge_base = kb
        self._previous = previous
        self._parts = parts
        # When the question was asked: now (the clock), unless history is replayed (the demo
        # seed sets it).
        self.asked_at: datetime | None = None
        self._clock = clock

    @classmethod
    def validate(
        cls,
        question: str,
        kb_name: str,
        session_id: str | None,
        caller: Caller,
        parts: ChatParts,
        *,
        history: list[str] | None = None,
        clock: Clock = utc_now,
    ) -> ChatTurn:
        """Refuse bad input before anything is stored: empty or over-long question, a
        knowledge base or session the caller's tenant (or user) does not have. ``history``:
        earlier questions to resolve a follow-up against when there is no stored session
        (an OpenAI-style request carries its own)."""
        caller.require(*ASKING_ROLES)
        limit = parts.settings.max_query_chars
        question = question.strip()
        if not question:
            raise LearnloopError(ErrorCode.invalid_input, "question is empty")
        if len(question) > limit:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"question is {len(question)} characters; the limit is {limit}",
            )
        kb = parts.knowledge.get(kb_name, tenant=caller.tenant)
        if session_id is None:
            # Only the last earlier question is searched with a follow-up, and never more of
            # it than a question may hold (callers check the history's lengths themselves).
            previous = [text[:limit] for text in (history or [])[-1:]]
            return cls(question, kb, "", previous, caller, parts, clock)
        conversations = parts.conversations
        session = conversations.session(session_id, caller)
        if session is None:
            raise LearnloopError(ErrorCode.not_found, f"session '{session_id}' does not exist")
        if session["kb"] != kb.name:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"session '{session_id}' belongs to knowledge base '{session['kb']}'",
            )
        return cls(question, kb, session_id, conversations.questions(session_id), caller, parts,
                   clock)

    def open_session(self) -> None:
        if not self.session_id:
            self.session_id = self._parts.conversations.create_session(
                self.kb,
                tenant=self.caller.tenant,
                user_id=self.caller.user_id,
                account_id=self.caller.account_id,
            )

    @property
    def query(self) -> str:
        """What to search for: the question, with the previous one when it is a follow-up."""
        return resolve_follow_up(self.question, self._previous)

    def _answerer(self) -> Answerer:
        return self._parts.answerers.for_kb(self._knowledge_base)

    async def answer(self) -> Answer:
        answer = await run_in_threadpool(self._answerer().answer, self.query)
        # Storing the turn reads learning state and writes two stores: off the event loop.
        return await run_in_threadpool(self.record, answer)

    async def stream(self) -> AsyncIterator[str | Answer]:
        """The answer's text as it is written (LLM answerer: tokens; extractive: nothing),
        then the stored ``Answer``. When the final answer is not what was streamed (the
        grounding guard rejected the model's text), it has ``stream_replaced`` set."""
        if self._parts.settings.answerer != "llm":
            yield await self.answer()
            return
        from assistant.answering.llm import LlmAnswerer  # langchain only when it is used

        answerer = self._answerer()
        assert isinstance(answerer, LlmAnswerer)
        final: Answer | None = None
        async for item in iterate_in_threadpool(answerer.stream(self.query)):
            if isinstance(item, str):
                yield item
            else:
                final = item
        assert final is not None, "the LLM answerer always ends with its answer"
        yield await run_in_threadpool(self.record, final)

    def record(self, answer: Answer) -> Answer:
        """Store the question and its answer in the session (opened now if new), with the
        asker's next learning steps."""
        self.open_session()
        if self._parts.learning is not None:
            caller = self.caller
            answer.next_steps = self._parts.learning.next_steps_for(
                caller.tenant, caller.user_id, caller.account_id, caller.user_role,
                self.question, self.asked_at or self._clock(), kb=self.kb,
                related=[c.article_id for c in answer.citations],
            )
        answer.session_id = self.session_id
        answer.message_id = self._parts.conversations.add_turn(
            self.session_id, self.question, answer
        )
        self._log(answer)
        return answer

    def _log(self, answer: Answer) -> None:
        """An end user's turn goes into the engagement log (question_asked, answer_given),
        keyed by the message id so it is written once. Staff and dev-mode calls have no
        user or account to attribute it to."""
        caller = self.caller
        event_log = self._parts.event_log
        if event_log is None or caller.user_id is None or caller.account_id is None:
            return
        account_id, user_id = caller.account_id, caller.user_id
        now = self.asked_at or self._clock()

        def event(kind: str, properties: dict[str, object]) -> Event:
            return Event(f"{answer.message_id}:{kind}", kind, account_id, user_id, now, properties)

        turn = {"kb": self.kb, "message_id": answer.message_id}
        event_log.append(
            caller.tenant,
            [
                event("question_asked", {"question": self.question, **turn,
                                         "session_id": self.session_id}),
                event("answer_given", {"answered": answer.answered,
                                       "confidence": round(answer.confidence, 4),
                                       "question": self.question, **turn,
                                       "cited": [c.article_id for c in answer.citations],
                                       "out_of_scope": declined_as_out_of_scope(answer)}),
            ],
        )
