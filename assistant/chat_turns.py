"""One chat turn, shared by ``/v1/chat``, ``/v1/chat/stream`` and ``/v1/chat/completions``:
validate the question, find the caller's knowledge base and session, answer, store the turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.access import Caller, Role
from assistant.answering import make_answerer
from assistant.answers import Answer, Answerer
from assistant.conversations import ConversationStore, resolve_follow_up
from assistant.errors import ErrorCode, LearnloopError
from assistant.event_log import EventLog
from assistant.events import Event
from assistant.extractive import declined_as_out_of_scope
from assistant.knowledge_base import Knowledge
from assistant.learning_service import LearningService
from assistant.settings import Settings

__all__ = ["ASKING_ROLES", "ChatTurn"]

# Who may ask questions: everyone but ingest-only keys.
ASKING_ROLES: tuple[Role, ...] = ("admin", "agent", "csm", "end_user")


class ChatTurn:
    """One validated question in its session; nothing is stored until it is answered."""

    def __init__(
        self,
        question: str,
        kb: str,
        session_id: str,
        previous: list[str],
        caller: Caller,
        knowledge: Knowledge,
        conversations: ConversationStore,
        event_log: EventLog | None = None,
        *,
        learning: LearningService | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.question, self.kb, self.session_id = question, kb, session_id
        self.caller = caller
        self._previous = previous
        self._knowledge = knowledge
        self._conversations = conversations
        self._event_log = event_log
        self._learning = learning
        self._settings = settings or Settings(answerer="extractive")
        # When the question was asked: now, unless history is replayed (the demo seed).
        self.asked_at: datetime | None = None

    @classmethod
    def validate(
        cls,
        question: str,
        kb_name: str,
        session_id: str | None,
        caller: Caller,
        knowledge: Knowledge,
        conversations: ConversationStore,
        settings: Settings,
        event_log: EventLog | None = None,
        *,
        learning: LearningService | None = None,
        history: list[str] | None = None,
    ) -> ChatTurn:
        """Refuse bad input before anything is stored: empty or over-long question, a
        knowledge base or session the caller's tenant (or user) does not have. ``history``:
        earlier questions to resolve a follow-up against when there is no stored session
        (an OpenAI-style request carries its own)."""
        caller.require(*ASKING_ROLES)
        question = question.strip()
        if not question:
            raise LearnloopError(ErrorCode.invalid_input, "question is empty")
        if len(question) > settings.max_query_chars:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"question is {len(question)} characters; the limit is {settings.max_query_chars}",
            )
        kb = knowledge.get(kb_name, tenant=caller.tenant)
        if session_id is None:
            # Only the last earlier question is searched with a follow-up, and never more of
            # it than a question may hold (callers check the history's lengths themselves).
            previous = [text[: settings.max_query_chars] for text in (history or [])[-1:]]
            return cls(question, kb.name, "", previous, caller, knowledge,
                       conversations, event_log, learning=learning, settings=settings)
        session = conversations.session(session_id, caller)
        if session is None:
            raise LearnloopError(ErrorCode.not_found, f"session '{session_id}' does not exist")
        if session["kb"] != kb.name:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"session '{session_id}' belongs to knowledge base '{session['kb']}'",
            )
        previous = conversations.questions(session_id)
        return cls(
            question, kb.name, session_id, previous, caller, knowledge, conversations, event_log,
            learning=learning, settings=settings,
        )

    def open_session(self) -> None:
        if not self.session_id:
            self.session_id = self._conversations.create_session(
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
        kb = self._knowledge.get(self.kb, tenant=self.caller.tenant)
        return make_answerer(self._settings, self._knowledge, kb)

    async def answer(self) -> Answer:
        answer = await run_in_threadpool(self._answerer().answer, self.query)
        # Storing the turn reads learning state and writes two stores: off the event loop.
        return await run_in_threadpool(self.record, answer)

    async def stream(self) -> AsyncIterator[str | Answer]:
        """The answer's text as it is written (LLM answerer: tokens; extractive: nothing),
        then the stored ``Answer``. When the final answer is not what was streamed (the
        grounding guard rejected the model's text), it has ``stream_replaced`` set."""
        if self._settings.answerer != "llm":
            yield await self.answer()
            return
        from assistant.llm_answerer import LlmAnswerer  # langchain only when it is used

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
        if self._learning is not None:
            caller = self.caller
            answer.next_steps = self._learning.next_steps_for(
                caller.tenant, caller.user_id, caller.account_id, caller.user_role,
                self.question, self.asked_at or datetime.now(UTC), kb=self.kb,
                related=[c.article_id for c in answer.citations],
            )
        answer.session_id = self.session_id
        answer.message_id = self._conversations.add_turn(self.session_id, self.question, answer)
        self._log(answer)
        return answer

    def _log(self, answer: Answer) -> None:
        """An end user's turn goes into the engagement log (question_asked, answer_given),
        keyed by the message id so it is written once. Staff and dev-mode calls have no
        user or account to attribute it to."""
        caller = self.caller
        if self._event_log is None or caller.user_id is None or caller.account_id is None:
            return
        account_id, user_id = caller.account_id, caller.user_id
        now = self.asked_at or datetime.now(UTC)

        def event(kind: str, properties: dict[str, object]) -> Event:
            return Event(f"{answer.message_id}:{kind}", kind, account_id, user_id, now, properties)

        turn = {"kb": self.kb, "message_id": answer.message_id}
        self._event_log.append(
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
