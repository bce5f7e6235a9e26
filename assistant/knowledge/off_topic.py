"""How much a question looks like the requests that no product's help center answers.

A similarity threshold alone cannot tell "how do I make a pivot table in Excel from a CSV?"
from a real question to an analytics help center: its words (CSV, export, table) all occur
there, and its best passage scores inside the answerable range. What such a question does
resemble, far more than anything the help center says, is a request about somewhere else.

``OffTopicExamples`` holds a few hundred such requests (``data/off_topic_requests.txt``:
other products' how-tos across many kinds of software, coding and writing tasks, trivia,
recommendations, personal, legal and business advice, small talk), embedded once per process
with both models: MiniLM (English) and the multilingual USE, so a Spanish question meets
English examples too. ``likeness`` is the mean cosine similarity of a question to its three
nearest examples, averaged over the two models.
The likeness is one of the reader's measurements (reader.py), weighed there against how
close the question's best passage is: a question close to both the help center and the
examples ("my calendar shows every task twice" vs "uber charged me twice") still gets its
answer, because its passage is close too.

Examples whose subject the knowledge base itself covers are set aside for it (``keep_for``):
a help center about spreadsheets answers "how do I freeze the top row?" like any other
question.

``request_likeness`` leaves out one section, the other products' how-tos: what is left are
requests no help center serves (a poem, the weather, a laptop to buy). The answerer compares
a declined question with those and with help-center questions of every kind of product
(request_kind.py) to tell a content gap — "is there a salesforce integration", "do you have a
hipaa baa", and other products' how-tos, which say what customers expect of this one — from
a request that is no gap at all.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.bundled import DATA_DIR
from assistant.language import detect_language
from assistant.models.embeddings import Embedder
from assistant.models.examples import NEIGHBOURS, nearest_mean


class AnswerUnits(Protocol):
    """What ``kept_for`` reads of a knowledge base's retriever."""

    @property
    def kb_key(self) -> str: ...

    @property
    def generation(self) -> int: ...

    def answer_vectors(self) -> tuple[int, np.ndarray, np.ndarray | None]: ...

__all__ = ["EXAMPLES_FILE", "OffTopicExamples", "about_other_products", "load_examples"]

EXAMPLES_FILE = DATA_DIR / "off_topic_requests.txt"
# The section of the examples file that holds other products' how-tos ("# -- how to do
# something in another product ... --").
OTHER_PRODUCTS_SECTION = "how to do something in another product"
# An example the knowledge base answers this well is about something it covers. At 0.7 the
# Plausible help center sets aside three (a referrer spam spike, Google Ads conversion
# tracking, VAT registration: all subjects it has passages on) and Tasklane's one (Slack
# notifications); the next closest are at 0.68. An article written for an example's task
# scores 0.76 (tests/knowledge/test_off_topic.py).
COVERED_DENSE = 0.7
COVERED_MULTILINGUAL = 0.6


