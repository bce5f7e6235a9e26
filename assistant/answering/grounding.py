"""The grounding guard: an LLM answer is served only if its sources say what it says.

After generation, and before anything is served as the answer, each sentence that states
something (two or more content words) is judged against the sources it cites (a sentence
that cites none, against every source). Hard rules first, each a reason on its own:

1. Every citation ``[n]`` names a source that was in the prompt, and there is one.
2. No sentence hands a secret to someone or speaks to the assistant (planted.py), and none
   is closer to an instruction planted in a source than to anything the sources state: a
   planted instruction is never support.
3. Every number, unit and duration in a sentence appears in its cited sources (quantities.py:
   "30 days" = "thirty days", "1,000" = "1000", "7 days" ≠ "7 hours").

Then a learned judgement (grounding_model.py) over measurements of each sentence against its
cited passage: the best similarity to one of the passage's statements or to a window of two or
three consecutive statements (MiniLM for English against English, the multilingual USE for any
other pair, so a Spanish answer can cite an English article), the share of its content words
the passage uses (stemmed; across languages, shared labels and cognates), whether its numbers
sit in the statements it matches, whether it negates or restricts ("only") what that
statement says, and how much better a passage it did *not* cite would fit. The answer passes
when its least supported sentence reaches the model's threshold; that sentence's
P(supported) is the answer's ``support``.

Embeddings are batched: one call per model for the answer's sentences and whatever source
statements are not cached yet (passages recur across questions, so their vectors are kept).

Citations are renumbered 1..m in order of first appearance (``Renumbering``), in the
streamed text as it arrives (``CitationStream``) and in the final answer alike.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.passages import split_units
from assistant.answering.prompting import Source
from assistant.answering.quantities import Quantity, quantities
from assistant.guardrails import targets_the_assistant
from assistant.knowledge.trust import hands_over_secret, is_planted_instruction
from assistant.language import analyze, detect_language, fold, language_of_locale
from assistant.models.embeddings import Embedder
from assistant.models.grounding_model import FEATURES, SupportModel, default_support_model

__all__ = [
    "CitationStream",
    "Grounding",
    "GroundingGuard",
    "Measured",
    "Renumbering",
    "SentenceCheck",
    "cited_numbers",
    "split_sentences",
]

CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[^\s\[])|(?<=\])\s+(?=[A-Z¿¡\d])|\n+")
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+•])\s+")
_STATEMENT_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡\"'(*`])")
_STEP_NUMBER = re.compile(r"^\s*(\d+)[.)]\s", re.MULTILINE)  # "step 3" is in a numbered list
_MIN_CONTENT_WORDS = 2  # "Here's how:" or "Sure!" state nothing to check
_WINDOWS = (2, 3)  # consecutive statements a merged or summarising sentence may draw on
_NEAR_ITEMS = 2  # a sentence's numbers should sit in one of its best-matching windows
# A sentence at least this close to an instruction planted in a source, and closer to it than
# to any statement of the sources, repeats the instruction (evals/grounding/dev.jsonl: the
# sentences that repeat one score 0.63-1.0 against it; the other sentences of those answers
# 0.08-0.47).
PLANTED_SIMILARITY = 0.5
_COGNATE_PREFIX = 5  # "exportar"/"export", "notificaciones"/"notifications"

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|nowhere|neither|nor|cannot|instead\s+of|rather\s+than"
    r"|nunca|jam[aá]s|ni|ning[uú]n[oa]?|nada|nadie|tampoco|en\s+lugar\s+de|en\s+vez\s+de)\b"
    r"|n['’]t\b",
    re.IGNORECASE,
)
# An answer's opening particle ("Yes — …", "No, …", "Sí: …", "Not forever: …") answers the
# question, not the source: the claim is what follows. After "No", a claim without a negation
# of its own is a reworded negative ("No, your stats stay intact"): its polarity is unknown.
_ANSWER_PARTICLE = re.compile(
    r"^\s*(?:(?P<no>no|not\b[^,:;—–.]{0,25})|yes|sí|si|correct)\s*[,:;—–.!-]+\s*", re.IGNORECASE
)
# Where a sentence's clauses part: punctuation, and the conjunctions that join two claims.
_CLAUSE_BREAK = re.compile(
    r"\s*[,;:—–()]\s*|\s+(?:but|although|though|while|whereas|pero|aunque|mientras)\s+",
    re.IGNORECASE,
)
# A statement that only answers the one before it ("Do Admins need a license? No.").
_BARE_ANSWER = re.compile(r"^\W*(?:yes|no|s[ií])\W*$", re.IGNORECASE)


def cited_numbers(text: str) -> list[int]:
    """The source numbers cited in ``text``, unique, in order of first appearance."""
    seen: dict[int, None] = {}
    for match in CITATION.finditer(text):
        for part in match.group(1).split(","):
            seen.setdefault(int(part), None)
    return list(seen)


class Renumbering:
    """Prompt source numbers → answer numbers 1..m, in the order the answer first cites them."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}

    def number(self, n: int) -> int:
        return self.numbers.setdefault(n, len(self.numbers) + 1)

    def rewrite(self, text: str) -> str:
        def renumber(match: re.Match[str]) -> str:
            parts = [self.number(int(p)) for p in match.group(1).split(",")]
            return "[" + ", ".join(str(p) for p in parts) + "]"

        return CITATION.sub(renumber, text)


