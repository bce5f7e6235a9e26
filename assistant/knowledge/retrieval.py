"""Hybrid retrieval: dense (MiniLM in Chroma) + BM25 + multilingual gists, fused by RRF.

Each retriever ranks chunks; each list is collapsed to articles (an article takes its best
chunk's rank) and reciprocal-rank fusion adds ``weight / (k + rank)`` per list. Article
cards (title + summary) add article-level lists.

Every language is first-class. The documents of each language are searched with the
question as it reads in that language: the question itself in its own language, else its
rendering there (its words aligned into that language's vocabulary of the KB,
crosslingual.py). A dense model counts only where it reads both sides (MiniLM: English; the
multilingual USE: sixteen languages), so MiniLM leads on English documents and USE
everywhere else; BM25 analyzes the question in the documents' language.
``FusionWeights.lists`` turns the question's language and the KB's language mix into the
lists to fuse and their weight per document language. Each list still ranks every allowed
document, so the few documents of a minority language get no free first ranks: an article
takes its rank in the whole list and earns the weight of its own language (zero where the
list's model does not read it).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge, KnowledgeBase
from assistant.knowledge.catalog import Catalog, DocumentRow
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.trust import (
    ContactDomains,
    untrusted_sentences,
    without_sentences,
    without_untrusted,
)
from assistant.language import analyze, detect_language, language_of_locale
from assistant.models.crosslingual import TermAligner, Vocabulary

__all__ = [
    "FILTER_KEYS",
    "MODES",
    "ArticleHit",
    "FusionWeights",
    "Mode",
    "RankedList",
    "Retriever",
]

Mode = Literal["hybrid", "dense", "bm25", "multilingual", "dense+bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "multilingual", "dense+bm25")
FILTER_KEYS = ("locale", "audience", "level", "kind")
RECENT_SEARCHES = 256  # results kept per knowledge base, for repeats within a turn

Ranker = Literal["dense", "multilingual", "bm25", "cards"]


@dataclass(frozen=True)
class RankedList:
    """One list to fuse: ``ranker`` over the documents written in ``documents``, fed the
    question as asked or (``rendered``) its rendering in the documents' language."""

    ranker: Ranker
    documents: str
    rendered: bool
    weight: float


