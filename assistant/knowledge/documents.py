"""The knowledge model: a document made of heading-scoped sections, and the chunks it is
stored and searched as. Every loader in ``ingest`` produces these; the catalog stores them."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = [
    "AUDIENCES",
    "LEVELS",
    "Chunk",
    "Document",
    "ParseError",
    "Section",
    "SectionCollector",
    "SkippedFile",
    "chunk_metadata",
]

AUDIENCES = ("admin", "end_user", "manager", "power_user")
LEVELS = ("beginner", "intermediate", "advanced")


class ParseError(ValueError):
    """A file that cannot be turned into documents; the message names the reason."""


class SkippedFile(Exception):  # not an error: a file left out on purpose
    """A file in a knowledge format that says it is not a page of its own (a Sphinx
    ``:nosearch:`` fragment, included where it is read); the message names the reason."""


@dataclass(frozen=True)
class Section:
    """Text under one heading. ``heading_path`` runs from the top heading down."""

    heading_path: tuple[str, ...]
    text: str


@dataclass
class Document:
    id: str
    title: str
    sections: list[Section]
    kind: str = "article"
    url: str | None = None
    locale: str = "en"
    audience: str | None = None
    level: str | None = None
    feature: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; unchanged hash means nothing to do."""
        payload = asdict(self)
        payload.pop("source")
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def card(self) -> str:
        """Title and summary: what a reader scans in a result list, embedded per article."""
        summary = self.description or next((s.text for s in self.sections if s.text), "")
        words = summary.split()
        return f"{self.title}. {' '.join(words[:40])}"

    def metadata(self) -> dict[str, Any]:
        return chunk_metadata(self)


class SectionCollector:
    """Builds sections while a parser walks a document: a heading closes the current section
    and opens one under it; text lines fill the open section. The first H1 before any text
    is kept apart as the title; failing that, the title candidate is the first H1 anywhere,
    else the first heading of any level (both stay in the sections)."""

    def __init__(self) -> None:
        self.h1: str | None = None
        self.sections: list[Section] = []
        self.lines: list[str] = []
        self._stack: list[tuple[int, str]] = []
        self._first_h1: str | None = None
        self._first_heading: str | None = None

    def heading(self, level: int, title: str) -> None:
        self.flush()
        if level == 1 and self.h1 is None and not self.sections and not self._stack:
            self.h1 = title
            return
        if level == 1 and self._first_h1 is None:
            self._first_h1 = title or None
        if self._first_heading is None:
            self._first_heading = title or None
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    def close(self, level: int) -> None:
        """Back to the heading at ``level``: what follows belongs to it, not to the deeper
        headings opened since (the text after a group of tabs belongs to the section)."""
        self.flush()
        while self._stack and self._stack[-1][0] > level:
            self._stack.pop()

    @property
    def title(self) -> str | None:
        return self.h1 or self._first_h1 or self._first_heading

    def flush(self) -> None:
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()
        if text:
            self.sections.append(Section(tuple(title for _, title in self._stack), text))
        self.lines.clear()

    def finish(self) -> tuple[str | None, list[Section]]:
        """(title candidate, sections)."""
        self.flush()
        return self.title, self.sections


class _Described(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...


def chunk_metadata(doc: _Described) -> dict[str, Any]:
    """Flat metadata stored with each chunk in Chroma (scalars only, no None)."""
    meta: dict[str, Any] = {
        "article_id": doc.id,
        "title": doc.title,
        "kind": doc.kind,
        "locale": doc.locale,
    }
    for key in ("url", "audience", "level", "feature"):
        value = getattr(doc, key)
        if value:
            meta[key] = value
    if doc.tags:
        meta["tags"] = ",".join(doc.tags)
    return meta


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    ord: int
    heading_path: tuple[str, ...]
    body: str

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def text(self) -> str:
        """What gets embedded and indexed: heading path, then the body."""
        return f"{self.heading}\n{self.body}"