class CitationStream:
    """Renumbers citations in streamed text, holding back only an unfinished ``[…``."""

    _LONGEST_MARKER = 16

    def __init__(self, renumbering: Renumbering) -> None:
        self._renumbering = renumbering
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        start = text.rfind("[")
        if start >= 0 and "]" not in text[start:] and len(text) - start < self._LONGEST_MARKER:
            self._pending, text = text[start:], text[:start]
        else:
            self._pending = ""
        return self._renumbering.rewrite(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._renumbering.rewrite(text)


@dataclass(frozen=True)
class Sentence:
    text: str  # without citation markers or list markers
    citations: tuple[int, ...]


def split_sentences(answer: str) -> list[Sentence]:
    """The answer's sentences (list items count as sentences), each with its citations."""
    out = []
    for piece in _SENTENCE_BREAK.split(answer):
        plain = _LIST_MARKER.sub("", CITATION.sub(" ", piece))
        plain = " ".join(plain.replace("**", "").split()).strip(" .")
        if plain:
            out.append(Sentence(plain, tuple(cited_numbers(piece))))
    return out


@dataclass(frozen=True)
class SentenceCheck:
    """One checked sentence: the hard rule it broke (None if none), its measurements
    (``FEATURES`` order; None when a rule decided) and P(supported)."""

    sentence: Sentence
    rule: str | None
    features: tuple[float, ...] | None
    probability: float


@dataclass(frozen=True)
class Grounding:
    ok: bool
    reason: str | None
    cited: tuple[int, ...]  # prompt source numbers, in order of first citation
    support: float  # P(supported) of the least supported sentence; 0 when a rule rejected
    sentences: tuple[SentenceCheck, ...] = ()


@dataclass(frozen=True)
class Measured:
    """An answer measured against its sources, before the model's judgement: the reason a
    rule rejects it outright (or None), the cited numbers, and one row per checked sentence."""

    rejected: str | None
    cited: tuple[int, ...]
    sentences: tuple[Sentence, ...] = ()
    rules: tuple[str | None, ...] = ()  # per sentence
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES))))