@dataclass(frozen=True)
class FusionWeights:
    """How much each ranked list counts in reciprocal-rank fusion, for a question in language
    ``q`` over a knowledge base whose documents are in one or more languages ``d``.

    The weights follow which model reads which language; none was fitted to a question set
    (evals/RESULTS.md lists the few variants compared on the dev sets). For every document
    language ``d`` of the KB (the documents the filters allow), the lists that credit the
    documents of ``d``:

    - the question is taken in ``d``: itself when ``q == d``, else its rendering in ``d``;
    - **lead** (``dense``): the first dense model that reads both that text and ``d``:
      MiniLM for English, USE for every other language it knows. MiniLM never counts for a
      pair it does not read (a Spanish question, Spanish documents);
    - **USE over the question as asked**, when it is not the lead already:
      ``multilingual_same_language`` when ``q == d`` and MiniLM leads (English on English:
      USE is the weaker model there and mainly adds noise to the first rank),
      ``multilingual`` across languages (USE reads across languages, and the question as
      asked says more than its word-by-word rendering);
    - **BM25** (``bm25``) of the text in ``d``, analyzed (stemmed, stop words) in ``d``;
    - **cards** (``cards``): MiniLM's vectors of each article's title and summary, an
      article-level list like a title field in a search engine, where MiniLM reads the pair;
    - ``unread``: when no available dense model reads the pair (``LEARNLOOP_MULTILINGUAL``
      off and a Spanish question, or a language no model knows), MiniLM's shared word pieces
      are all there is, and they count half.

    Every document language gets the same say: its weights are scaled so that they add up
    to the most any language has (Spanish documents, read by USE and BM25 only, are not
    outvoted by English ones that four lists read). Across languages that say is scaled by
    the KB's language mix, ``n_d / (n_q + n_d)`` with ``n`` the documents per language: a
    question is best answered by documents in its own language when the KB has them, and the
    other languages count in proportion to how much of the KB they hold (an English question
    on an all-Spanish KB: 1; on a KB with 68 English and 11 Spanish articles, 11/79 for the
    Spanish ones). Documents in ``q`` itself count fully.

    On an English-only KB an English question gets MiniLM 1, USE 0.5, BM25 1 and cards 0.5.
    A question in another language that cannot be rendered (no multilingual model, or none of
    its words aligned) is searched as asked.
    """

    dense: float = 1.0
    multilingual: float = 1.0
    multilingual_same_language: float = 0.5
    bm25: float = 1.0
    cards: float = 0.5
    unread: float = 0.5

    def lists(
        self,
        question: str,
        mix: Mapping[str, int],
        reads: Mapping[Literal["dense", "multilingual"], Collection[str]],
        rendered: Collection[str] = (),
    ) -> list[RankedList]:
        """The lists to fuse for a question in language ``question``.

        ``mix``: documents per language; ``reads``: the languages each available dense model
        reads (``multilingual`` absent when that model is off); ``rendered``: the languages
        the question could be rendered into.
        """
        own = mix.get(question, 0)
        pairs: list[tuple[str, float, list[tuple[Ranker, float, bool]]]] = []
        for documents, count in sorted(mix.items()):
            if count <= 0:
                continue
            prior = 1.0 if documents == question else count / (own + count)
            translated = documents != question and documents in rendered
            text = documents if translated else question
            pair: list[tuple[Ranker, float, bool]] = []
            lead: Literal["dense", "multilingual"] | None = next(
                (m for m in _DENSE if _reads(reads, m, text, documents)), None
            )
            if lead is not None:
                pair.append((lead, self.dense, translated))
            elif "multilingual" not in reads:
                pair.append(("dense", self.unread, translated))
            if "multilingual" in reads and not (lead == "multilingual" and not translated):
                if documents != question:
                    weight = self.multilingual
                elif lead == "dense":
                    weight = self.multilingual_same_language
                else:
                    weight = self.dense
                if not _reads(reads, "multilingual", question, documents):
                    weight = min(weight, self.unread)
                pair.append(("multilingual", weight, False))
            pair.append(("bm25", self.bm25, translated))
            if _reads(reads, "dense", text, documents):
                pair.append(("cards", self.cards, translated))
            pairs.append((documents, prior, [p for p in pair if p[1] > 0]))
        # Every document language gets the same say (the most any of them has), times its
        # share: a language fewer models read is not outvoted by the number of lists.
        top = max((sum(w for _, w, _ in pair) for _, _, pair in pairs), default=0.0)
        return [
            RankedList(ranker, documents, as_rendered, weight * prior * top / total)
            for documents, prior, pair in pairs
            for total in [sum(w for _, w, _ in pair)]
            for ranker, weight, as_rendered in pair
        ]


_DENSE: tuple[Literal["dense", "multilingual"], ...] = ("dense", "multilingual")


def _reads(
    reads: Mapping[Literal["dense", "multilingual"], Collection[str]],
    model: Literal["dense", "multilingual"],
    *languages: str,
) -> bool:
    known = reads.get(model)
    return known is not None and all(language in known for language in languages)


