"""Hybrid retrieval: dense (MiniLM in Chroma) + BM25 + multilingual gists, fused by RRF.

Each retriever ranks chunks; each list is collapsed to articles (an article takes its best
chunk's rank) and reciprocal-rank fusion adds ``weight / (k + rank)`` per list. Article
cards (title + summary) add one more, article-level list. For a question in another
language than most of the KB, the question's words are aligned into the KB's vocabulary
(crosslingual.py) and that rendering is searched densely and lexically too: MiniLM is an
English model and BM25 matches only shared words.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from assistant.catalog import DocumentRow
from assistant.crosslingual import TermAligner, Vocabulary
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge_base import Knowledge, KnowledgeBase
from assistant.language import detect_language, language_of_locale
from assistant.lexical import LexicalIndex

__all__ = ["FILTER_KEYS", "MODES", "ArticleHit", "FusionWeights", "Mode", "Retriever"]

Mode = Literal["hybrid", "dense", "bm25", "multilingual", "dense+bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "multilingual", "dense+bm25")
FILTER_KEYS = ("locale", "audience", "level", "kind")


@dataclass(frozen=True)
class FusionWeights:
    """How much each ranked list counts in reciprocal-rank fusion.

    ``dense_non_english`` applies to MiniLM on a question that is not in English: it is an
    English model, so that list is half-trusted (the question's English rendering, weighted
    ``translated``, carries the dense signal instead).

    ``cards`` ranks whole articles by their title and summary (MiniLM) and adds to the
    article's score after chunks are grouped, like a title field in a search engine.

    ``multilingual_same_language`` applies when the question is in a language the
    knowledge base is written in: USE is the weaker retriever there and mainly adds noise
    to the first rank; across languages it is one of the few signals and counts fully.
    """

    dense: float = 1.0
    dense_non_english: float = 0.5
    bm25: float = 1.0
    multilingual: float = 1.0
    multilingual_same_language: float = 0.5
    translated: float = 1.0
    cards: float = 0.5


@dataclass(frozen=True)
class ArticleHit:
    article_id: str
    title: str
    url: str | None
    score: float
    snippet: str
    kind: str
    locale: str
    heading: str
    chunk_id: str
    body: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "score": round(self.score, 6),
            "snippet": self.snippet,
        }


@dataclass
class _Snapshot:
    generation: int
    chunk_ids: list[str]
    chunk_doc: list[str]
    chunk_heading: list[str]
    chunk_body: list[str]
    position: dict[str, int]
    docs: dict[str, DocumentRow]
    lexical: LexicalIndex
    gists: np.ndarray | None
    aligner: TermAligner | None
    languages: Counter[str]  # documents per analyzer language
    card_ids: list[str]
    cards: np.ndarray
    first_chunk: dict[str, int]
    # Renderings of questions in another language, (text, source, target) → text: one chat
    # turn asks for the same one in retrieval, in answering and in the off-topic check.
    renderings: dict[tuple[str, str, str], str | None] = field(default_factory=dict)

    def translate(self, text: str, source: str, target: str) -> str | None:
        if self.aligner is None:
            return None
        key = (text, source, target)
        if key not in self.renderings:
            if len(self.renderings) >= 1024:
                self.renderings.clear()
            self.renderings[key] = self.aligner.translate(text, source, target)
        return self.renderings[key]


def normalize_filters(filters: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``{"locale": "es", "level": ["beginner", "intermediate"]}`` → lists of allowed values."""
    out: dict[str, list[str]] = {}
    for key, value in (filters or {}).items():
        if key not in FILTER_KEYS:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"unknown filter '{key}'; filters are {', '.join(FILTER_KEYS)}",
            )
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"filter '{key}' needs a non-empty string or list of strings",
            )
        out[key] = values
    return out


