"""BM25 over chunks (bm25s), persisted beside the Chroma store and rebuilt from the catalog.

Each chunk is analyzed in its document's language (Spanish articles get the Spanish
stemmer, language.py). The retriever scores the documents of each language with the question
as it reads in that language, analyzed the same way: the question itself for its own
language, its rendering (crosslingual.py) for the others. The saved index records the catalog
generation it was built from, so a stale index is noticed and rebuilt.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from assistant.language import analyze

__all__ = ["LexicalIndex"]

_META = "learnloop.json"


class LexicalIndex:
    def __init__(self, chunk_ids: list[str], model: bm25s.BM25 | None, generation: int) -> None:
        self.chunk_ids = chunk_ids
        self._model = model
        self.generation = generation

    @classmethod
    def build(
        cls, chunk_ids: list[str], texts: Sequence[str], languages: Sequence[str], generation: int
    ) -> LexicalIndex:
        corpus = [analyze(t, lang) or ["\u2205"] for t, lang in zip(texts, languages, strict=True)]
        if not corpus:
            return cls([], None, generation)
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        return cls(chunk_ids, model, generation)

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._model is not None:
            self._model.save(str(tmp), show_progress=False)
        (tmp / _META).write_text(json.dumps({"generation": self.generation, "ids": self.chunk_ids}))
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        meta_path = directory / _META
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text())
        model = None
        if meta["ids"]:
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            model = bm25s.BM25.load(str(directory), show_progress=False)
        return cls(list(meta["ids"]), model, int(meta["generation"]))

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency over chunks, ``log(1 + N / df)``, of each analyzed term
        the index knows (unknown terms are left out)."""
        if self._model is None:
            return {}
        vocab = self._model.vocab_dict
        indptr = self._model.scores["indptr"]
        total = len(self.chunk_ids)
        out = {}
        for term in terms:
            token = vocab.get(term)
            if token is not None:
                df = max(1, int(indptr[token + 1] - indptr[token]))
                out[term] = float(np.log1p(total / df))
        return out

    def scores(self, question: str, language: str) -> np.ndarray:
        """BM25 score of every chunk for ``question`` analyzed in ``language``, in
        ``chunk_ids`` order (zeros when no term matches). Only chunks analyzed in the same
        language share its stems; the retriever keeps those."""
        if self._model is None:
            return np.zeros(0, dtype=np.float32)
        vocab = self._model.vocab_dict
        terms = [t for t in analyze(question, language) if t in vocab]
        if not terms:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)