@dataclass(frozen=True)
class Coverage:
    """How much of a question's terms (weighted by inverse document frequency) a passage, its
    article and the knowledge base contain (``Retriever.coverage``)."""

    passage: float
    article: float
    known: float  # share of the question's terms the knowledge base uses at all
    terms: int


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
    vectors: np.ndarray  # the dense model's chunk vectors, a row per chunk (Chroma's copy)
    vectored: np.ndarray  # per chunk: has a stored vector (an interrupted write may lack one)
    gists: np.ndarray | None
    aligner: TermAligner | None
    doc_language: dict[str, str]  # article id -> its language (language.py codes)
    languages: Counter[str]  # documents per language
    card_ids: list[str]
    cards: np.ndarray
    first_chunk: dict[str, int]
    chunks_of: dict[str, list[int]]  # article id -> its chunks' positions
    # Analyzed terms of whole articles, (article id, language) -> terms, filled as asked.
    article_terms: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
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

    @classmethod
    def of(cls, knowledge: Knowledge, kb: KnowledgeBase) -> Retriever:
        """The knowledge base's one retriever in this process (built on first use)."""
        return knowledge.per_kb(kb, cls)

    def __init__(
        self, knowledge: Knowledge, kb: KnowledgeBase, weights: FusionWeights | None = None
    ) -> None:
        self.weights = weights or FusionWeights()
        self._knowledge = knowledge
        self._kb = kb
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[Any, ...], list[ArticleHit]] = OrderedDict()

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
                self._snapshot = self._load()
            return self._snapshot

    def _load(self) -> _Snapshot:
        # Everything from one read transaction: an ingest committing meanwhile is seen next
        # time, never half (the snapshot takes the generation the transaction saw).
        with self._kb.catalog.consistent_view() as catalog:
            return self._load_from(catalog)

    def _load_from(self, catalog: Catalog) -> _Snapshot:
        generation = catalog.generation
        docs = {d.id: d for d in catalog.documents()}
        doc_language = {d.id: language_of_locale(d.locale) for d in docs.values()}
        rows = catalog.chunks()
        lexical = LexicalIndex.load(self._kb.lexical_dir)
        if lexical is None or lexical.generation != generation:
            # A reader never writes: build the index in memory; the next ingest persists it.
            lexical = LexicalIndex.build(
                [r.id for r in rows],
                [r.text for r in rows],
                [doc_language[r.doc_id] for r in rows],
                generation,
            )
        by_id = {r.id: r for r in rows}
        ids = [cid for cid in lexical.chunk_ids if cid in by_id]
        if len(ids) != len(lexical.chunk_ids):
            raise LearnloopError(ErrorCode.invalid_input, "lexical index out of step with catalog")
        # Dense search is exact, over the vectors Chroma stores: Chroma's HNSW graph is
        # rebuilt differently in each process, so its approximate neighbours (and rankings
        # that hinge on them) changed from one run to the next (evals/RESULTS.md).
        vectors = self._kb.store.vectors(ids, self._knowledge.embedder.dim)
        gist_embedder = self._knowledge.gist_embedder
        gists = catalog.gist_matrix(ids, gist_embedder.dim) if gist_embedder else None
        aligner = None
        if gist_embedder is not None:
            vocabularies = {
                lang: Vocabulary(words, vectors)
                for lang, (words, vectors) in catalog.terms().items()
            }
            aligner = TermAligner(gist_embedder, vocabularies)
        # Knowledge is a trust boundary: a sentence planted to take a reader's secrets, money
        # or mail is never served — not quoted, not in a prompt, not in a snippet.
        allowed = catalog.contact_domains
        domains = {d.id: ContactDomains.of(d.url, allowed) for d in docs.values()}
        # And so are the pieces the planted-text judge flagged at ingest (ingest/planted.py),
        # but those the admin vouched for.
        trusted = set(catalog.trusted_sentences)
        served = [
            without_sentences(
                without_untrusted(
                    by_id[c].body, untrusted_sentences(by_id[c].body, domains[by_id[c].doc_id])
                ),
                [text for text, _ in by_id[c].planted if text not in trusted],
            )
            for c in ids
        ]
        return _Snapshot(
            generation=generation,
            chunk_ids=ids,
            chunk_doc=[by_id[c].doc_id for c in ids],
            chunk_heading=[by_id[c].heading for c in ids],
            chunk_body=served,
            position={c: i for i, c in enumerate(ids)},
            docs=docs,
            lexical=lexical,
            vectors=vectors,
            vectored=np.any(vectors != 0, axis=1),
            gists=gists,
            aligner=aligner,
            doc_language=doc_language,
            languages=Counter(doc_language.values()),
            card_ids=list(docs),
            first_chunk={
                doc: i for i, doc in reversed(list(enumerate(by_id[c].doc_id for c in ids)))
            },
            cards=catalog.card_matrix(list(docs), self._knowledge.embedder.dim),
            chunks_of=_chunks_of([by_id[c].doc_id for c in ids]),
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
        # One turn asks the same search more than once (the LLM answerer's scope check, its
        # sources, the extractive fallback): the latest results are kept per generation.
        key = (query, k, repr(sorted(allowed.items())), mode, snap.generation)
        with self._lock:
            found = self._recent.get(key)
            if found is not None:
                self._recent.move_to_end(key)
                return list(found)
        hits = self._search(snap, query, k, allowed, mode)
        with self._lock:
            self._recent[key] = hits
            while len(self._recent) > RECENT_SEARCHES:
                self._recent.popitem(last=False)
        return list(hits)

    def _search(
        self, snap: _Snapshot, query: str, k: int, allowed: dict[str, Any], mode: Mode
    ) -> list[ArticleHit]:
        mask = self._mask(snap, allowed)
        language = detect_language(query)
        if mode != "hybrid":
            every = {lang: 1.0 for lang in snap.languages}
            single = self._single(snap, query, language, mode, mask)
            fused = _fuse_articles(
                snap, [(every, r) for r in single], [], self._knowledge.settings.rrf_k
            )
            return self._hits(snap, fused, k)
        n = self._knowledge.settings.candidates
        gist_embedder = self._knowledge.gist_embedder if snap.gists is not None else None
        reads: dict[Literal["dense", "multilingual"], Collection[str]] = {
            "dense": self._knowledge.embedder.languages
        }
        if gist_embedder is not None:
            reads["multilingual"] = gist_embedder.languages
        mix = snap.languages
        if allowed:  # the language mix of the documents the filters allow
            allowed_docs = set(np.asarray(snap.chunk_doc, dtype=object)[mask].tolist())
            mix = Counter(snap.doc_language[d] for d in allowed_docs)
        # The question rendered in every other language of the KB (crosslingual.py).
        renderings = {
            target: snap.translate(query, language, target)
            for target in mix
            if target != language and snap.aligner is not None
        }
        texts = {language: query} | {t: r for t, r in renderings.items() if r}
        plan = self.weights.lists(language, mix, reads, rendered=texts.keys() - {language})
        # One ranking per model and text over every allowed document, so a language with
        # few documents gets no free first ranks; a document earns credit only from the lists
        # its language's pair has (FusionWeights.lists), at that pair's weight.
        credit: dict[tuple[Ranker, str], dict[str, float]] = {}
        for item in plan:
            text_language = item.documents if item.rendered else language
            credit.setdefault((item.ranker, text_language), {})[item.documents] = item.weight
        rankings: list[tuple[Mapping[str, float], list[int]]] = []
        cards: list[tuple[Mapping[str, float], list[str]]] = []
        for (ranker, text_language), weights in credit.items():
            text = texts[text_language]
            if ranker == "dense":
                vector = self._knowledge.embedder.embed_query(text)
                rankings.append((weights, self._dense(snap, vector, n, mask)))
            elif ranker == "multilingual":
                assert gist_embedder is not None and snap.gists is not None
                scores = snap.gists @ gist_embedder.embed_query(text)
                rankings.append((weights, _top(scores, mask, n)))
            elif ranker == "bm25":
                scores = snap.lexical.scores(text, text_language)
                rankings.append((weights, _top(scores, mask, n)))
            else:
                cards.append((weights, self._cards(snap, text, mask, n)))
        fused = _fuse_articles(snap, rankings, cards, self._knowledge.settings.rrf_k)
        return self._hits(snap, fused, k)

    def _single(
        self,
        snap: _Snapshot,
        query: str,
        language: str,
        mode: Mode,
        mask: np.ndarray,
    ) -> list[list[int]]:
        """One retriever (or MiniLM + BM25) over the question as asked, every document."""
        n = self._knowledge.settings.candidates
        rankings: list[list[int]] = []
        if mode in ("dense", "dense+bm25"):
            vector = self._knowledge.embedder.embed_query(query)
            rankings.append(self._dense(snap, vector, n, mask))
        if mode in ("bm25", "dense+bm25"):
            rankings.append(_top(snap.lexical.scores(query, language), mask, n))
        if mode == "multilingual" and snap.gists is not None:
            assert self._knowledge.gist_embedder is not None
            vector = self._knowledge.gist_embedder.embed_query(query)
            rankings.append(_top(snap.gists @ vector, mask, n))
        return rankings

    def _cards(self, snap: _Snapshot, text: str, part: np.ndarray, n: int) -> list[str]:
        """Articles of the allowed chunks ``part``, ranked by their card (title + summary)."""
        if not len(snap.card_ids):
            return []
        scores = snap.cards @ self._knowledge.embedder.embed_query(text)
        allowed_docs = set(np.asarray(snap.chunk_doc)[part])
        keep = np.array([d in allowed_docs for d in snap.card_ids], dtype=bool)
        return [snap.card_ids[i] for i in _top(scores, keep, n)]

    def next_passage(self, hit: ArticleHit) -> ArticleHit | None:
        """The passage after ``hit``'s in its article (reading order), as a hit with the
        article's score; None after the last. A lead-in sentence and the steps it introduces
        can fall on either side of a chunk boundary."""
        snap = self._fresh()
        chunks = snap.chunks_of.get(hit.article_id, [])
        here = snap.position.get(hit.chunk_id)
        if here not in chunks or chunks.index(here) + 1 == len(chunks):
            return None
        i = chunks[chunks.index(here) + 1]
        return replace(
            hit,
            heading=snap.chunk_heading[i],
            chunk_id=snap.chunk_ids[i],
            body=snap.chunk_body[i],
            snippet=_snippet(snap.chunk_body[i]),
        )

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

    def coverage(self, question: str, language: str, chunk_id: str) -> Coverage:
        """How much of ``question`` (analyzed in ``language``, the passage's language) the
        passage ``chunk_id``, its whole article and the knowledge base contain: shares of the
        question's terms weighted by their inverse document frequency (a rare word the
        question hinges on counts more than "set" or "page")."""
        snap = self._fresh()
        terms = list(dict.fromkeys(analyze(question, language)))
        if not terms or chunk_id not in snap.position:
            return Coverage(0.0, 0.0, 0.0, len(terms))
        idf = snap.lexical.idf(terms)
        # A term the KB never uses gets the rarest known term's weight: it is what the
        # question hinges on as much as anything (a feature name the product doesn't have).
        unknown_weight = max(idf.values(), default=1.0)
        weights = {t: idf.get(t, unknown_weight) for t in terms}
        total = sum(weights.values())
        position = snap.position[chunk_id]
        passage = set(analyze(_passage_text(snap, position), language))
        article = snap.article_terms.get((snap.chunk_doc[position], language))
        if article is None:
            article = frozenset(
                term
                for i in snap.chunks_of.get(snap.chunk_doc[position], ())
                for term in analyze(_passage_text(snap, i), language)
            )
            snap.article_terms[(snap.chunk_doc[position], language)] = article
        return Coverage(
            passage=sum(w for t, w in weights.items() if t in passage) / total,
            article=sum(w for t, w in weights.items() if t in article) / total,
            known=len(idf) / len(terms),
            terms=len(terms),
        )

    def gist_similarity(self, question: str, chunk_id: str) -> float:
        """The multilingual model's similarity of the question to one passage (0 without it)."""
        snap = self._fresh()
        embedder = self._knowledge.gist_embedder
        if snap.gists is None or embedder is None or chunk_id not in snap.position:
            return 0.0
        return float(snap.gists[snap.position[chunk_id]] @ embedder.embed_query(question))

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

    def _dense(self, snap: _Snapshot, vector: np.ndarray, n: int, mask: np.ndarray) -> list[int]:
        return _top(snap.vectors @ vector, mask & snap.vectored, n, positive_only=False)

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


def _passage_text(snap: _Snapshot, position: int) -> str:
    """A chunk as the reader sees it: its heading path (title and sections) and its body."""
    return f"{snap.chunk_heading[position]}\n{snap.chunk_body[position]}"


def _chunks_of(chunk_doc: Sequence[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, doc in enumerate(chunk_doc):
        out.setdefault(doc, []).append(i)
    return out


def _top(scores: np.ndarray, mask: np.ndarray, n: int, positive_only: bool = True) -> list[int]:
    """The ``n`` best allowed positions, best first (a score of 0 or less is no match unless
    ``positive_only`` is False: a cosine similarity may be negative)."""
    if scores.size == 0:
        return []
    masked = np.where(mask, scores, -np.inf)
    count = min(n, int(mask.sum()))
    if count == 0:
        return []
    top = np.argpartition(-masked, count - 1)[:count]
    top = top[np.argsort(-masked[top], kind="stable")]
    return [
        int(i) for i in top if np.isfinite(masked[i]) and (masked[i] > 0 or not positive_only)
    ]


def _fuse_articles(
    snap: _Snapshot,
    chunk_rankings: Sequence[tuple[Mapping[str, float], list[int]]],
    article_rankings: Sequence[tuple[Mapping[str, float], list[str]]],
    k: int,
) -> dict[str, tuple[float, int]]:
    """Reciprocal-rank fusion at the article level: ``{article: (score, best chunk index)}``.

    Each list comes with its weight per document language; an article adds
    ``weight[its language] / (k + rank)``, and an article of a language the list has no
    weight for keeps its rank (it is the competition the model saw) but adds nothing.
    Each chunk list is first collapsed to articles (an article takes the rank of its best
    chunk in that list), so several chunks of one article never add up against an article
    that ranks first everywhere. The best chunk is the one that contributed most; an article
    found by its card alone shows its opening chunk.
    """
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, int]] = {}
    for weights, ranking in chunk_rankings:
        seen: set[str] = set()
        for index in ranking:
            doc_id = snap.chunk_doc[index]
            if doc_id in seen:
                continue
            weight = weights.get(snap.doc_language[doc_id], 0.0)
            contribution = weight / (k + len(seen) + 1)
            seen.add(doc_id)
            if weight <= 0:
                continue
            scores[doc_id] = scores.get(doc_id, 0.0) + contribution
            if doc_id not in best or contribution > best[doc_id][0]:
                best[doc_id] = (contribution, index)
    for weights, articles in article_rankings:
        for rank, doc_id in enumerate(articles):
            weight = weights.get(snap.doc_language.get(doc_id, ""), 0.0)
            if doc_id not in snap.first_chunk or weight <= 0:
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
