"""Cross-language questions: translate a question's words into the knowledge base's language.

No translation model ships here, but the multilingual sentence encoder (USE) also aligns
single words across languages ("oscuro" → "dark", "descuento" → "discount", "correo" →
"email"). At ingest, every frequent word of the knowledge base is embedded once per
language; at question time each content word is replaced by its nearest knowledge-base word
when they are close enough. The result is a rough rendering of the question in each other
language of the knowledge base, which BM25 (analyzed in that language) and the dense model
that leads there (MiniLM for English, USE otherwise) then search: that lifts Spanish
questions over English articles and English questions over Spanish ones (retrieval.py,
evals/RESULTS.md). Stop words are each language's own (language.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.language import is_stop_word
from assistant.models.embeddings import Embedder

__all__ = ["TermAligner", "Vocabulary", "content_words", "vocabulary_from"]

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
MAX_WORDS_PER_LANGUAGE = 20_000


def content_words(text: str, language: str) -> list[str]:
    """Lowercased words of three or more letters that are not stop words, in order, unique."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        word = word.strip("'’-")
        if len(word) >= 3 and not is_stop_word(word, language):
            seen.setdefault(word, None)
    return list(seen)


def vocabulary_from(texts: Iterable[tuple[str, str]], min_count: int = 2) -> dict[str, list[str]]:
    """Words worth aligning, per language: seen in at least ``min_count`` chunks."""
    counts: dict[str, Counter[str]] = {}
    for text, language in texts:
        counts.setdefault(language, Counter()).update(set(content_words(text, language)))
    return {
        language: sorted(
            w for w, c in counter.most_common(MAX_WORDS_PER_LANGUAGE) if c >= min_count
        )
        for language, counter in counts.items()
    }


@dataclass
class Vocabulary:
    words: list[str]
    vectors: np.ndarray  # (len(words), dim), L2-normalized

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}


class TermAligner:
    def __init__(
        self, embedder: Embedder, vocabularies: dict[str, Vocabulary], min_similarity: float = 0.72
    ) -> None:
        self._embedder = embedder
        self.vocabularies = vocabularies
        self.min_similarity = min_similarity

    def translate(self, question: str, source: str, target: str) -> str | None:
        """The question's content words rendered in ``target``'s vocabulary, or None."""
        vocabulary = self.vocabularies.get(target)
        if vocabulary is None or not vocabulary.words or source == target:
            return None
        words = content_words(question, source)
        if not words:
            return None
        out: list[str] = []
        unknown = [w for w in words if w not in vocabulary.index]
        vectors = self._vectors(unknown, source)
        nearest = dict(zip(unknown, self._nearest(vocabulary, vectors), strict=True))
        for word in words:
            if word in vocabulary.index:  # product names, shared words: "wix", "api", "panel"
                out.append(word)
            elif nearest[word] is not None:
                out.append(str(nearest[word]))
        return " ".join(out) or None

    def _vectors(self, words: list[str], language: str) -> np.ndarray:
        """The words' multilingual vectors: those of the knowledge base's own vocabulary in
        ``language`` were stored at ingest, the rest are embedded now (one batch)."""
        if not words:
            return np.zeros((0, 1), dtype=np.float32)
        own = self.vocabularies.get(language)
        stored = {w: own.vectors[own.index[w]] for w in words if own and w in own.index}
        missing = [w for w in words if w not in stored]
        if missing:
            stored |= dict(zip(missing, self._embedder.embed_documents(missing), strict=True))
        return np.stack([stored[w] for w in words])

    def _nearest(self, vocabulary: Vocabulary, vectors: np.ndarray) -> Sequence[str | None]:
        if len(vectors) == 0:
            return []
        similarity = vectors @ vocabulary.vectors.T
        best = similarity.argmax(axis=1)
        return [
            vocabulary.words[j] if similarity[i, j] >= self.min_similarity else None
            for i, j in enumerate(best)
        ]