class GroundingGuard:
    """Checks an answer against the sources it was written from (see the module docstring).

    ``embedder`` reads English (MiniLM); ``crosslingual`` (USE), when given, measures every
    other pair of languages. ``model`` defaults to the shipped weights."""

    def __init__(
        self,
        embedder: Embedder,
        crosslingual: Embedder | None = None,
        model: SupportModel | None = None,
    ) -> None:
        self.embedder = embedder
        self.crosslingual = crosslingual
        self.model = model or default_support_model()
        self._cache = _VectorCache()

    def check(self, answer: str, sources: Sequence[Source]) -> Grounding:
        measured = self.measure(answer, sources)
        if measured.rejected is not None:
            return Grounding(False, measured.rejected, measured.cited, 0.0)
        return self.judge(measured)

    def judge(self, measured: Measured) -> Grounding:
        """The model's verdict on a measured answer that no rule rejected outright."""
        rows = [i for i, rule in enumerate(measured.rules) if rule is None]
        probabilities = np.zeros(len(measured.sentences))
        if rows:
            probabilities[rows] = self.model.probabilities(measured.features[rows])
        checks = tuple(
            SentenceCheck(
                sentence,
                rule,
                tuple(float(v) for v in measured.features[i]) if rule is None else None,
                float(probabilities[i]),
            )
            for i, (sentence, rule) in enumerate(
                zip(measured.sentences, measured.rules, strict=True)
            )
        )
        broken = next((c for c in checks if c.rule is not None), None)
        if broken is not None:
            return Grounding(False, broken.rule, measured.cited, 0.0, checks)
        support = float(np.min(probabilities))
        if support < self.model.threshold:
            weakest = min(checks, key=lambda c: c.probability)
            by = "its cited source" if weakest.sentence.citations else "any source"
            reason = f"not supported by {by}: {_quote(weakest.sentence.text)}"
            return Grounding(False, reason, measured.cited, support, checks)
        return Grounding(True, None, measured.cited, support, checks)

    def measure(self, answer: str, sources: Sequence[Source]) -> Measured:
        """The rules' verdicts and the model's measurements for every checked sentence."""
        cited = tuple(cited_numbers(answer))
        if not cited:
            return Measured("the answer cites no source", cited)
        by_number = {s.n: s for s in sources}
        unknown = [n for n in cited if n not in by_number]
        if unknown:
            reason = f"the answer cites [{unknown[0]}], which is not a provided source"
            return Measured(reason, cited)
        sentences = [
            s
            for s in split_sentences(answer)
            if len(_content_words(s.text, detect_language(s.text))) >= _MIN_CONTENT_WORDS
        ]
        if not sentences:
            return Measured("the answer states nothing that can be checked", cited)
        passages = [_Passage.of(s, k) for k, s in enumerate(sources)]
        languages = [detect_language(s.text) for s in sentences]
        vectors = self._embed(sentences, languages, passages)
        rules: list[str | None] = []
        rows: list[np.ndarray] = []
        for i, (sentence, language) in enumerate(zip(sentences, languages, strict=True)):
            scores = [self._score(sentence.text, language, vectors, i, p) for p in passages]
            rules.append(_broken_rule(sentence, language, passages, scores))
            rows.append(_features(sentence, language, passages, scores))
        return Measured(None, cited, tuple(sentences), tuple(rules), np.stack(rows))

    # --- embeddings -----------------------------------------------------------------------

    def _model_for(self, sentence_language: str, passage: _Passage) -> Embedder:
        same = sentence_language == passage.language
        if (same and sentence_language in self.embedder.languages) or self.crosslingual is None:
            return self.embedder
        return self.crosslingual

    def _embed(
        self, sentences: list[Sentence], languages: list[str], passages: list[_Passage]
    ) -> dict[str, _Vectors]:
        """Per model name: the sentences' vectors and each passage's statement vectors, from
        one batched call per model."""
        wanted: dict[str, tuple[Embedder, set[int], set[int]]] = {}
        for i, language in enumerate(languages):
            for j, passage in enumerate(passages):
                model = self._model_for(language, passage)
                entry = wanted.setdefault(model.name, (model, set(), set()))
                entry[1].add(i)
                entry[2].add(j)
        out: dict[str, _Vectors] = {}
        for name, (model, sentence_ids, passage_ids) in wanted.items():
            texts = [sentences[i].text for i in sorted(sentence_ids)]
            for j in sorted(passage_ids):
                texts.extend(passages[j].statements + passages[j].planted)
            matrix = self._cache.vectors(model, texts)
            rows = {i: matrix[k] for k, i in enumerate(sorted(sentence_ids))}
            offset = len(sentence_ids)
            statements: dict[int, np.ndarray] = {}
            planted: dict[int, np.ndarray] = {}
            for j in sorted(passage_ids):
                n, m = len(passages[j].statements), len(passages[j].planted)
                statements[j] = passages[j].item_vectors(matrix[offset : offset + n])
                planted[j] = matrix[offset + n : offset + n + m]
                offset += n + m
            out[name] = _Vectors(rows, statements, planted)
        return out

    def _score(
        self, text: str, language: str, vectors: dict[str, _Vectors], i: int, passage: _Passage
    ) -> _Score:
        model = self._model_for(language, passage)
        found = vectors[model.name]
        j = passage.index
        sims = found.items[j] @ found.sentences[i]
        order = np.argsort(-sims)
        singles = sims[: len(passage.statements)]
        planted = found.planted[j]
        return _Score(
            similarity=float(sims[order[0]]) if len(sims) else 0.0,
            multilingual=model is not self.embedder,
            near=tuple(int(k) for k in order[:_NEAR_ITEMS]),
            statement=int(np.argmax(singles)) if len(singles) else 0,
            statement_similarities=singles,
            planted=float(np.max(planted @ found.sentences[i])) if len(planted) else -1.0,
        )


