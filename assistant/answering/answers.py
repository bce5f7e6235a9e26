"""The answer structure both answerers return (DESIGN "Answering")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["Answer", "Answerer", "Citation", "Handoff"]


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    url: str | None
    snippet: str


@dataclass(frozen=True)
class Handoff:
    suggested: bool
    reason: str | None = None


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    confidence: float
    answered: bool
    handoff: Handoff
    next_steps: list[dict[str, Any]] = field(default_factory=list)
    session_id: str = ""
    message_id: str = ""
    language: str = "en"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 4)
        out.pop("language")
        return out


class Answerer(Protocol):
    """The seam both answerers (extractive, LLM) sit behind."""

    def answer(self, question: str, filters: dict[str, object] | None = None) -> Answer: ...
