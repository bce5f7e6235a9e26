"""Copilot drafts and their feedback on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from assistant.copilot.gaps import CopilotGaps
from assistant.copilot.store import CopilotDrafts
from assistant.errors import LearnloopError
from assistant.storage.database import open_database


@pytest.fixture
def drafts(database_url, tmp_path):
    db = open_database(database_url, tmp_path, "learnloop.sqlite")
    yield CopilotDrafts(db)
    db.close()


def _add(drafts: CopilotDrafts, tenant: str, kb: str, ts: int, account: str = "acct"):
    return drafts.add(tenant, kb, account, "u1", f"question at {ts}", "the draft",
                      [{"n": 1, "article_id": "a.md", "title": "A"}], False, 0.8, ts)


def test_a_draft_is_read_back_in_its_tenant_only(drafts: CopilotDrafts) -> None:
    stored = _add(drafts, "acme", "help", 1000)
    assert drafts.get("acme", stored.draft_id) == stored
    assert drafts.get("globex", stored.draft_id) is None


def test_one_feedback_per_draft(drafts: CopilotDrafts) -> None:
    stored = _add(drafts, "acme", "help", 1000)
    drafts.add_feedback("acme", stored.draft_id, "edited", "sent", "typo", 0.1, 2000)
    with pytest.raises(LearnloopError) as refused:
        drafts.add_feedback("acme", stored.draft_id, "accepted", None, None, None, 3000)
    assert refused.value.code.http_status == 409
    [(_, feedback)] = drafts.since("acme", 0)
    assert (feedback.action, feedback.final_text, feedback.edit_distance) == (
        "edited", "sent", 0.1)


def test_window_kb_and_tenant_filters(drafts: CopilotDrafts) -> None:
    old = _add(drafts, "acme", "help", 1000)
    new = _add(drafts, "acme", "help", 5000)
    other_kb = _add(drafts, "acme", "docs", 5000)
    _add(drafts, "globex", "help", 5000)
    assert [d.draft_id for d, _ in drafts.since("acme", 2000)] == sorted(
        [new.draft_id, other_kb.draft_id])
    assert [d.draft_id for d, _ in drafts.since("acme", 0, kb="help")] == [
        old.draft_id, new.draft_id]
    assert all(f is None for _, f in drafts.since("acme", 0))


def test_edited_and_rejected_drafts_are_gap_questions(drafts: CopilotDrafts) -> None:
    gaps = CopilotGaps(drafts)
    accepted, edited, rejected = (_add(drafts, "acme", "help", ts) for ts in (1, 2, 3))
    other = _add(drafts, "acme", "help", 4, account="other")
    before = gaps.changes("acme")
    for draft, action in ((accepted, "accepted"), (edited, "edited"), (rejected, "rejected"),
                          (other, "rejected")):
        drafts.add_feedback("acme", draft.draft_id, action, "x", None, None, 10)
    assert gaps.changes("acme") == before + 4
    found = gaps.gap_questions("acme", 0, account_id="acct")
    assert [(g.question, g.reason) for g in found] == [
        ("question at 2", "copilot_edited"), ("question at 3", "copilot_rejected")]
    assert gaps.gap_questions("globex", 0) == []
    assert gaps.gap_questions("acme", 11) == []  # feedback before the window