class Retriever:
    """Searches one knowledge base; reloads its in-memory indexes when the catalog changes."""

    def __init__(
        self, knowledge: Knowledge, kb: KnowledgeBase, weights: FusionWeights | None = None
    ) -> None:
        self.weights = weights or FusionWeights()
        self._knowledge = knowledge
        self._kb = kb
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def _fresh(self) -> _Snapshot:
        generation = self._kb.catalog.generation
        snap = self._snapshot
        if snap is not None and snap.generation == generation:
            return snap
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                if self._snapshot is not None:
                    # Another writer changed the KB: reopen Chroma to see its new vectors.
                    self._knowledge.reopen_vectors()
                self._snapshot = self._load(generation)
            return self._snapshot

    def _load(self, generation: int) -> _Snapshot:
        catalog = self._kb.catalog
        docs = {d.id: d for d in catalog.documents()}
        rows = catalog.chunks()
        lexical = LexicalIndex.load(self._kb.lexical_dir)
        if lexical is None or lexical.generation != generation:
            # A reader never writes: build the index in memory; the next ingest persists it.
            lexical = LexicalIndex.build(
                [r.id for r in rows],
                [r.text for r in rows],
                [language_of_locale(docs[r.doc_id].locale) for r in rows],
                generation,
            )
        by_id = {r.id: r for r in rows}
        ids = [cid for cid in lexical.chunk_ids if cid in by_id]
        if len(ids) != len(lexical.chunk_ids):
            raise LearnloopError(ErrorCode.invalid_input, "lexical index out of step with catalog")
        gist_embedder = self._knowledge.gist_embedder
        gists = catalog.gist_matrix(ids, gist_embedder.dim) if gist_embedder else None
        aligner = None
        if gist_embedder is not None:
            vocabularies = {
                lang: Vocabulary(words, vectors)
                for lang, (words, vectors) in catalog.terms().items()
            }
            aligner = TermAligner(gist_embedder, vocabularies)
        return _Snapshot(
            generation=generation,
            chunk_ids=ids,
            chunk_doc=[by_id[c].doc_id for c in ids],
            chunk_heading=[by_id[c].heading for c in ids],
            chunk_body=[by_id[c].body for c in ids],
            position={c: i for i, c in enumerate(ids)},
            docs=docs,
            lexical=lexical,
            gists=gists,
            aligner=aligner,
            languages=Counter(language_of_locale(d.locale) for d in docs.values()),
            card_ids=list(docs),
            first_chunk={
                doc: i for i, doc in reversed(list(enumerate(by_id[c].doc_id for c in ids)))
            },
            cards=catalog.card_matrix(list(docs), self._knowledge.embedder.dim),
        )

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Mapping[str, Any] | None = None,
        mode: Mode = "hybrid",
    ) -> list[ArticleHit]:
        query = query.strip()
        if not query:
            raise LearnloopError(ErrorCode.invalid_input, "query is empty")
        allowed = normalize_filters(filters)
        snap = self._fresh()
        if not snap.chunk_ids:
            return []
        mask = self._mask(snap, allowed)
        language = detect_language(query)
        n = self._knowledge.settings.candidates
        dense = mode in ("hybrid", "dense", "dense+bm25")
        lexical = mode in ("hybrid", "bm25", "dense+bm25")
        w = self.weights
        embedded: dict[str, np.ndarray] = {}

        def embed(text: str) -> np.ndarray:
            if text not in embedded:
                embedded[text] = self._knowledge.embedder.embed_query(text)
            return embedded[text]

        rankings: list[tuple[float, list[int]]] = []
        if dense:
            weight = w.dense if language == "en" else w.dense_non_english
            rankings.append((weight, self._dense(snap, embed(query), n, allowed)))
        if lexical:
            rankings.append((w.bm25, _top(snap.lexical.scores(query, language), mask, n)))
        if mode in ("hybrid", "multilingual") and snap.gists is not None:
            assert self._knowledge.gist_embedder is not None
            vector = self._knowledge.gist_embedder.embed_query(query)
            weight = w.multilingual_same_language if language in snap.languages else w.multilingual
            rankings.append((weight, _top(snap.gists @ vector, mask, n)))
        english = query if language == "en" else None
        if mode == "hybrid" and snap.aligner is not None:
            # The question rendered in a language the knowledge base has more of: the English
            # dense model and BM25 then match it directly. Not the other way round: an English
            # question in a mostly-English KB gains only noise from its Spanish translations.
            own = snap.languages.get(language, 0)
            for target in sorted(t for t, count in snap.languages.items() if count > own):
                translated = snap.translate(query, language, target)
                if not translated:
                    continue
                if target == "en":
                    english = translated
                    rankings.append(
                        (w.translated, self._dense(snap, embed(translated), n, allowed))
                    )
                rankings.append(
                    (w.translated, _top(snap.lexical.scores(translated, target), mask, n))
                )
        cards: list[str] = []
        if mode == "hybrid" and english and len(snap.card_ids):
            scores = snap.cards @ embed(english)
            allowed_docs = set(np.asarray(snap.chunk_doc)[mask]) if allowed else None
            ranked_cards = [snap.card_ids[i] for i in _top(scores, np.ones(len(scores), bool), n)]
            cards = [d for d in ranked_cards if allowed_docs is None or d in allowed_docs]
        fused = _fuse_articles(snap, rankings, (w.cards, cards), self._knowledge.settings.rrf_k)
        return self._hits(snap, fused, k)

    def unit_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Answer-unit embeddings stored at ingest, per chunk (rows in unit order)."""
        dim = self._knowledge.embedder.dim
        return {
            cid: np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)
            for cid, blob in self._kb.catalog.unit_vectors(chunk_ids).items()
        }

    @property
    def kb_key(self) -> str:
        """The knowledge base's process-wide key (tenant and name)."""
        return self._kb.key

    @property
    def generation(self) -> int:
        """The catalog's generation: it changes whenever an ingest changes the KB."""
        return self._kb.catalog.generation

    def answer_vectors(self) -> tuple[int, np.ndarray, np.ndarray | None]:
        """What any question could be answered from, for scope checks: the catalog
        generation, every stored answer unit's dense vector (a row each) and every chunk's
        multilingual vector (None without the multilingual model)."""
        snap = self._fresh()
        stored = self.unit_vectors(snap.chunk_ids)
        dim = self._knowledge.embedder.dim
        units = np.concatenate(list(stored.values())) if stored else np.zeros((0, dim), np.float32)
        return snap.generation, units, snap.gists

    def translate(self, text: str, source: str, target: str) -> str | None:
        """``text`` rendered in ``target``'s vocabulary of this KB (None if not possible)."""
        return self._fresh().translate(text, source, target)

    def _mask(self, snap: _Snapshot, allowed: dict[str, list[str]]) -> np.ndarray:
        mask = np.ones(len(snap.chunk_ids), dtype=bool)
        if allowed:
            ok_docs = {
                d.id
                for d in snap.docs.values()
                if all(getattr(d, key) in values for key, values in allowed.items())
            }
            mask &= np.array([doc in ok_docs for doc in snap.chunk_doc], dtype=bool)
        return mask

    def _dense(
        self, snap: _Snapshot, vector: np.ndarray, n: int, allowed: dict[str, list[str]]
    ) -> list[int]:
        clauses = [{key: {"$in": values}} for key, values in allowed.items()]
        where: dict[str, Any] | None = None
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        hits = self._kb.store.query(vector, n, where)
        # Vectors the catalog does not know (an interrupted write) are never served.
        return [snap.position[h.chunk_id] for h in hits if h.chunk_id in snap.position]

    def _hits(
        self, snap: _Snapshot, fused: dict[str, tuple[float, int]], k: int
    ) -> list[ArticleHit]:
        ranked = sorted(fused.items(), key=lambda item: (-item[1][0], item[0]))
        hits = []
        for doc_id, (score, best) in ranked[:k]:
            doc = snap.docs[doc_id]
            hits.append(
                ArticleHit(
                    article_id=doc.id,
                    title=doc.title,
                    url=doc.url,
                    score=score,
                    snippet=_snippet(snap.chunk_body[best]),
                    kind=doc.kind,
                    locale=doc.locale,
                    heading=snap.chunk_heading[best],
                    chunk_id=snap.chunk_ids[best],
                    body=snap.chunk_body[best],
                )
            )
        return hits