@dataclass
class _Vectors:
    sentences: dict[int, np.ndarray]
    items: dict[int, np.ndarray]  # per passage index: statements then windows, unit rows
    planted: dict[int, np.ndarray]


@dataclass(frozen=True, eq=False)
class _Score:
    similarity: float  # best statement or window of the passage
    multilingual: bool  # measured with the multilingual model
    near: tuple[int, ...]  # the best-matching items, best first
    statement: int  # the best-matching single statement (its item index)
    statement_similarities: np.ndarray  # per statement
    planted: float  # best similarity to an instruction planted in the passage (-1: none)


@dataclass
class _Passage:
    """A source cut into what a sentence can be checked against."""

    index: int
    n: int
    language: str
    statements: list[str]  # the title, then each sentence (a list: one step at a time)
    planted: list[str]  # statements that instruct the assistant or ask for a secret
    items: list[tuple[int, ...]]  # statement indexes: each statement, then windows
    stems: frozenset[str]
    words: frozenset[str]  # folded, lowercase: labels and names across languages
    prefixes: frozenset[str]
    quantities: list[Quantity]  # of the whole text (list markers included: "step 3")
    item_quantities: list[list[Quantity]]
    statement_stems: list[frozenset[str]]
    negated: list[bool]  # per item: a statement, or a window with a negated statement in it

    @classmethod
    def of(cls, source: Source, index: int) -> _Passage:
        language = language_of_locale(source.hit.locale)
        statements: list[str] = [source.title]
        planted: list[str] = []
        for statement in _statements(source.text):
            (planted if is_planted_instruction(statement) else statements).append(statement)
        body = list(range(1, len(statements)))
        items: list[tuple[int, ...]] = [(k,) for k in range(len(statements))]
        for width in _WINDOWS:
            items.extend(tuple(body[k : k + width]) for k in range(len(body) - width + 1))
        legit = " ".join(statements)
        per_statement = [quantities(s, language) for s in statements]
        words = {fold(w.lower()) for w in _WORD.findall(legit)}
        return cls(
            index=index,
            n=source.n,
            language=language,
            statements=statements,
            planted=planted,
            items=items,
            stems=frozenset(analyze(legit, language)),
            words=frozenset(words),
            prefixes=frozenset(w[:_COGNATE_PREFIX] for w in words if len(w) >= _COGNATE_PREFIX),
            quantities=[q for found in per_statement for q in found]
            + [Quantity(float(m), None, float(m)) for m in _STEP_NUMBER.findall(source.text)],
            item_quantities=[[q for k in item for q in per_statement[k]] for item in items],
            statement_stems=[frozenset(analyze(st, language)) for st in statements],
            negated=[any(_negated(statements[k]) for k in item) for item in items],
        )

    def item_vectors(self, statement_vectors: np.ndarray) -> np.ndarray:
        """Unit vectors of each statement and of each window (the normalised sum of its
        statements' vectors: a summarising sentence is close to it)."""
        sums = np.stack([statement_vectors[list(item)].sum(axis=0) for item in self.items])
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.asarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)

    def matches_word(self, word: str, stem: str, language: str) -> bool:
        if language == self.language:
            return stem in self.stems
        folded = fold(word.lower())
        return folded in self.words or folded[:_COGNATE_PREFIX] in self.prefixes


