"""The copilot as a service: a ticket in, a stored draft and the customer panel out; the
agents' feedback on drafts; the quality report.

Built from the existing parts (composition root: ``assistant.services``): the knowledge
base's answerer (extractive by default) answers the customer's ask, the learning service
gives the stage, path and next step, the health service the account's score, signals and
plays, the tips service a tip (without recording it as shown), the engagement log the
user's questions and reading. Drafts agents edited or rejected reach the content gaps
through ``CopilotGaps``. Every lookup is under the caller's tenant and, for the
history, that user within that account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assistant.access.registry import Caller
from assistant.answering.answers import Answer
from assistant.answering.factory import Answerers
from assistant.clock import DAY_MS
from assistant.copilot.composer import compose_draft
from assistant.copilot.metrics import normalised_edit_distance, quality_report
from assistant.copilot.panel import History, read_history
from assistant.copilot.store import Action, CopilotDrafts
from assistant.copilot.tickets import Ticket, customer_ask
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.health.service import HealthService
from assistant.knowledge.base import Knowledge
from assistant.knowledge.similar_tickets import similar_tickets
from assistant.language import detect_language, language_of_locale
from assistant.learning.service import LearningService
from assistant.tips.service import TipService

__all__ = ["ABSTAIN_BELOW", "CopilotService", "DraftRequest", "abstention_reason"]

# The answerer's own decline (its learned reader) is the main judgement; this floor only
# catches an answer kept with next to no support. Measured on evals/questions/sample.jsonl:
# no answered question scored under 0.1, while a floor at content gaps' 0.5 would have
# dropped 27 answers whose first citation is right to catch 6 unanswerable questions, and
# the copilot must abstain no less and cite right no less often than /v1/chat.
ABSTAIN_BELOW = 0.1
SIMILAR_TICKETS = 3
TOP_SIGNALS = 3
_HISTORY_TYPES = ("question_asked", "answer_given", "article_viewed", "citation_clicked")


@dataclass(frozen=True)
class DraftRequest:
    kb: str
    ticket: Ticket
    user_id: str | None = None
    account_id: str | None = None
    locale: str | None = None


class CopilotService:
    def __init__(
        self,
        knowledge: Knowledge,
        answerers: Answerers,
        events: EventLog,
        learning: LearningService,
        health: HealthService,
        tips: TipService,
        drafts: CopilotDrafts,
        max_query_chars: int = 1000,
    ) -> None:
        self._knowledge = knowledge
        self._answerers = answerers
        self._events = events
        self._learning = learning
        self._health = health
        self._tips = tips
        self.drafts = drafts
        self._max_query_chars = max_query_chars

    # -- drafts --------------------------------------------------------------------------

    def draft(self, caller: Caller, request: DraftRequest, now: datetime) -> dict[str, Any]:
        tenant = caller.tenant
        base = self._knowledge.get(request.kb, tenant=tenant)  # kb_not_found: another tenant's
        ask = customer_ask(request.ticket)[: self._max_query_chars]
        language = (language_of_locale(request.locale) if request.locale
                    else detect_language(ask or request.ticket.last_customer_text()))
        user, account = request.user_id, request.account_id
        # A user's history is read within their account only: a user id alone (or one of
        # another account) brings nothing of anyone into the panel.
        history = (self._history(tenant, base.catalog, account, user) if user and account
                   else History())
        answer = self._answerers.for_kb(base).answer(ask) if ask else None
        why = abstention_reason(ask, answer)
        cited = [c.article_id for c in answer.citations] if answer else []
        learning = self._learning_state(tenant, base.name, user, account, now)
        next_step = tip = None
        # Only for a customer the log knows: a first-week step pushed on a stranger who may
        # have used the product for years would be a guess.
        if learning is not None and user and account:
            steps = self._learning.next_steps_for(
                tenant, user, account, None, ask or None, now, kb=base.name, related=cited,
                limit=1)
            next_step = steps[0] if steps else None
            tip = self._tip(tenant, base.name, user, account, now)
        text = "" if why or answer is None else compose_draft(
            answer, language, history, next_step, tip)
        citations = [] if why or answer is None else [
            {"n": c.n, "article_id": c.article_id, "title": c.title, "url": c.url,
             "snippet": c.snippet} for c in answer.citations]
        confidence = round(answer.confidence, 4) if answer else 0.0
        record = self.drafts.add(tenant, base.name, account, user, ask, text, citations,
                                 why is not None, confidence, int(now.timestamp() * 1000))
        return {
            "draft_id": record.draft_id,
            "draft": text,
            "citations": citations,
            "confidence": confidence,
            "abstained": why is not None,
            "why": why,
            "question": ask,
            "language": language,
            "customer": self._panel(tenant, user, account, history, learning, now),
            "suggested_next_step": next_step,
            "suggested_tip": tip,
            # Agent-only knowledge: similar_tickets itself refuses any other role.
            "similar_tickets": [
                t.as_dict() for t in similar_tickets(
                    self._knowledge, caller, base.name, ask, SIMILAR_TICKETS)
            ] if ask else [],
        }

    def _history(self, tenant: str, catalog: Any, account: str | None, user: str | None
                 ) -> History:
        def title_of(article_id: str) -> str | None:
            document = catalog.document(article_id)
            return document.title if document is not None else None

        rows = self._events.rows(tenant, account_id=account, user_id=user, types=_HISTORY_TYPES)
        return read_history(rows, title_of)

    def _tip(self, tenant: str, kb: str, user: str, account: str, now: datetime
             ) -> dict[str, Any] | None:
        # record=False: suggesting a tip to an agent is not showing it to the customer.
        decided = self._tips.next_tip(tenant, kb, user_id=user, account_id=account,
                                      session_id="copilot", now=now, record=False)
        tip: dict[str, Any] | None = decided["tip"]
        return tip

    def _learning_state(self, tenant: str, kb: str, user: str | None, account: str | None,
                        now: datetime) -> dict[str, Any] | None:
        """The user's learning within their account, or None when the log has no event of
        them there."""
        if not (user and account):
            return None
        try:
            return self._learning.user(tenant, user, now, account_id=account, kb=kb).as_dict()
        except LearnloopError as exc:
            if exc.code != ErrorCode.not_found:
                raise
            return None

    def _panel(self, tenant: str, user: str | None, account: str | None, history: History,
               learning: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
        panel: dict[str, Any] = {
            "user_id": user, "account_id": account, "known": learning is not None,
            "stage": learning["stage"] if learning else None,
            "path": learning["path"] if learning else None,
            "progress": learning["progress"] if learning else None,
            "recent_questions": history.recent_questions,
            "unanswered_questions": history.unanswered_questions,
            "articles_read": history.articles_read,
            "health": None, "plays": [],
        }
        # The account's health only for its own customer: a user id the log does not know
        # in that account is no reason to show the account.
        if account and (user is None or learning is not None) \
                and self._events.has_account(tenant, account):
            health = self._health.score(tenant, account, now)
            panel["health"] = {
                "score": health.score, "band": health.band,
                "top_signals": [s.as_dict() for s in health.signals[:TOP_SIGNALS]],
            }
            panel["plays"] = [p.as_dict() for p in health.plays]
        return panel

    # -- feedback ------------------------------------------------------------------------

    def feedback(
        self, tenant: str, draft_id: str, action: Action, final_text: str | None,
        reason: str | None, now: datetime,
    ) -> dict[str, Any]:
        draft = self.drafts.get(tenant, draft_id)
        if draft is None:
            raise LearnloopError(ErrorCode.not_found, f"draft '{draft_id}' does not exist")
        if action == "edited" and not (final_text or "").strip():
            raise LearnloopError(
                ErrorCode.invalid_input, "an edited draft needs final_text: what was sent")
        distance = (round(normalised_edit_distance(draft.draft, final_text or ""), 4)
                    if action == "edited" else None)
        stored = self.drafts.add_feedback(tenant, draft_id, action, final_text, reason,
                                          distance, int(now.timestamp() * 1000))
        return {"draft_id": draft_id, "action": stored.action,
                "edit_distance": stored.edit_distance}

    # -- insights ------------------------------------------------------------------------

    def report(self, tenant: str, now: datetime, days: int, kb: str | None = None
               ) -> dict[str, Any]:
        since = int(now.timestamp() * 1000) - days * DAY_MS
        return {"days": days, "kb": kb,
                **quality_report(self.drafts.since(tenant, since, kb))}


def abstention_reason(ask: str, answer: Answer | None) -> str | None:
    """Why the copilot offers no draft, or None when it offers one."""
    if not ask or answer is None:
        return "nothing relevant: the ticket asks nothing the help center could answer"
    if not answer.answered:
        return f"declined by the answerer: {answer.handoff.reason or 'no passage answers it'}"
    if not answer.citations:
        return "nothing relevant in the help center"
    if answer.confidence < ABSTAIN_BELOW:
        return f"low confidence ({answer.confidence:.2f} < {ABSTAIN_BELOW})"
    return None
