"""When the copilot offers no draft, and why."""

from __future__ import annotations

from assistant.answering.answers import Answer, Citation, Handoff
from assistant.copilot.service import ABSTAIN_BELOW, abstention_reason

CITED = [Citation(1, "a.md", "A", None, "snippet")]


def _answer(confidence: float, answered: bool = True, cited: bool = True,
            reason: str | None = None) -> Answer:
    return Answer("text [1]", CITED if cited else [], confidence, answered,
                  Handoff(not answered, reason))


def test_a_confident_cited_answer_is_drafted() -> None:
    assert abstention_reason("how do I add tags?", _answer(0.8)) is None
    assert abstention_reason("how do I add tags?", _answer(ABSTAIN_BELOW)) is None


def test_each_reason_to_abstain_is_named() -> None:
    declined = _answer(0.2, answered=False, reason="another customer's data is outside")
    assert abstention_reason("q", declined) == (
        "declined by the answerer: another customer's data is outside")
    assert abstention_reason("q", _answer(0.05)) == f"low confidence (0.05 < {ABSTAIN_BELOW})"
    assert abstention_reason("q", _answer(0.9, cited=False)) == (
        "nothing relevant in the help center")
    assert abstention_reason("", None) is not None and "nothing relevant" in str(
        abstention_reason("", None))
