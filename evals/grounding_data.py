"""The grounding guard's answer sets (evals/grounding/*.jsonl), read as prompt sources.

Each line: ``{"id", "question", "sources": [{"n", "title", "text", "origin"}], "answer",
"faithful", "kind", "lang"}`` (see evals/grounding/README.md). A source's language is
detected from its text, as ingest does for a document without a declared locale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.answering.prompting import Source
from assistant.knowledge.retrieval import ArticleHit
from assistant.language import detect_document_language

__all__ = ["FAITHFUL_KINDS", "KINDS", "Example", "load_examples"]

FAITHFUL_KINDS = ("paraphrase", "quote")
KINDS = (
    *FAITHFUL_KINDS,
    "unsupported_sentence",
    "wrong_number",
    "wrong_citation",
    "contradiction",
    "lifted_instruction",
)


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    sources: tuple[Source, ...]
    answer: str
    faithful: bool
    kind: str
    lang: str
    origins: tuple[str, ...] = ()  # where each source's text comes from (its attribution)

    @property
    def group(self) -> str:
        """The article the answer is about (its first source's title): cross-validation keeps
        an article's answers, and everything made from them, in one fold."""
        return self.sources[0].title

    @property
    def source_lang(self) -> str:
        return self.sources[0].hit.locale


def load_examples(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["kind"] not in KINDS or row["faithful"] != (row["kind"] in FAITHFUL_KINDS):
            kind, faithful = row["kind"], row["faithful"]
            raise ValueError(f"{path}:{number}: bad kind/faithful {kind!r}/{faithful}")
        sources = tuple(_source(row["id"], s) for s in row["sources"])
        examples.append(
            Example(
                row["id"], row["question"], sources, row["answer"], bool(row["faithful"]),
                row["kind"], row["lang"], tuple(str(s.get("origin", "")) for s in row["sources"]),
            )
        )
    return examples


def _source(example_id: str, data: dict[str, object]) -> Source:
    n, title, text = int(str(data["n"])), str(data["title"]), str(data["text"])
    hit = ArticleHit(
        article_id=f"{example_id}-{n}", title=title, url=None, score=1.0, snippet=text[:200],
        kind="article", locale=detect_document_language(text), heading="",
        chunk_id=f"{example_id}-{n}", body=text,
    )
    return Source(n, hit, text)