def load_examples(path: Path = EXAMPLES_FILE) -> list[str]:
    """The requests in ``path``: one a line; blank lines and ``#`` comments are skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    examples = list(dict.fromkeys(line for line in lines if line and not line.startswith("#")))
    if not examples:
        raise ValueError(f"{path} holds no off-topic examples")
    return examples


def about_other_products(path: Path = EXAMPLES_FILE) -> set[str]:
    """The examples of ``path`` in its other-products section."""
    found: set[str] = set()
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("# --"):
            inside = line.removeprefix("# --").strip().startswith(OTHER_PRODUCTS_SECTION)
        elif inside and line and not line.startswith("#"):
            found.add(line)
    return found


class OffTopicExamples:
    """Off-topic requests embedded with both models; compares questions against them.

    ``dense`` is the English model (MiniLM): it sees only the English examples and the
    question's English rendering. ``multilingual`` (USE) sees every example and the question
    as asked. A question's likeness is the mean of the two: each model alone is swayed by a
    shared brand name or phrase, and on the shipped sets the mean separated far better
    than either (evals/RESULTS.md).
    """

    def __init__(
        self,
        dense: Embedder,
        multilingual: Embedder,
        examples: Sequence[str],
        other_products: Collection[str] = (),
    ) -> None:
        if not examples:
            raise ValueError("no off-topic examples given")
        self.dense = dense
        self.multilingual = multilingual
        self.examples = list(examples)
        self._english = np.array([detect_language(e) == "en" for e in self.examples])
        self._requests = np.array([e not in other_products for e in self.examples])
        self._multilingual = multilingual.embed_documents(self.examples)
        self._dense = np.zeros((len(self.examples), dense.dim), dtype=np.float32)
        self._dense[self._english] = dense.embed_documents(
            [e for e, en in zip(self.examples, self._english, strict=True) if en]
        )
        # Per knowledge base: (catalog generation, kept mask). Answerers are made per chat
        # turn; computing the mask reads every answer unit of the KB (about 20 ms).
        self._kept: dict[str, tuple[int, np.ndarray]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, dense: Embedder, multilingual: Embedder, path: Path = EXAMPLES_FILE
    ) -> OffTopicExamples:
        return cls(dense, multilingual, load_examples(path), about_other_products(path))

    def kept_for(self, retriever: AnswerUnits) -> np.ndarray:
        """``keep_for`` the retriever's knowledge base, recomputed only after it changes."""
        with self._lock:
            cached = self._kept.get(retriever.kb_key)
        if cached is not None and cached[0] == retriever.generation:
            return cached[1]
        generation, units, gists = retriever.answer_vectors()
        kept = self.keep_for(units, gists)
        with self._lock:
            self._kept[retriever.kb_key] = (generation, kept)
        return kept

    def keep_for(self, units: np.ndarray | None, gists: np.ndarray | None = None) -> np.ndarray:
        """Which examples count for a knowledge base: those it would not answer itself.

        ``units`` are its answer units' dense vectors (what the answerer quotes), ``gists`` its
        passages' multilingual vectors. An English example is covered when a unit is at least
        ``COVERED_DENSE`` similar to it (the answerer's own measure); another-language example
        when a passage is at least ``COVERED_MULTILINGUAL`` similar (MiniLM can't read it).
        """
        covered = np.zeros(len(self.examples), dtype=bool)
        if units is not None and len(units):
            covered |= self._english & (_best(self._dense, units) >= COVERED_DENSE)
        if gists is not None and len(gists):
            covered |= ~self._english & (
                _best(self._multilingual, gists) >= COVERED_MULTILINGUAL
            )
        return ~covered

    def likeness(
        self, question: str, english: str | None = None, keep: np.ndarray | None = None
    ) -> float:
        """Mean similarity of ``question`` to its nearest kept examples, averaged over the two
        models (``english``: the question's English rendering, if it is not in English)."""
        keep = np.ones(len(self.examples), dtype=bool) if keep is None else keep
        dense_keep = keep & self._english
        if not keep.any() or not dense_keep.any():
            return 0.0
        multilingual = self._multilingual[keep] @ self.multilingual.embed_query(question)
        dense = self._dense[dense_keep] @ self.dense.embed_query(english or question)
        return (nearest_mean(multilingual) + nearest_mean(dense)) / 2

    def request_likeness(self, question: str, keep: np.ndarray | None = None) -> float:
        """How much ``question`` looks like the kept requests no help center serves (every
        section but other products' how-tos): mean multilingual similarity to the nearest."""
        keep = self._requests if keep is None else keep & self._requests
        if not keep.any():
            return 0.0
        return nearest_mean(self._multilingual[keep] @ self.multilingual.embed_query(question))

    def nearest(self, question: str, keep: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The nearest kept examples by the multilingual model, closest first (to explain a
        decline)."""
        index = np.flatnonzero(keep) if keep is not None else np.arange(len(self.examples))
        scores = self._multilingual[index] @ self.multilingual.embed_query(question)
        order = np.argsort(-scores)[:NEIGHBOURS]
        return [(self.examples[int(index[i])], float(scores[i])) for i in order]


def _best(examples: np.ndarray, passages: np.ndarray) -> np.ndarray:
    """Each example's highest similarity to any passage row (in blocks: bounded memory)."""
    best = np.full(len(examples), -1.0, dtype=np.float32)
    for start in range(0, len(passages), 4096):
        best = np.maximum(best, (examples @ passages[start : start + 4096].T).max(axis=1))
    return best
