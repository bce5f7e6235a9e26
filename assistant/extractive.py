"""The extractive answerer: quotes the passages that answer, cites them, or declines.

0. A request aimed at the assistant itself (prompt injection, "show your instructions") is
   declined outright (guardrails.py).
1. Retrieve the top articles (hybrid retrieval).
2. Split their best chunks into units (sentences; numbered steps stay whole).
3. Score every unit against the question with the dense model (the question is first
   rendered in the article's language when they differ) plus a small bonus for the
   retrieval rank, and quote the best unit, the list a lead-in sentence introduces, and a
   close runner-up from the same passage.
4. Confidence is the best unit's similarity; below the threshold calibrated on the eval
   sets (evals/RESULTS.md) it declines and offers a human instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.answers import Answer, Citation, Handoff
from assistant.embeddings import Embedder
from assistant.guardrails import targets_the_assistant
from assistant.language import detect_language, language_of_locale
from assistant.passages import Unit, split_units
from assistant.retrieval import ArticleHit, Retriever

__all__ = ["DECLINE_THRESHOLD", "ExtractiveAnswerer"]

DECLINE_THRESHOLD = 0.35  # the largest keeping wrong declines ≤ 0.10 on both sets (RESULTS.md)
_RANK_BONUS = (0.3, 0.1, 0.0)  # trust retrieval order unless a passage is far better
_MAX_WORDS = 110

_DECLINE = {
    "en": "I couldn't find this in the help center, so I won't guess. "
    "I can hand you over to a person on the support team.",
    "es": "No encontré esto en el centro de ayuda y prefiero no adivinar. "
    "Puedo pasarte con una persona del equipo de soporte.",
}
_SOURCES = {"en": "Sources", "es": "Fuentes"}


@dataclass(frozen=True)
class _Scored:
    score: float
    similarity: float
    unit: Unit
    hit: ArticleHit
    units: tuple[Unit, ...]


class ExtractiveAnswerer:
    def __init__(
        self, retriever: Retriever, embedder: Embedder, threshold: float = DECLINE_THRESHOLD
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.threshold = threshold

    def answer(self, question: str, filters: dict[str, object] | None = None) -> Answer:
        language = detect_language(question)
        if targets_the_assistant(question):
            return _declined(language, 0.0, "the request is about the assistant, not the product")
        hits = self.retriever.search(question, k=3, filters=filters)
        best = self._best_units(question, language, self._prefer_language(hits, language))
        if not best:
            return _declined(language, 0.0, "no article matches the question")
        top = best[0]
        if top.similarity < self.threshold:
            return _declined(language, top.similarity, "low confidence")
        chosen = self._compose(top, best)
        citations: list[Citation] = []
        parts: list[str] = []
        for scored in chosen:
            n = next((c.n for c in citations if c.article_id == scored.hit.article_id), None)
            if n is None:
                n = len(citations) + 1
                citations.append(
                    Citation(
                        n,
                        scored.hit.article_id,
                        scored.hit.title,
                        scored.hit.url,
                        scored.hit.snippet,
                    )
                )
            parts.append(f"{scored.unit.text} [{n}]")
        body = "\n\n".join(parts)
        sources = "\n".join(
            f"[{c.n}] {c.title}" + (f" — {c.url}" if c.url else "") for c in citations
        )
        return Answer(
            answer=f"{body}\n\n{_SOURCES.get(language, 'Sources')}:\n{sources}",
            citations=citations,
            confidence=top.similarity,
            answered=True,
            handoff=Handoff(False),
            language=language,
        )

    @staticmethod
    def _prefer_language(hits: list[ArticleHit], language: str) -> list[ArticleHit]:
        """Answer from an article in the question's language when one ranks close to the top."""
        if not hits or language_of_locale(hits[0].locale) == language:
            return hits
        for i, hit in enumerate(hits[1:], start=1):
            if language_of_locale(hit.locale) == language and hit.score >= 0.8 * hits[0].score:
                return [hit, *hits[:i], *hits[i + 1 :]]
        return hits

    def _best_units(self, question: str, language: str, hits: list[ArticleHit]) -> list[_Scored]:
        candidates: list[tuple[ArticleHit, int, Unit, tuple[Unit, ...]]] = []
        for rank, hit in enumerate(hits[:3]):
            units = tuple(split_units(hit.body))
            candidates.extend((hit, rank, u, units) for u in units if u.quotable)
        if not candidates:
            return []
        queries: dict[str, np.ndarray] = {}
        for hit, _, _, _ in candidates:
            target = language_of_locale(hit.locale)
            if target not in queries:
                rendered = question
                if target != language:
                    rendered = self.retriever.translate(question, language, target) or question
                queries[target] = self.embedder.embed_query(rendered)
        vectors = self._unit_vectors(candidates)
        scored = []
        for (hit, rank, unit, units), vector in zip(candidates, vectors, strict=True):
            similarity = float(vector @ queries[language_of_locale(hit.locale)])
            bonus = _RANK_BONUS[rank] if rank < len(_RANK_BONUS) else 0.0
            scored.append(_Scored(similarity + bonus, similarity, unit, hit, units))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _unit_vectors(
        self, candidates: list[tuple[ArticleHit, int, Unit, tuple[Unit, ...]]]
    ) -> np.ndarray:
        """The units' embeddings, stored at ingest; embedded now only if missing (older KB)."""
        stored = self.retriever.unit_vectors(sorted({hit.chunk_id for hit, _, _, _ in candidates}))
        rows: list[np.ndarray | None] = []
        for hit, _, unit, units in candidates:
            matrix = stored.get(hit.chunk_id)
            rows.append(
                matrix[unit.position] if matrix is not None and len(matrix) == len(units) else None
            )
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            fresh = self.embedder.embed_documents([candidates[i][2].gist for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                rows[i] = vector
        return np.stack([row for row in rows if row is not None])

    @staticmethod
    def _compose(top: _Scored, ranked: list[_Scored]) -> list[_Scored]:
        """The best unit, the steps it introduces, and a close runner-up from its passage."""
        chosen = [top]
        words = top.unit.words
        following = [u for u in top.units if u.position == top.unit.position + 1]
        if top.unit.text.rstrip().endswith(":") and following and following[0].kind == "steps":
            chosen.append(_Scored(top.score, top.similarity, following[0], top.hit, top.units))
            words += following[0].words
        for other in ranked[1:6]:
            if words >= _MAX_WORDS or top.unit.kind == "steps":
                break
            same_passage = other.hit.chunk_id == top.hit.chunk_id
            if (
                same_passage
                and other.score >= top.score - 0.08
                and other.unit not in [c.unit for c in chosen]
            ):
                chosen.append(other)
                words += other.unit.words
        # Quote in reading order within a passage.
        chosen.sort(key=lambda s: (s.hit.chunk_id != top.hit.chunk_id, s.unit.position))
        return chosen


def _declined(language: str, confidence: float, reason: str) -> Answer:
    return Answer(
        answer=_DECLINE.get(language, _DECLINE["en"]),
        citations=[],
        confidence=confidence,
        answered=False,
        handoff=Handoff(True, reason),
        language=language,
    )
