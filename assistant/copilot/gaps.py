"""Drafts that support agents edited or rejected, as content-gap questions: the help
center's answer was not what a person would send (reasons ``copilot_edited`` and
``copilot_rejected``). A ``GapSource`` of the content-gap service."""

from __future__ import annotations

from assistant.copilot.store import CopilotDrafts
from assistant.insights.content_gaps import GapQuestion

__all__ = ["CopilotGaps"]


class CopilotGaps:
    def __init__(self, drafts: CopilotDrafts) -> None:
        self._drafts = drafts

    def gap_questions(
        self, tenant: str, since_ms: int, account_id: str | None = None
    ) -> list[GapQuestion]:
        """One per draft edited or rejected since ``since_ms`` (of one account), at the
        time of the feedback."""
        return [
            GapQuestion(draft.question, draft.account_id or "", f"copilot_{feedback.action}",
                        feedback.created_ms)
            for draft, feedback in self._drafts.feedback_since(tenant, since_ms, account_id)
            if feedback.action in ("edited", "rejected") and draft.question
        ]

    def changes(self, tenant: str) -> int:
        return self._drafts.changes(tenant)