def _broken_rule(
    sentence: Sentence, language: str, passages: list[_Passage], scores: list[_Score]
) -> str | None:
    text = sentence.text
    if hands_over_secret(text) or targets_the_assistant(text):
        return f"repeats an instruction, not a fact: {_quote(text)}"
    planted = max(scores, key=lambda s: s.planted)
    legit = max(s.similarity for s in scores)
    if planted.planted >= PLANTED_SIMILARITY and planted.planted > legit:
        source = passages[scores.index(planted)].n
        return f"repeats an instruction planted in source [{source}]: {_quote(text)}"
    cited = _cited(sentence, passages)
    available = [q for p in cited for q in p.quantities]
    for quantity in quantities(text, language):
        if not any(quantity.matches(q) for q in available):
            by = "its cited source" if sentence.citations else "any source"
            return f"a number not supported by {by}: {_quote(text)}"
    return None


def _cited(sentence: Sentence, passages: list[_Passage]) -> list[_Passage]:
    if not sentence.citations:
        return passages
    return [p for p in passages if p.n in sentence.citations]


def _features(
    sentence: Sentence, language: str, passages: list[_Passage], scores: list[_Score]
) -> np.ndarray:
    cited = _cited(sentence, passages)
    others = [p for p in passages if p not in cited]
    best = max(cited, key=lambda p: scores[p.index].similarity)
    score = scores[best.index]
    words = _content_words(sentence.text, language)
    matched = [w for w, stem in words if any(p.matches_word(w, stem, language) for p in cited)]
    overlap = len(matched) / len(words) if words else 0.0
    competitor_similarity = competitor_overlap = 0.0
    for other in others:
        other_score = scores[other.index]
        if other_score.multilingual == score.multilingual:
            competitor_similarity = max(
                competitor_similarity, other_score.similarity - score.similarity
            )
        other_matched = sum(1 for w, stem in words if other.matches_word(w, stem, language))
        competitor_overlap = max(competitor_overlap, other_matched / len(words) - overlap)
    stated = quantities(sentence.text, language)
    near = [q for p in cited for k in scores[p.index].near for q in p.item_quantities[k]]
    elsewhere = sum(1 for q in stated if not any(q.matches(n) for n in near))
    particle = _ANSWER_PARTICLE.match(sentence.text)
    claim = sentence.text[particle.end() :] if particle else sentence.text
    polarity: bool | None = _negated(claim)
    if particle is not None and particle.group("no") and not polarity:
        polarity = None  # "No, your stats stay intact": the negation is reworded, not absent
    added, dropped = _negation_changes(claim, polarity, language, best, score)
    cross = language != best.language
    values = {
        "similarity": score.similarity,
        "similarity_multilingual": score.similarity if score.multilingual else 0.0,
        "multilingual": float(score.multilingual),
        "cross_language": float(cross),
        "overlap": 0.0 if cross else overlap,
        "overlap_cross_language": overlap if cross else 0.0,
        "unmatched_words": 0.0 if cross else math.log1p(len(words) - len(matched)),
        "competitor_similarity": competitor_similarity,
        "competitor_overlap": competitor_overlap,
        "numbers_elsewhere": elsewhere / len(stated) if stated else 0.0,
        "negation_added": added,
        "negation_dropped": dropped,
        "words": math.log1p(len(words)),
    }
    return np.array([values[name] for name in FEATURES], dtype=np.float64)