def _top(scores: np.ndarray, mask: np.ndarray, n: int) -> list[int]:
    if scores.size == 0:
        return []
    masked = np.where(mask, scores, -np.inf)
    count = min(n, int(mask.sum()))
    if count == 0:
        return []
    top = np.argpartition(-masked, count - 1)[:count]
    top = top[np.argsort(-masked[top], kind="stable")]
    return [int(i) for i in top if np.isfinite(masked[i]) and masked[i] > 0]


def _fuse_articles(
    snap: _Snapshot,
    chunk_rankings: Sequence[tuple[float, list[int]]],
    article_ranking: tuple[float, list[str]],
    k: int,
) -> dict[str, tuple[float, int]]:
    """Reciprocal-rank fusion at the article level: ``{article: (score, best chunk index)}``.

    Each chunk list is first collapsed to articles (an article takes the rank of its best
    chunk in that list), so several chunks of one article never add up against an article
    that ranks first everywhere. The best chunk is the one that contributed most; an article
    found by its card alone shows its opening chunk.
    """
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, int]] = {}
    for weight, ranking in chunk_rankings:
        if weight <= 0:
            continue
        seen: set[str] = set()
        for index in ranking:
            doc_id = snap.chunk_doc[index]
            if doc_id in seen:
                continue
            contribution = weight / (k + len(seen) + 1)
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + contribution
            if doc_id not in best or contribution > best[doc_id][0]:
                best[doc_id] = (contribution, index)
    weight, articles = article_ranking
    for rank, doc_id in enumerate(articles):
        if doc_id not in snap.first_chunk:
            continue
        scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank + 1)
        best.setdefault(doc_id, (0.0, snap.first_chunk[doc_id]))
    return {doc_id: (score, best[doc_id][1]) for doc_id, score in scores.items()}


def _snippet(body: str, limit: int = 320) -> str:
    text = " ".join(body.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit] + " …"
