"""The extractive answerer: quotes the passages that answer, cites them, or declines.

0. A request the assistant declines whatever the help center holds (prompt injection, legal
   advice, other customers' data) is declined before retrieval (guardrails.py).
1. Retrieve the top articles (hybrid retrieval).
2. Split their best chunks into units (sentences; numbered steps stay whole).
3. Score every unit against the question with the dense model (the question is first
   rendered in the article's language when they differ) plus a small bonus for the
   retrieval rank, and quote the best unit with what it leads into (a sentence ending in ":"
   or a question the article asks its reader, even across a passage boundary), reading on
   within its paragraph to a short paragraph, and a close runner-up from the same passage;
   a sentence repeated word for word (tabs) once.
4. Decline when the reader (reader.py), a small learned model over what was found, judges
   that the passages do not answer the question: a gap in the help center, or a question
   about somewhere else. ``confidence`` is the reader's probability that they answer it.
5. A question that asks for a figure (a price, a limit, a duration) that no quoted unit
   states gets the nearest passage, cited, under a plain "I couldn't find that figure in the
   help center", and a person is offered. Such an answer has ``answered`` false: the question was
   not answered, so it is logged as unanswered and shows up among content gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from assistant.answering.answers import Answer, Citation, Handoff
from assistant.answering.passages import Unit, split_units
from assistant.answering.reader import Evidence, Reader, default_reader
from assistant.answering.scope import asked_detail, states_detail
from assistant.guardrails import KindJudge, decline_reason, is_refusal, targets_the_assistant
from assistant.knowledge.off_topic import OffTopicExamples
from assistant.knowledge.retrieval import ArticleHit, Retriever
from assistant.language import analyze, detect_language, language_of_locale
from assistant.messages import by_language
from assistant.models.embeddings import Embedder
from assistant.models.pair_judge import Judge, default_pair_judge, passage_text
from assistant.models.planted_text import PlantedText
from assistant.models.request_kind import RequestKinds

__all__ = [
    "NOT_COVERED",
    "OFF_TOPIC",
    "Assessment",
    "ExtractiveAnswerer",
    "declined_as_out_of_scope",
]

_MODEL_LANGUAGE = "en"  # the language the dense model (MiniLM) was trained on
_RANK_BONUS = (0.3, 0.1, 0.0)  # trust retrieval order unless a passage is far better
_MAX_WORDS = 110
# A quote reads on from its best sentence to at least this many words (about two sentences).
# A design choice, not a fit: on the development sets longer quotes hold more of the reference
# answers (30 / 40 / 50 words compared in evals/RESULTS.md) at the cost of length.
_PARAGRAPH_WORDS = 40
# A unit that states the asked figure may replace the best one when it scores this close.
_DETAIL_MARGIN = 0.1
# The pair judge reads this many of the best units (each from another passage): the answer is
# often the second or third, and three pairs fit the chat's latency budget.
_JUDGED_UNITS = 3

_DECLINE = by_language("decline")
_NOT_STATED = by_language("not_stated")
_SOURCES = by_language("sources")
OFF_TOPIC = "the question is about something the help center does not cover"
# The product is right but no passage answers: a content gap.
NOT_COVERED = "low confidence: no passage answers the question"
# Words a help center's section on each kind of figure uses, to find that section lexically.
_DETAIL_WORDS = {
    "en": {"price": "price pricing cost", "duration": "days period", "quantity": "limits maximum"},
    "es": {"price": "precio precios coste", "duration": "días plazo", "quantity": "límites máximo"},
}


@dataclass(frozen=True)
class _Scored:
    score: float
    similarity: float
    unit: Unit
    hit: ArticleHit
    units: tuple[Unit, ...]
    rank: int = 0  # the article's place among those read


@dataclass(frozen=True)
class Assessment:
    """What the decision rests on, for one question (also what the calibration reads)."""

    language: str
    refused: str | None  # a guardrail's reason, or None
    similarity: float  # the best unit's similarity (0 when refused or nothing matched)
    detail: str | None  # the kind of figure the question asks for, if any
    ranked: tuple[_Scored, ...] = ()
    elsewhere: float = 0.0  # likeness to off-topic requests (off_topic.py); 0 when unknown
    evidence: Evidence | None = None  # what the reader judges (reader.py); None if nothing found
    question: str = ""


class ExtractiveAnswerer:
    """Quotes and cites the help center, or declines. ``reader`` judges whether what was found
    answers the question (reader.py; the shipped one by default); ``off_topic`` supplies one
    of its measurements, the likeness to requests about somewhere else (0 without it);
    ``request_kinds`` judges, after the keyword guardrails, whether the kind of request is
    one no help center serves (request_kind.py); ``planted_text`` (the ingest judge's wording
    model, planted_text.py) lets a quote read on past its best sentence only through ordinary
    help text — without it, a quote does not read on."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        reader: Reader | None = None,
        off_topic: OffTopicExamples | None = None,
        request_kinds: KindJudge | None = None,
        pair_judge: Judge | None = None,
        planted_text: PlantedText | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self._reader = reader
        self.off_topic = off_topic
        self.request_kinds = request_kinds
        self._pair_judge = pair_judge
        self.planted_text = planted_text

    @property
    def reader(self) -> Reader:
        return self._reader or default_reader()

    @property
    def pair_judge(self) -> Judge:
        return self._pair_judge or default_pair_judge()

    def assess(
        self,
        question: str,
        filters: dict[str, object] | None = None,
        exclude: frozenset[str] = frozenset(),
        guardrails: bool = True,
    ) -> Assessment:
        """What retrieval found for ``question`` and the reader's measurements of it.

        ``exclude`` (article ids) answers as if those articles were not in the knowledge base,
        and ``guardrails=False`` skips the policy checks: both for the reader's training
        (evals/reader_training.py), which asks questions without the article that answers
        them to learn what a gap looks like."""
        language = detect_language(question)
        detail = asked_detail(question)
        refused = decline_reason(question, self.request_kinds) if guardrails else None
        if refused:
            return Assessment(language, refused, 0.0, detail, question=question)
        hits = self.retriever.search(question, k=3 + len(exclude), filters=filters)
        hits = [hit for hit in hits if hit.article_id not in exclude]
        hits = self._readable(self._prefer_language(hits, language), language)[:3]
        passages = [(hit, rank) for rank, hit in enumerate(hits)]
        if detail:
            passages += self._lexical_passages(question, language, detail, hits, filters)
        ranked = self._best_units(question, language, passages)
        elsewhere = self.elsewhere(question, language)
        if not ranked:
            return Assessment(
                language, None, 0.0, detail, elsewhere=elsewhere, question=question
            )
        return Assessment(
            language,
            None,
            ranked[0].similarity,
            detail,
            tuple(ranked),
            elsewhere=elsewhere,
            evidence=self._evidence(question, language, ranked, elsewhere),
            question=question,
        )

    def _evidence(
        self, question: str, language: str, ranked: list[_Scored], elsewhere: float
    ) -> Evidence:
        top = ranked[0]
        others = [s.similarity for s in ranked if s.hit.article_id != top.hit.article_id]
        target = language_of_locale(top.hit.locale)
        rendered = self.rendered(question, language, top.hit.locale)
        coverage = self.retriever.coverage(rendered, target, top.hit.chunk_id)
        pairs = self.judged_pairs(question, language, ranked)
        return Evidence(
            similarity=top.similarity,
            margin=top.similarity - max(others) if others else 0.0,
            multilingual=self.retriever.gist_similarity(question, top.hit.chunk_id),
            elsewhere=elsewhere,
            passage_coverage=coverage.passage,
            article_coverage=coverage.article,
            known_terms=coverage.known,
            terms=coverage.terms,
            cross_language=target != language,
            pair=float(self.pair_judge.score_pairs(pairs).max()),
        )

    def judged_pairs(
        self, question: str, language: str, ranked: list[_Scored] | tuple[_Scored, ...]
    ) -> list[tuple[str, str]]:
        """The (question, passage) pairs the pair judge reads: the best unit of each of the
        first few passages, the question rendered in each passage's language."""
        pairs: list[tuple[str, str]] = []
        seen: set[str] = set()
        for scored in ranked:
            if scored.hit.chunk_id in seen:
                continue
            seen.add(scored.hit.chunk_id)
            hit = scored.hit
            pairs.append(
                (
                    self.rendered(question, language, hit.locale),
                    passage_text(hit.title, hit.heading, scored.unit.text),
                )
            )
            if len(pairs) == _JUDGED_UNITS:
                break
        return pairs

    def rendered(self, question: str, language: str, locale: str) -> str:
        """The question as read against a passage in ``locale`` (rendered word by word into
        that language when it differs from the question's)."""
        target = language_of_locale(locale)
        if target == language:
            return question
        return self.retriever.translate(question, language, target) or question

    def elsewhere(
        self, question: str, language: str | None = None, set_aside: np.ndarray | None = None
    ) -> float:
        """The question's likeness to off-topic requests this help center doesn't cover
        (and, for the eval's blind check, not ``set_aside``: a mask over the examples)."""
        if self.off_topic is None:
            return 0.0
        language = language or detect_language(question)
        english = None
        if language != _MODEL_LANGUAGE:
            english = self.retriever.translate(question, language, _MODEL_LANGUAGE)
        kept = self.off_topic.kept_for(self.retriever)
        keep = kept if set_aside is None else kept & ~set_aside
        return self.off_topic.likeness(question, english, keep)

    def refusal(self, question: str, filters: dict[str, object] | None = None) -> str | None:
        """Why the question is declined before any model writes (the LLM answerer's gate): a
        guardrail, or the reader finds the retrieved passages do not answer it (off topic, or
        a gap in the help center). A model given passages that don't hold the answer guesses."""
        return self.scope_reason(self.assess(question, filters))

    def confidence(self, found: Assessment) -> float:
        """The reader's probability that the passages found answer the question (0 when a
        guardrail refused it or nothing was found)."""
        if found.refused or found.evidence is None:
            return 0.0
        return self.reader.judge(found.evidence).probabilities["answer"]

    def scope_reason(self, found: Assessment) -> str | None:
        """Why an assessed question is declined, or None when it may be answered."""
        if found.refused:
            return found.refused
        if not found.ranked or found.evidence is None:
            return "no article matches the question"
        verdict = self.reader.judge(found.evidence)
        if verdict.answerable:
            return None
        if verdict.likely == "elsewhere" and not self.asks_for_help(found.question):
            return OFF_TOPIC
        return NOT_COVERED

    def asks_for_help(self, question: str) -> bool:
        """Whether a question the help center has no passage for is still a help-center
        question — a content gap — rather than a request no help center serves.

        The reader's "elsewhere" says the passages found are not about the question; it
        cannot say whether the question is one a help center should answer ("is there a
        salesforce integration", "do you have a hipaa baa": yes; "write me a poem": no).
        That is a comparison of two likenesses, no threshold: to help-center questions of
        many products (request_kind.py's ``help`` examples) and to the requests no help
        center serves (off_topic.py, other products' how-tos left out: a customer asking
        this product how to do something in another one says what they expect of it). The
        decline is the same either way; only what it is logged as changes."""
        kinds, off_topic = self.request_kinds, self.off_topic
        if not isinstance(kinds, RequestKinds) or off_topic is None:
            return False
        keep = off_topic.kept_for(self.retriever)
        return kinds.help_likeness(question) > off_topic.request_likeness(question, keep)

    def answer(self, question: str, filters: dict[str, object] | None = None) -> Answer:
        found = self.assess(question, filters)
        language = found.language
        reason = self.scope_reason(found)
        if reason:
            return _declined(language, self.confidence(found), reason)
        ranked = list(found.ranked)
        top = ranked[0]
        if found.detail:
            top = _stating(found.detail, ranked) or top
        chosen = self._compose(top, ranked)
        missing = found.detail is not None and not any(
            states_detail(c.unit.text, found.detail) for c in chosen
        )
        chosen = self._read_on(top, chosen)
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
        footer = f"{_SOURCES.get(language, 'Sources')}:\n{sources}"
        if missing:
            assert found.detail is not None
            words = _NOT_STATED.get(language, _NOT_STATED["en"])
            return Answer(
                answer=f"{words[found.detail]} {words['intro']}\n\n{body}\n\n"
                f"{words['offer']}\n\n{footer}",
                citations=citations,
                confidence=self.confidence(found),
                answered=False,
                handoff=Handoff(True, f"the {found.detail} asked is not in the quoted passages"),
                language=language,
            )
        return Answer(
            answer=f"{body}\n\n{footer}",
            citations=citations,
            confidence=self.confidence(found),
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

    @staticmethod
    def _readable(hits: list[ArticleHit], language: str) -> list[ArticleHit]:
        """Leave out articles the dense model can't compare fairly with this question.

        MiniLM reads English: a question met in another language is first rendered word by
        word, which is good enough against English text but not against, say, Spanish text
        (an English model on Spanish words finds everything alike). So when articles in the
        question's language were found, the others are kept only if they are in English.
        """
        if not any(language_of_locale(h.locale) == language for h in hits):
            return hits
        return [h for h in hits if language_of_locale(h.locale) in (language, _MODEL_LANGUAGE)]

    def _lexical_passages(
        self,
        question: str,
        language: str,
        detail: str,
        hits: list[ArticleHit],
        filters: dict[str, object] | None,
    ) -> list[tuple[ArticleHit, int]]:
        """Other passages of the same articles that BM25 ranks best for the question.

        Figures tend to sit in their own section ("Limits", "Pricing"), apart from the passage
        that best matches the question's meaning. BM25 on the question plus the words such a
        section uses finds it at no model cost. Each passage keeps its article's rank.
        """
        words = _DETAIL_WORDS.get(language, _DETAIL_WORDS["en"])[detail]
        rank = {hit.article_id: i for i, hit in enumerate(hits)}
        seen = {hit.chunk_id for hit in hits}
        found = self.retriever.search(f"{question} {words}", k=10, filters=filters, mode="bm25")
        return [
            (hit, rank[hit.article_id])
            for hit in found
            if hit.article_id in rank and hit.chunk_id not in seen
        ]

    def _best_units(
        self, question: str, language: str, passages: list[tuple[ArticleHit, int]]
    ) -> list[_Scored]:
        candidates: list[tuple[ArticleHit, int, Unit, tuple[Unit, ...]]] = []
        for hit, rank in passages:
            units = tuple(split_units(hit.body))
            # Sentences planted to take a secret or money never reach here: retrieval
            # serves passages without them (planted.py).
            candidates.extend((hit, rank, u, units) for u in units if u.quotable)
        if not candidates:
            return []
        renderings: dict[str, str] = {}
        queries: dict[str, np.ndarray] = {}
        for hit, _, _, _ in candidates:
            target = language_of_locale(hit.locale)
            if target not in queries:
                rendered = self.rendered(question, language, hit.locale)
                renderings[target] = rendered
                queries[target] = self.embedder.embed_query(rendered)
        vectors = self._unit_vectors(candidates)
        terms = {target: set(analyze(text, target)) for target, text in renderings.items()}
        scored = []
        for (hit, rank, unit, units), vector in zip(candidates, vectors, strict=True):
            target = language_of_locale(hit.locale)
            if target != _MODEL_LANGUAGE and not _shares_words(terms[target], unit.text, target):
                continue
            similarity = float(vector @ queries[target])
            bonus = _RANK_BONUS[rank] if rank < len(_RANK_BONUS) else 0.0
            scored.append(_Scored(similarity + bonus, similarity, unit, hit, units, rank))
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

    def _compose(self, top: _Scored, ranked: list[_Scored]) -> list[_Scored]:
        """The best unit, what it leads into, the sentences after it up to a short paragraph,
        and a close runner-up from its passage."""
        chosen = [top]
        words = top.unit.words
        if top.unit.kind == "sentence" and top.unit.text.rstrip().endswith((":", "?")):
            # A lead-in ("To rename a channel:", "Want to reply automatically while you're
            # away?") says what comes next does it: quote that too, even when it opens the
            # article's next passage. Steps always (the ingest judge reads each step); any
            # other unit only when it is ordinary help text.
            following = self._following(top)
            if following is not None and (
                following.unit.kind == "steps" or self._ordinary(following)
            ):
                chosen.append(following)
                words += following.unit.words
        for other in ranked[:6]:
            if words >= _MAX_WORDS or top.unit.kind == "steps":
                break
            same_passage = other.hit.chunk_id == top.hit.chunk_id
            if (
                same_passage
                and other.score >= top.score - 0.08
                # Tabs (web / mobile) often repeat a sentence word for word: quote it once.
                and _plain(other.unit.text) not in {_plain(c.unit.text) for c in chosen}
            ):
                chosen.append(other)
                words += other.unit.words
        return _in_reading_order(top, chosen)

    def _read_on(self, top: _Scored, chosen: list[_Scored]) -> list[_Scored]:
        """One sentence out of its paragraph is often the question restated ("Plugin tokens
        are site-specific."): read on from the last unit quoted from the best passage, in
        order and within its paragraph, to a short paragraph. (Not evidence that an asked
        figure is stated: that is judged on the units chosen for what they say.)"""
        chosen = list(chosen)
        words = sum(c.unit.words for c in chosen)
        last = max(
            (c for c in chosen if c.hit.chunk_id == top.hit.chunk_id),
            key=lambda c: c.unit.position,
        )
        while words < _PARAGRAPH_WORDS and last.unit.kind == "sentence":
            after = [u for u in last.units if u.position > last.unit.position]
            if not after or after[0].paragraph != last.unit.paragraph or not after[0].quotable:
                break
            last = replace(last, unit=after[0])
            if not self._ordinary(last):
                break
            if _plain(last.unit.text) not in {_plain(c.unit.text) for c in chosen}:
                chosen.append(last)
                words += last.unit.words
        return _in_reading_order(top, chosen)

    def _ordinary(self, scored: _Scored) -> bool:
        """Whether a unit quoted for where it stands (read on to, or led into), not for what
        it says, is ordinary help text.

        Such a unit is not compared with the question, so a sentence planted after a true
        one, and not caught at ingest (in a small help center the judge has little context),
        would be quoted with it. The ingest judge's wording model reads the unit
        alone: read on only where it finds help text more likely than planted text, and
        never into what the keyword guardrails call an instruction to the assistant."""
        if self.planted_text is None or targets_the_assistant(scored.unit.text):
            return False
        stored = self.retriever.unit_vectors([scored.hit.chunk_id]).get(scored.hit.chunk_id)
        if stored is not None and len(stored) == len(scored.units):
            vector = stored[scored.unit.position]
        else:
            vector = self.embedder.embed_documents([scored.unit.gist])[0]
        return bool(self.planted_text.wording_probabilities(vector[None, :])[0] < 0.5)

    def _following(self, scored: _Scored) -> _Scored | None:
        """The unit after ``scored`` in its article: the next in its passage, or the first
        of the next passage when it ends one."""
        after = [u for u in scored.units if u.position > scored.unit.position]
        if after:
            return replace(scored, unit=after[0]) if after[0].quotable else None
        nxt = self.retriever.next_passage(scored.hit)
        if nxt is None:
            return None
        units = tuple(split_units(nxt.body))
        if not units or not units[0].quotable:
            return None
        return replace(scored, unit=units[0], hit=nxt, units=units)


def declined_as_out_of_scope(answer: Answer) -> bool:
    """Whether an answer was declined because of what was asked (off topic, a guardrail)
    rather than because the help center lacks it: such a question is no content gap."""
    reason = answer.handoff.reason
    return not answer.answered and (reason == OFF_TOPIC or is_refusal(reason))


def _in_reading_order(top: _Scored, chosen: list[_Scored]) -> list[_Scored]:
    """The best passage's units in reading order, then those of the passages after it (added
    in their reading order)."""

    def key(scored: _Scored) -> tuple[int, int]:
        if scored.hit.chunk_id == top.hit.chunk_id:
            return (0, scored.unit.position)
        return (1, 0)  # sorted() is stable: later passages keep the order they were added in

    return sorted(chosen, key=key)


def _plain(text: str) -> str:
    return " ".join(text.split()).lower()


def _shares_words(terms: set[str], text: str, language: str) -> bool:
    """Whether a unit the dense model can't read shares two of the question's words.

    MiniLM reads English: on Spanish text it finds everything alike ("¿quién ganó el mundial
    de 2018?" meets a tip about offline mode at 0.4, as high as real answers). There a unit
    needs lexical evidence before its similarity counts: two shared content words (stemmed),
    or half of them for a question of one to three. On the sample set's Spanish questions
    this keeps all 17 answerable ones answered and declines 7 of 9 unanswerable (4 without).
    """
    return len(terms & set(analyze(text, language))) >= min(2, (len(terms) + 1) // 2)


def _stating(detail: str, ranked: list[_Scored]) -> _Scored | None:
    """The best unit that states the asked figure, if it scores close to the best unit."""
    best = ranked[0]
    for other in ranked[:8]:
        if other.score < best.score - _DETAIL_MARGIN:
            return None
        if states_detail(other.unit.text, detail):
            return other
    return None


def _declined(language: str, confidence: float, reason: str) -> Answer:
    return Answer(
        answer=_DECLINE.get(language, _DECLINE["en"]),
        citations=[],
        confidence=confidence,
        answered=False,
        handoff=Handoff(True, reason),
        language=language,
    )