def _negation_changes(
    claim: str, polarity: bool | None, language: str, passage: _Passage, score: _Score
) -> tuple[float, float]:
    """How surely the claim negates what its statement affirms (``added``), or affirms what its
    statement negates (``dropped``): 0 when it does not, else the share of the claim's (or the
    clause's) content words that statement holds, so a loose alignment counts less. Each
    negated clause is compared with the statement that shares most of its words (a merged
    sentence keeps each statement's polarity); a claim with no negation, with the statement it
    shares most words with. Across languages, with the most similar statement and window."""
    if polarity is None:
        return 0.0, 0.0
    nearest = (score.near[0] if score.near else 0, score.statement)
    if language != passage.language:
        disagree = float(all(polarity != passage.negated[k] for k in nearest))
        return (disagree, 0.0) if polarity else (0.0, disagree)
    if not polarity:
        # Any of the statements that share most of its words: a dropped "not" leaves the claim
        # worded like the statement it reverses, which may tie with a neighbour.
        found = _aligned_statements(claim, language, passage)
        negated = [k for k in found[0] if passage.negated[k]]
        return 0.0, found[1] if negated else 0.0
    added = 0.0
    for clause in _CLAUSE_BREAK.split(claim):
        if _negated(clause) and analyze(clause, language):
            aligned, share = _aligned_statement(clause, language, passage, score)
            if not passage.negated[aligned]:
                added = max(added, share)
    return added, 0.0


def _aligned_statements(text: str, language: str, passage: _Passage) -> tuple[list[int], float]:
    """The statements sharing most of ``text``'s content words, and the share they hold."""
    stems = set(analyze(text, language))
    shared = [len(stems & s) for s in passage.statement_stems]
    most = max(shared, default=0)
    if not stems or most == 0:
        return [], 0.0
    return [k for k, n in enumerate(shared) if n == most], most / len(stems)


def _aligned_statement(
    text: str, language: str, passage: _Passage, score: _Score
) -> tuple[int, float]:
    """The statement sharing most of ``text``'s content words (the one most similar to the whole
    sentence breaks ties), and the share of those words it holds."""
    stems = set(analyze(text, language))
    shared = np.array([len(stems & s) for s in passage.statement_stems], dtype=np.float64)
    best = int(np.argmax(shared + 1e-3 * score.statement_similarities))
    return best, float(shared[best] / len(stems)) if stems else 0.0


def _statements(text: str) -> list[str]:
    """A passage's sentences: a list is taken one item at a time, and an item one sentence at a
    time (a bullet often holds two claims, one of them negated). A bare "No." stays with the
    question it answers."""
    out: list[str] = []
    for unit in split_units(text):
        lines = unit.text.splitlines() if unit.kind == "steps" else [unit.text]
        for line in lines:
            line = _LIST_MARKER.sub("", line).replace("**", "").strip()
            for statement in _STATEMENT_BREAK.split(line):
                statement = statement.strip()
                if out and _BARE_ANSWER.match(statement):
                    out[-1] = f"{out[-1]} {statement}"
                elif statement:
                    out.append(statement)
    return out


def _content_words(text: str, language: str) -> list[tuple[str, str]]:
    """(word, stem) for each distinct content word of ``text`` (stems as ``analyze`` makes)."""
    out: dict[str, str] = {}
    for word in _WORD.findall(text):
        stems = analyze(word, language)
        if stems:
            out.setdefault(stems[0], word)
    return [(word, stem) for stem, word in out.items()]


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def _quote(text: str, limit: int = 90) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


class _VectorCache:
    """Vectors by (model, text), most recent kept: help-center passages recur across
    questions, and their statements need embedding only once."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, model: Embedder, texts: Sequence[str]) -> np.ndarray:
        out: list[np.ndarray | None] = []
        with self._lock:
            for text in texts:
                found = self._vectors.get((model.name, text))
                if found is not None:
                    self._vectors.move_to_end((model.name, text))
                out.append(found)
        missing = sorted({t for t, v in zip(texts, out, strict=True) if v is None})
        if missing:
            fresh = dict(zip(missing, model.embed_documents(missing), strict=True))
            with self._lock:
                for text, vector in fresh.items():
                    self._vectors[(model.name, text)] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
            out = [fresh[t] if v is None else v for t, v in zip(texts, out, strict=True)]
        if not out:
            return np.zeros((0, model.dim), dtype=np.float32)
        return np.stack([v for v in out if v is not None])
