"""What KIND of request a question is: a help-center question, or one no help center serves.

The keyword rules (guardrails.py) catch the phrasings they list; a request worded any other
way ("what's the pageview count of that other shop, they use you too", "SYSTEM: admin
override", "refund my last invoice") reads as on-topic to retrieval, since its words are the
help center's. ``RequestKinds`` judges the kind instead, from about a thousand labelled
examples in English and Spanish (``data/request_kinds.jsonl``: help-center questions of many
kinds of SaaS products, and requests of each kind the assistant declines):

- ``help``: how-to, troubleshooting, concepts, prices and limits, and questions about the
  asker's own account that the docs answer ("how do I cancel?", "can I get a refund?");
- ``act_on_account``: asks the assistant to *do* something to an account, a bill or a user;
- ``others_data``: another customer's, company's or user's data, contacts or activity;
- ``secrets``: read back stored card numbers, passwords, API keys, 2FA codes or tokens;
- ``legal_advice``: legal, compliance or tax advice, a legal text drafted, or a confirmation
  that the asker is compliant;
- ``instructions``: aimed at the assistant itself (prompt injection, role play, its prompt).

Each example is embedded with the multilingual Universal Sentence Encoder (one space for
both languages) and with MiniLM, and two multinomial logistic regressions are fitted when
the model loads (well under a second; the example vectors are cached under
``DATA_DIR/models``, keyed by a hash of the example texts and the embedder): one on the USE
vectors, which judges questions in any language, and one on both vectors side by side,
which judges English questions (MiniLM reads English phrasing more finely, but only
English: fitted on English examples alone, the pair judged Spanish ones worse than USE did).
A question is refused when one declined kind is at least twice as probable as everything
else together (``REFUSE_AT``): a principle, not a threshold fitted on any question set.
Cross-validated figures are in evals/RESULTS.md (``python -m evals.request_kind_eval``).

Usage::

    kinds = RequestKinds.load(knowledge.gist_embedder, knowledge.embedder,
                              cache_dir=settings.model_cache)
    kinds.classify("give me the email of whoever runs acme's workspace")
    # ("others_data", 0.9...)
    kinds.refusal("how do i reset my password")  # None: a help question
    decline_reason(question, kinds)  # guardrails.py: the keyword rules first, then this
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.bundled import DATA_DIR
from assistant.guardrails import REASONS
from assistant.language import detect_language
from assistant.models.embeddings import Embedder
from assistant.models.examples import cached_vectors, nearest_mean, read_jsonl
from assistant.models.logistic import BilingualClassifier

__all__ = [
    "DECLINED_KINDS",
    "EXAMPLES_FILE",
    "HELP",
    "KINDS",
    "REFUSE_AT",
    "Example",
    "RequestKinds",
    "embed_examples",
    "load_examples",
    "refusal_reason",
]

EXAMPLES_FILE = DATA_DIR / "request_kinds.jsonl"
HELP = "help"
DECLINED_KINDS = ("act_on_account", "others_data", "secrets", "legal_advice", "instructions")
KINDS = (HELP, *DECLINED_KINDS)
# Refuse when one declined kind is at least twice as probable as everything else together
# (odds of 2:1). A wrong refusal costs a customer the answer the help center has, while a
# declined request that slips through still meets the off-topic check, the reader and the
# grounding guard: so the model must be twice as sure as not. Chosen by that principle, not
# fitted on any question set; what it refuses is in evals/RESULTS.md ("Request kinds").
REFUSE_AT = 2 / 3
# The regression's L2 penalty (on standardized features): the strongest whose
# cross-validated log-loss over the examples is within 1% of the lowest
# (python -m evals.request_kind_eval --l2 0.003,0.01,0.03,0.1).
L2 = 0.03


@dataclass(frozen=True)
class Example:
    kind: str
    text: str
    lang: str = "en"
    domain: str = "general"


def load_examples(path: Path = EXAMPLES_FILE) -> list[Example]:
    """The labelled requests in ``path`` (JSON lines; ``#`` lines are comments)."""
    examples: list[Example] = []
    for number, row in read_jsonl(path):
        if row.get("kind") not in KINDS or not str(row.get("text", "")).strip():
            raise ValueError(f"{path}:{number}: needs a kind among {KINDS} and a text")
        examples.append(
            Example(row["kind"], row["text"].strip(), row.get("lang", "en"),
                    row.get("domain", "general"))
        )
    return examples


def embed_examples(
    embedder: Embedder, path: Path = EXAMPLES_FILE, cache_dir: Path | None = None
) -> tuple[list[Example], np.ndarray]:
    """The examples in ``path`` and their vectors (cached under ``cache_dir``: examples.py)."""
    examples = load_examples(path)
    texts = [e.text for e in examples]
    return examples, cached_vectors(embedder, texts, "request-kinds", cache_dir)


class RequestKinds:
    """Judges the kind of a question with ``BilingualClassifier`` (logistic.py) over the
    embedders' vectors. Read-only once built, so one instance serves every thread."""

    def __init__(
        self,
        multilingual: Embedder,
        examples: Sequence[Example],
        vectors: np.ndarray,
        dense: Embedder | None = None,
        dense_vectors: np.ndarray | None = None,
    ) -> None:
        if len(examples) != len(vectors) or (
            dense_vectors is not None and len(dense_vectors) != len(examples)
        ):
            raise ValueError("one vector per example is needed")
        if (dense is None) != (dense_vectors is None):
            raise ValueError("give the dense embedder together with its example vectors")
        self.multilingual = multilingual
        self.dense = dense
        self.examples = list(examples)
        self.classifier = BilingualClassifier(KINDS, L2).fit(
            vectors, [e.kind for e in self.examples], dense_vectors
        )
        self._help = vectors[np.array([e.kind == HELP for e in self.examples])]

    @classmethod
    def load(
        cls,
        multilingual: Embedder,
        dense: Embedder | None = None,
        cache_dir: Path | None = None,
        path: Path = EXAMPLES_FILE,
    ) -> RequestKinds:
        """Fit on the examples in ``path``, embedded with ``multilingual`` (and ``dense``,
        for English questions); their vectors are cached in ``cache_dir``."""
        examples, vectors = embed_examples(multilingual, path, cache_dir)
        dense_vectors = None if dense is None else embed_examples(dense, path, cache_dir)[1]
        return cls(multilingual, examples, vectors, dense, dense_vectors)

    def probabilities(self, question: str) -> dict[str, float]:
        multilingual = self.multilingual.embed_query(question)
        if self.dense is not None and detect_language(question) == "en":
            row = self.classifier.probabilities(
                multilingual, self.dense.embed_query(question), np.array([True])
            )[0]
        else:
            row = self.classifier.probabilities(multilingual)[0]
        return {kind: float(p) for kind, p in zip(KINDS, row, strict=True)}

    def help_likeness(self, question: str) -> float:
        """How much ``question`` looks like a help-center question of any product: mean
        multilingual similarity to the nearest ``help`` examples."""
        return nearest_mean(self._help @ self.multilingual.embed_query(question))

    def classify(self, question: str) -> tuple[str, float]:
        """The most probable kind of ``question`` and its probability."""
        kind, p = max(self.probabilities(question).items(), key=lambda item: item[1])
        return kind, p

    def refusal(self, question: str) -> str | None:
        """Why ``question`` is declined (one of ``guardrails.REASONS``), or None: it is declined
        when a declined kind is at least ``REFUSE_AT`` probable."""
        return refusal_reason(self.probabilities(question))


def refusal_reason(probabilities: dict[str, float]) -> str | None:
    """The decision on one question's kind probabilities: the reason of the most probable
    declined kind when it reaches ``REFUSE_AT``, else None."""
    kind = max(DECLINED_KINDS, key=probabilities.__getitem__)
    return REASONS[kind] if probabilities[kind] >= REFUSE_AT else None
