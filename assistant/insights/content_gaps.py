"""Content gaps: the questions the help center could not answer well, grouped into topics.

A question is a gap when its answer was declined, answered with low confidence, or marked
unhelpful by the customer. A decline marked ``out_of_scope`` (a request no help center
serves, legal advice, a prompt injection) is no gap: no article should answer it. A question
about something the help center lacks — "is there a salesforce integration", or how to do
something in another product — is one (``ExtractiveAnswerer.asks_for_help``). Questions are grouped
by meaning with the multilingual model (so "export to Excel" and "exportar a Excel" land
together): greedy single-pass clustering against running centroids, largest topics first.
Each topic reports how often it was asked, by how many accounts, why it counts as a gap, and
a few example questions — what a content admin needs to decide which article to write next.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from assistant.events.model import EventRow
from assistant.language import detect_language, is_stop_word

__all__ = ["GapQuestion", "content_gaps", "gap_questions"]

# Below this an answer is shown but shaky: the extractive answerer declines under ~0.35.
LOW_CONFIDENCE = 0.5
# Cosine between a question and a topic's centroid to join it (multilingual USE space):
# paraphrases of one need sit around 0.5-0.8, unrelated needs about one product at 0.1-0.3.
SAME_TOPIC = 0.5
# Related phrasings that share a word the help center never uses ("gantt view" / "gantt
# chart dependencies", 0.35) join at a lower similarity: a shared unknown word is strong
# evidence of the same missing topic, while shared everyday product words ("plan",
# "account") are not. The shared word alone is never enough.
SAME_TOPIC_SHARED_WORD = 0.33

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class GapQuestion:
    question: str
    account_id: str
    reason: str  # declined | low_confidence | unhelpful | copilot_edited | copilot_rejected
    ts_ms: int


def gap_questions(rows: Iterable[EventRow], low_confidence: float = LOW_CONFIDENCE
                  ) -> list[GapQuestion]:
    """The gap questions in an account's (or tenant's) events: one per answer, with the
    strongest reason (unhelpful > declined > low confidence)."""
    answers: dict[str, GapQuestion | None] = {}
    found: list[GapQuestion] = []
    for row in rows:
        if row.type == "answer_given":
            props = row.props()
            question = str(props.get("question") or "").strip()
            if not question:
                continue
            reason = None
            if props.get("answered") is False:
                if props.get("out_of_scope") is True:
                    continue
                reason = "declined"
            elif float(props.get("confidence", 1.0)) < low_confidence:
                reason = "low_confidence"
            gap = GapQuestion(question, row.account_id, reason or "", row.ts_ms)
            message_id = str(props.get("message_id") or "")
            if message_id:
                answers[message_id] = gap
            if reason:
                found.append(gap)
        elif row.type == "answer_feedback":
            props = row.props()
            if props.get("helpful") is False:
                answered = answers.get(str(props.get("message_id")))
                if answered is not None:
                    if answered.reason:
                        found.remove(answered)
                    found.append(GapQuestion(answered.question, answered.account_id,
                                             "unhelpful", row.ts_ms))
                    answers[str(props.get("message_id"))] = None
    return found


@dataclass
class _Topic:
    members: list[tuple[GapQuestion, np.ndarray]] = field(default_factory=list)
    words: set[str] = field(default_factory=set)


def content_gaps(
    gaps: Sequence[GapQuestion],
    embed: Embed,
    known_words: Collection[str] = (),
    limit: int = 20,
    examples: int = 3,
) -> list[dict[str, Any]]:
    """Topics of gap questions, most asked first. ``known_words``: the knowledge base's
    vocabulary (lowercase words). ``embed`` gets each distinct question once."""
    if not gaps:
        return []
    texts = list(dict.fromkeys(g.question for g in gaps))
    embedded = np.asarray(embed(texts), dtype=np.float32)
    embedded /= np.maximum(np.linalg.norm(embedded, axis=1, keepdims=True), 1e-9)
    row = {text: i for i, text in enumerate(texts)}
    topics: list[_Topic] = []
    # Running sums and unit centroids of the topics, one row each: a question is scored
    # against every topic with one matrix product.
    sums = np.zeros((64, embedded.shape[1]), dtype=np.float32)
    centroids = np.zeros_like(sums)
    for gap in gaps:
        vector = embedded[row[gap.question]]
        words = _content_words(gap.question) - set(known_words)
        best, best_score = -1, 0.0
        scores = centroids[: len(topics)] @ vector
        for t in np.flatnonzero(scores >= min(SAME_TOPIC, SAME_TOPIC_SHARED_WORD)):
            score = float(scores[t])
            needed = SAME_TOPIC_SHARED_WORD if words & topics[t].words else SAME_TOPIC
            if score >= needed and score > best_score:
                best, best_score = int(t), score
        if best < 0:
            best = len(topics)
            topics.append(_Topic())
            if best == len(sums):  # full: double the room
                sums = np.concatenate([sums, np.zeros_like(sums)])
                centroids = np.concatenate([centroids, np.zeros_like(centroids)])
        topic = topics[best]
        topic.members.append((gap, vector))
        topic.words |= words
        sums[best] += vector
        centroids[best] = sums[best] / max(float(np.linalg.norm(sums[best])), 1e-9)
    order = sorted(
        range(len(topics)),
        key=lambda t: (-len(topics[t].members), -max(g.ts_ms for g, _ in topics[t].members)),
    )
    return [_describe(topics[t], centroids[t], examples) for t in order[:limit]]


def _describe(topic: _Topic, centroid: np.ndarray, examples: int) -> dict[str, Any]:
    members = topic.members
    # The most central question names the topic; the most frequent content words tag it.
    central = max(members, key=lambda m: float(m[1] @ centroid))[0].question
    counts: Counter[str] = Counter()
    for gap, _ in members:
        counts.update(_content_words(gap.question))
    distinct: list[str] = []
    for gap, _ in sorted(members, key=lambda m: -m[0].ts_ms):
        if gap.question not in distinct:
            distinct.append(gap.question)
    return {
        "topic": central,
        "keywords": [w for w, _ in counts.most_common(4)],
        "count": len(members),
        # A copilot draft for a ticket without an account has none ("").
        "accounts_affected": len({g.account_id for g, _ in members if g.account_id}),
        "accounts": sorted({g.account_id for g, _ in members if g.account_id})[:20],
        "reasons": dict(Counter(g.reason for g, _ in members)),
        "examples": distinct[:examples],
        "last_asked_ms": max(g.ts_ms for g, _ in members),
    }


@lru_cache(maxsize=20_000)
def _content_words(question: str) -> frozenset[str]:
    """The words that say what a question is about (cached: a report sees each asked
    question again on every recompute, and detecting its language is the costly part)."""
    language = detect_language(question)
    return frozenset(
        w
        for w in re.findall(r"\w+", question.lower())
        if len(w) > 3 and not w.isdigit() and not is_stop_word(w, language)
    )
