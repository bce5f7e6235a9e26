"""The value objects every loader produces: a document made of heading-scoped sections."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = [
    "AUDIENCES",
    "KINDS",
    "LEVELS",
    "Document",
    "ParseError",
    "Section",
    "SectionCollector",
    "chunk_metadata",
]

AUDIENCES = ("admin", "end_user", "manager", "power_user")
LEVELS = ("beginner", "intermediate", "advanced")
KINDS = ("article", "tip", "workflow", "path")


class ParseError(ValueError):
    """A file that cannot be turned into documents; the message names the reason."""


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
    is kept apart as a title candidate."""

    def __init__(self) -> None:
        self.h1: str | None = None
        self.sections: list[Section] = []
        self.lines: list[str] = []
        self._stack: list[tuple[int, str]] = []

    def heading(self, level: int, title: str) -> None:
        self.flush()
        if level == 1 and self.h1 is None and not self.sections and not self._stack:
            self.h1 = title
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    def flush(self) -> None:
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()
        if text:
            self.sections.append(Section(tuple(title for _, title in self._stack), text))
        self.lines.clear()

    def finish(self) -> tuple[str | None, list[Section]]:
        self.flush()
        return self.h1, self.sections


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
